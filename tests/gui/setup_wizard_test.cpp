// Drives signet-setup as an operator would, on the offscreen platform: a new install, a reinstall
// from a store holding valid and corrupted keys (the picker), a restore then reinstall from a
// backup holding valid and corrupted keys, and bad input (a wrong store or backup passphrase, a
// file that is no backup, ...) shown on the right page with nothing written. Every visited page is saved as a screenshot under
// SIGNET_GUI_SCREENSHOT_DIR/<test>/ for a human to look at.
#include <QAbstractButton>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QGroupBox>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSemaphore>
#include <QSignalSpy>
#include <QTemporaryFile>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QTableView>
#include <QTest>
#include <QTextBrowser>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "key_picker_model.h"
#include "pages/apply_page.h"
#include "pages/daemon_page.h"
#include "pages/finish_page.h"
#include "pages/identity_page.h"
#include "pages/key_page.h"
#include "pages/key_store_page.h"
#include "pages/page_support.h"
#include "pages/summary_page.h"
#include "pages/validity_page.h"
#include "pages/welcome_page.h"
#include "setup_wizard.h"
#include "signet/keystore/store.h"
#include "signet/setup/daemon_config.h"
#include "signet/setup/engine.h"
#include "signet/setup/inspect.h"
#include "support/store_edit.h"
#include "support/temp_dir.h"
#include "support/tmpfs.h"

namespace fs = std::filesystem;
using signet::gui::SetupWizard;

namespace {

constexpr int kCheckTimeoutMs = 30000;
constexpr int kApplyTimeoutMs = 120000;
const char kPassphrase[] = "correct horse battery staple";
const char kBackupPassphrase[] = "backup passphrase for the tests";

signet::Passphrase pass(const char* text) {
  return signet::Passphrase(signet::ByteView(reinterpret_cast<const std::uint8_t*>(text), std::strlen(text)));
}

// A port nothing listens on right now (the kernel's choice).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// A listener on 127.0.0.1, held for the object's lifetime.
class Listener {
 public:
  Listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::set<std::string> dir_entries(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

QStringList dir_entries_q_set(const std::set<std::string>& entries) {
  QStringList out;
  for (const std::string& e : entries) out << QString::fromStdString(e);
  return out;
}
QStringList dir_entries_q(const fs::path& dir) { return dir_entries_q_set(dir_entries(dir)); }

// Runs `argv` (argv[0] a path) with stdout and stderr into `output_file`, and waits for it to end:
// its wait status and output. (posix_spawn, not QProcess: Qt's forkfd probes waitid() with a null
// info pointer, which valgrind's memcheck reports as an error.)
std::pair<int, std::string> run_program(const std::vector<std::string>& argv, const fs::path& output_file) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return {-1, "cannot start " + argv[0] + ": " + std::strerror(spawned)};
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return {status, read_bytes(output_file)};
}

const char* page_name(int id) {
  switch (id) {
    case SetupWizard::WelcomeId: return "welcome";
    case SetupWizard::KeyStoreId: return "key-store";
    case SetupWizard::KeyId: return "key";
    case SetupWizard::IdentityId: return "identity";
    case SetupWizard::ValidityId: return "validity";
    case SetupWizard::DaemonId: return "daemon";
    case SetupWizard::SummaryId: return "summary";
    case SetupWizard::ApplyId: return "apply";
    case SetupWizard::FinishId: return "finish";
    default: return "unknown";
  }
}

// Saves a screenshot of the wizard's current page as <dir>/<test>/<nn>-<page>.png.
class Screenshots {
 public:
  Screenshots(SetupWizard& wizard, const char* test) : wizard_(wizard), dir_(root() + QLatin1Char('/') + QLatin1String(test)) {
    QDir(dir_).removeRecursively();
    QDir().mkpath(dir_);
  }
  void take(const char* suffix = "") {
    QCoreApplication::processEvents();
    const QString file = QStringLiteral("%1/%2-%3%4.png")
                             .arg(dir_)
                             .arg(++n_, 2, 10, QLatin1Char('0'))
                             .arg(QLatin1String(page_name(wizard_.currentId())), QLatin1String(suffix));
    QVERIFY2(wizard_.grab().save(file), qPrintable(file));
  }

 private:
  // SIGNET_GUI_SCREENSHOT_DIR in the environment wins over the build's folder, so that runs side
  // by side (a stress loop) do not remove each other's screenshots.
  static QString root() {
    const QString env = qEnvironmentVariable("SIGNET_GUI_SCREENSHOT_DIR");
    return env.isEmpty() ? QStringLiteral(SIGNET_GUI_SCREENSHOT_DIR) : env;
  }

  SetupWizard& wizard_;
  QString dir_;
  int n_ = 0;
};

// The button that moves forward from the current page (Commit on the commit page).
QAbstractButton* forward(SetupWizard& w) {
  return w.button(w.currentPage()->isCommitPage() ? QWizard::CommitButton : QWizard::NextButton);
}

// Clicks forward and checks that the wizard moved to `expected`.
void next(SetupWizard& w, int expected) {
  QAbstractButton* b = forward(w);
  QVERIFY2(b->isEnabled(), page_name(w.currentId()));
  QTest::mouseClick(b, Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(w.currentId(), expected, 5000);
}

void unlock_store(SetupWizard& w, const fs::path& dir, const char* passphrase) {
  auto* page = w.keyStorePage();
  page->dataDirEdit()->setText(QString::fromStdString(dir.string()));
  page->passphraseEdit()->setText(QString::fromUtf8(passphrase));
  QVERIFY(page->unlockButton()->isEnabled());
  // As a person would: click once the page has been laid out again for what it now says.
  QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
  QTest::mouseClick(page->unlockButton(), Qt::LeftButton);
  QVERIFY2(page->busy() || page->unlocked() || !page->statusLabel()->text().isEmpty(), "the click missed Unlock");
  QTRY_VERIFY_WITH_TIMEOUT(!page->busy(), kCheckTimeoutMs);
}

// Enters the backup file and passphrase on the key store page, presses "Open backup" and waits
// for the outcome.
void open_backup(SetupWizard& w, const fs::path& file, const char* passphrase) {
  auto* page = w.keyStorePage();
  page->backupFileEdit()->setText(QString::fromStdString(file.string()));
  page->backupPassphraseEdit()->setText(QString::fromUtf8(passphrase));
  QVERIFY(!page->backupOpened());
  QVERIFY(page->openBackupButton()->isVisible());
  QVERIFY(page->openBackupButton()->isEnabled());
  QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
  QTest::mouseClick(page->openBackupButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!page->backupBusy(), kCheckTimeoutMs);
}

void set_free_ports(SetupWizard& w) {
  auto* page = w.daemonPage();
  const std::uint16_t a = free_port();
  std::uint16_t b = free_port();
  while (b == a) b = free_port();
  page->httpsPortSpin()->setValue(a);
  page->httpPortSpin()->setValue(b);
  page->publicBaseUrlEdit()->setText(QStringLiteral("http://127.0.0.1:%1").arg(b));
}

// Keyboard only: every key goes to the focused widget (the wizard when nothing has focus), as
// typed by an operator; no clicks and no setters.
QWidget* focused(SetupWizard& w) {
  QWidget* f = QApplication::focusWidget();
  return f ? f : &w;
}

void key(SetupWizard& w, Qt::Key k, Qt::KeyboardModifiers mods = Qt::NoModifier) {
  QTest::keyClick(focused(w), k, mods);
}

void type(SetupWizard& w, const QString& text) { QTest::keyClicks(focused(w), text); }

// Replaces the focused field's text by `text` (select all, then type).
void retype(SetupWizard& w, const QString& text) {
  key(w, Qt::Key_A, Qt::ControlModifier);
  type(w, text);
}

QString focusName(QWidget* f) {
  if (!f) return QStringLiteral("(none)");
  QString name = QString::fromLatin1(f->metaObject()->className());
  if (auto* b = qobject_cast<QAbstractButton*>(f)) name += QStringLiteral(" \"%1\"").arg(b->text());
  for (QLabel* l : f->window()->findChildren<QLabel*>()) {
    if (l->buddy() == f) return name + QStringLiteral(" \"%1\"").arg(l->text());
  }
  return name;
}

// Fails unless `expected` has the focus within a short, bounded wait.
#define EXPECT_FOCUS(expected)                                                                             \
  QTRY_VERIFY2_WITH_TIMEOUT(QApplication::focusWidget() == (expected),                                     \
                            qPrintable(QStringLiteral("focus on %1, expected %2")                          \
                                           .arg(focusName(QApplication::focusWidget()), focusName(expected))), \
                            2000)

// On arrival at a page, `first` has the focus, or gets it with one Tab.
#define ARRIVE_AT(w, id, first)                                                     \
  do {                                                                              \
    QTRY_COMPARE_WITH_TIMEOUT((w).currentId(), int(id), 5000);                      \
    QCoreApplication::processEvents();                                              \
    if (QApplication::focusWidget() != (first)) key((w), Qt::Key_Tab);              \
    EXPECT_FOCUS(first);                                                            \
  } while (false)

// Tab moves the focus to `expected`.
#define TAB_TO(w, expected)      \
  do {                           \
    key((w), Qt::Key_Tab);       \
    EXPECT_FOCUS(expected);      \
  } while (false)

// Text from common/ as the GUI shows it (no Markdown backticks).
QString shown(const std::string& text) { return QString::fromStdString(text).remove(QLatin1Char('`')); }

// Asserts what the key page's picker shows after its check: exactly `offered_expected` in the
// model, exactly `excluded_expected` counted and named as not offered, and each verdict of
// `excluded` explained (its name, each error finding's message and fix). Callers check QTest::currentTestFailed() afterwards.
void verify_picker(signet::gui::KeyPage* page, std::vector<std::string> offered_expected,
                   std::vector<std::string> excluded_expected,
                   const std::vector<signet::keystore::KeyVerdict>& excluded) {
  std::vector<std::string> offered = page->pickerModel()->names();
  std::sort(offered.begin(), offered.end());
  std::sort(offered_expected.begin(), offered_expected.end());
  QCOMPARE(offered, offered_expected);
  QCOMPARE(page->pickerView()->model()->rowCount(), static_cast<int>(offered_expected.size()));
  const QString count = excluded_expected.size() == 1
                            ? QStringLiteral("1 entry is not offered")
                            : QString::number(excluded_expected.size()) + QStringLiteral(" entries are not offered");
  QVERIFY2(page->excludedLabel()->text().startsWith(count), qPrintable(page->excludedLabel()->text()));
  std::vector<std::string> names = page->excludedNames();
  std::sort(names.begin(), names.end());
  std::sort(excluded_expected.begin(), excluded_expected.end());
  QCOMPARE(names, excluded_expected);
  const QString details = page->excludedDetails()->toPlainText();
  for (const signet::keystore::KeyVerdict& v : excluded) {
    QVERIFY2(details.contains(QString::fromStdString(v.name)), v.name.c_str());
    QVERIFY(!v.findings.empty());
    for (const signet::keystore::Finding& f : v.findings) {
      if (f.severity != signet::keystore::Severity::Error) continue;
      // As the GUI shows them: without Markdown backticks.
      QVERIFY2(details.contains(shown(f.message)), f.message.c_str());
      QVERIFY2(details.contains(shown(f.fix)), f.fix.c_str());
    }
  }
}


// ---- shared by the restore and reinstall tests: fixtures, journeys through every page, page checks ----

// The mnemonic letter of a Qt text ("&Next >" -> 'n'); a null QChar when there is none.
QChar mnemonicOf(const QString& text) {
  for (qsizetype i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != QLatin1Char('&')) continue;
    if (text[i + 1] == QLatin1Char('&')) {
      ++i;
      continue;
    }
    return text[i + 1].toLower();
  }
  return {};
}

// Fails when two visible widgets of the wizard's window (labels with a buddy, buttons, check
// boxes, radio buttons, group boxes, and the wizard's own buttons) share a mnemonic.
void verify_unique_mnemonics(SetupWizard& w) {
  std::map<QChar, QStringList> by_letter;
  const auto note = [&by_letter](const QString& text, const char* kind) {
    if (const QChar c = mnemonicOf(text); !c.isNull()) by_letter[c] << QStringLiteral("%1 \"%2\"").arg(QLatin1String(kind), text);
  };
  for (QWidget* widget : w.findChildren<QWidget*>()) {
    if (!widget->isVisible()) continue;
    if (auto* label = qobject_cast<QLabel*>(widget); label && label->buddy()) note(label->text(), "label");
    if (auto* button = qobject_cast<QAbstractButton*>(widget)) note(button->text(), button->metaObject()->className());
    if (auto* group = qobject_cast<QGroupBox*>(widget)) note(group->title(), "group box");
  }
  for (const auto& [letter, owners] : by_letter) {
    QVERIFY2(owners.size() == 1, qPrintable(QStringLiteral("page %1: Alt+%2 is %3")
                                                .arg(QLatin1String(page_name(w.currentId())), QString(letter.toUpper()),
                                                     owners.join(QStringLiteral(" and ")))));
  }
}

// Every text the current page shows, with where it is.
QStringList visible_texts(SetupWizard& w) {
  QStringList out;
  out << w.currentPage()->title() << w.currentPage()->subTitle();
  for (QWidget* widget : w.findChildren<QWidget*>()) {
    if (!widget->isVisible()) continue;
    if (auto* label = qobject_cast<QLabel*>(widget)) out << label->text();
    if (auto* button = qobject_cast<QAbstractButton*>(widget)) out << button->text();
    if (auto* browser = qobject_cast<QTextBrowser*>(widget)) out << browser->toPlainText();
    if (auto* view = qobject_cast<QTableView*>(widget); view && view->model()) {
      const QAbstractItemModel* m = view->model();
      for (int r = 0; r < m->rowCount(); ++r) {
        for (int c = 0; c < m->columnCount(); ++c) out << m->data(m->index(r, c)).toString();
      }
    }
  }
  return out;
}

// No Markdown and proper plurals: no backticks, no "(s)", no "1 key entries".
void verify_words(SetupWizard& w) {
  // (No QRegularExpression: its JIT reads 16 bytes at a time, which valgrind reports.)
  const auto bad_plural = [](const QString& text) {
    for (const char* phrase : {"1 entries", "1 key entries", "1 keys", "1 days", "1 certificates"}) {
      for (qsizetype at = text.indexOf(QLatin1String(phrase)); at >= 0; at = text.indexOf(QLatin1String(phrase), at + 1)) {
        if (at == 0 || !text[at - 1].isDigit()) return true;
      }
    }
    return false;
  };
  for (const QString& text : visible_texts(w)) {
    const QString where = QStringLiteral("page %1: \"%2\"").arg(QLatin1String(page_name(w.currentId())), text);
    QVERIFY2(!text.contains(QLatin1Char('`')), qPrintable(where));
    QVERIFY2(!text.contains(QStringLiteral("(s)")), qPrintable(where));
    QVERIFY2(!bad_plural(text), qPrintable(where));
  }
}

// The window, frame included, and each of its visible buttons lie on the screen's available area,
// and the buttons lie inside the window (not laid out past its edge).
void verify_fits_screen(SetupWizard& w) {
  QCoreApplication::processEvents();
  const QRect available = w.screen()->availableGeometry();
  const QString page = QLatin1String(page_name(w.currentId()));
  QVERIFY2(available.contains(w.frameGeometry()),
           qPrintable(QStringLiteral("page %1: window %2,%3 %4x%5 is not inside the screen's %6x%7")
                          .arg(page)
                          .arg(w.frameGeometry().x())
                          .arg(w.frameGeometry().y())
                          .arg(w.frameGeometry().width())
                          .arg(w.frameGeometry().height())
                          .arg(available.width())
                          .arg(available.height())));
  for (QWizard::WizardButton which : {QWizard::BackButton, QWizard::NextButton, QWizard::CommitButton,
                                      QWizard::FinishButton, QWizard::CancelButton}) {
    QAbstractButton* b = w.button(which);
    if (!b->isVisible()) continue;
    const QRect inside(b->mapTo(&w, QPoint(0, 0)), b->size());
    QVERIFY2(w.rect().contains(inside), qPrintable(QStringLiteral("page %1: button \"%2\" is outside the window")
                                                       .arg(page, b->text())));
    const QRect global(b->mapToGlobal(QPoint(0, 0)), b->size());
    QVERIFY2(available.contains(global), qPrintable(QStringLiteral("page %1: button \"%2\" is off the screen")
                                                        .arg(page, b->text())));
  }
}

// A key "old-ca" whose self-signed CA certificate expired a year ago (offered, with a warning).
void add_expired_ca_key(const fs::path& dir) {
  signet::keystore::KeyStore store = signet::keystore::KeyStore::open(dir, pass(kPassphrase));
  (void)store.generate("old-ca", signet::crypto::KeyAlgorithm::EcP256);
  const signet::keystore::UnlockedKey key = store.unlock_key("old-ca");
  signet::crypto::SelfSignedSpec spec;
  spec.subject = {{"C", "DE"}, {"O", "Example Corp"}, {"CN", "Expired Root CA"}};
  spec.not_before = std::chrono::system_clock::now() - std::chrono::hours(24 * 800);
  spec.validity = std::chrono::hours(24 * 400);
  store.attach_certificate("old-ca", signet::crypto::make_self_signed(key.key.get(), spec));
}

// A store with the installed CA "ca" (made by the engine), "spare", "old-ca" (expired CA
// certificate) and two damaged entries.
void make_installed_ca(const fs::path& dir) {
  {
    signet::keystore::KeyStore store =
        signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
    (void)store.generate("spare", signet::crypto::KeyAlgorithm::Ed25519);
    (void)store.generate("broken-ciphertext", signet::crypto::KeyAlgorithm::EcP256);
    (void)store.generate("swapped-public-key", signet::crypto::KeyAlgorithm::EcP256);
  }
  add_expired_ca_key(dir);
  signet::setup::SetupPlan first;
  first.data_dir = dir;
  first.identity.common_name = "Old Root CA";
  first.identity.organization = "Example Corp";
  first.identity.country = "DE";
  first.daemon.https_port = free_port();
  first.daemon.http_port = free_port();
  (void)signet::setup::apply(first, signet::setup::SetupSecrets{pass(kPassphrase), std::nullopt});
  signet::test::StoreEditor edit(dir);
  edit.flip_key_byte("broken-ciphertext", "encrypted_private_key", 20);
  edit.set_key_blob("swapped-public-key", "public_key", edit.key_blob("spare", "public_key"));
}

enum class Journey { NewInstall, Reinstall, Restore, Subordinate };

const char* journey_name(Journey j) {
  switch (j) {
    case Journey::NewInstall: return "new-install";
    case Journey::Reinstall: return "reinstall";
    case Journey::Restore: return "restore";
    case Journey::Subordinate: return "subordinate";
  }
  return "unknown";
}

// Directories and files for one journey of each kind, made fresh.
struct Journeys {
  explicit Journeys(const fs::path& root)
      : new_dir(root / "new"), reinstall_dir(root / "installed"), backup_file(root / "installed.backup"),
        restore_dir(root / "restore"), subordinate_dir(root / "subordinate") {
    make_installed_ca(reinstall_dir);
    {
      signet::keystore::KeyStore store = signet::keystore::KeyStore::open(reinstall_dir, pass(kPassphrase));
      (void)store.create_backup(backup_file, pass(kBackupPassphrase), signet::crypto::ScryptParams::insecure_for_tests(),
                                "test");
    }
    for (const fs::path& d : {new_dir, restore_dir, subordinate_dir}) {
      (void)signet::keystore::KeyStore::create(d, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
    }
  }
  fs::path new_dir, reinstall_dir, backup_file, restore_dir, subordinate_dir;
};

// Walks `journey` through every page to the finish page, with plain choices, calling `at_page` on
// each page once its content is complete. Stops at the first failure (callers check
// QTest::currentTestFailed()).
void walk(SetupWizard& w, Journey journey, const Journeys& dirs, const std::function<void()>& at_page) {
  const auto visit = [&] {
    at_page();
    return !QTest::currentTestFailed();
  };
  switch (journey) {
    case Journey::NewInstall: w.welcomePage()->setMode(signet::setup::SetupMode::NewKey); break;
    case Journey::Reinstall: w.welcomePage()->setMode(signet::setup::SetupMode::ExistingKey); break;
    case Journey::Restore: w.welcomePage()->setMode(signet::setup::SetupMode::RestoreThenReinstall); break;
    case Journey::Subordinate: w.welcomePage()->setMode(signet::setup::SetupMode::Subordinate); break;
  }
  if (!visit()) return;
  next(w, SetupWizard::KeyStoreId);
  if (QTest::currentTestFailed()) return;
  const fs::path dir = journey == Journey::NewInstall    ? dirs.new_dir
                       : journey == Journey::Reinstall   ? dirs.reinstall_dir
                       : journey == Journey::Restore     ? dirs.restore_dir
                                                         : dirs.subordinate_dir;
  unlock_store(w, dir, kPassphrase);
  if (journey == Journey::Restore) open_backup(w, dirs.backup_file, kBackupPassphrase);
  if (QTest::currentTestFailed() || !visit()) return;
  next(w, SetupWizard::KeyId);
  if (QTest::currentTestFailed()) return;

  auto* key = w.keyPage();
  if (journey == Journey::Reinstall || journey == Journey::Restore) {
    QTRY_VERIFY_WITH_TIMEOUT(key->checked(), kCheckTimeoutMs);
    QVERIFY(key->selectKey("ca"));
  } else {
    key->keyNameEdit()->setText(journey == Journey::Subordinate ? QStringLiteral("sub-ca") : QStringLiteral("root"));
  }
  if (!visit()) return;
  next(w, SetupWizard::IdentityId);
  if (QTest::currentTestFailed()) return;
  if (journey == Journey::NewInstall || journey == Journey::Subordinate) {
    w.identityPage()->commonNameEdit()->setText(QStringLiteral("Signet Test CA"));
    w.identityPage()->organizationEdit()->setText(QStringLiteral("Example Corp"));
    w.identityPage()->countryEdit()->setText(QStringLiteral("DE"));
  }
  if (!visit()) return;
  next(w, SetupWizard::ValidityId);
  if (QTest::currentTestFailed() || !visit()) return;
  next(w, SetupWizard::DaemonId);
  if (QTest::currentTestFailed()) return;
  set_free_ports(w);
  // The new install turns ACME on, so that its fields and the finish page's directory are on the
  // screenshots, and checked for mnemonics, words and fit, too.
  if (journey == Journey::NewInstall) w.daemonPage()->acmeBox()->setChecked(true);
  if (!visit()) return;
  next(w, SetupWizard::SummaryId);
  if (QTest::currentTestFailed() || !visit()) return;
  next(w, SetupWizard::ApplyId);
  if (QTest::currentTestFailed()) return;
  QTRY_VERIFY_WITH_TIMEOUT(!w.applyPage()->running(), kApplyTimeoutMs);
  QVERIFY2(w.applyPage()->succeeded(), qPrintable(w.applyPage()->errorLabel()->text()));
  if (!visit()) return;
  next(w, SetupWizard::FinishId);
  if (QTest::currentTestFailed()) return;
  (void)visit();
}

// Releases a semaphore when it goes out of scope (declare it after the wizard, so that a failed
// test never leaves the commit page's worker waiting while the wizard waits for it).
class Gate {
 public:
  Gate() = default;
  ~Gate() { open(); }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  void open() { semaphore_.release(100); }
  void wait() { semaphore_.acquire(); }

 private:
  QSemaphore semaphore_;
};
}  // namespace

class SetupWizardTest : public QObject {
  Q_OBJECT

 private slots:
  void newInstallWritesTheFiles();
  void reinstallOffersOnlyValidKeys();
  void wrongPassphraseIsShownOnTheKeyStorePageAndWritesNothing();
  void restoreThenReinstallOffersOnlyTheBackupsValidKeys();
  void wrongBackupPassphraseIsShownOnTheKeyStorePageAndWritesNothing();
  void unwritableDataDirectoryIsShownOnTheKeyStorePage();
  void emptyNameAndBusyPortAreShownOnTheirPages();
  void newInstallFromTheKeyboardAlone();
  void commitPageCannotBeLeftWhileItWrites();
  void failedSetupEndsOnAPageThatSaysSo();
  void mnemonicsAndWordsOnEveryPageOfEveryMode();
  void keyPageFitsAndExplainsTheSelectedKey();
  void reinstallWithoutAStoreSaysSo();
  void noValidKeySaysWhatToDo();
  void summaryListsSubjectFingerprintAndRestoreContents();
  void choicesSurviveBackAndNext();
  void installedCaIsNeverReplacedSilently();
  void keyPageExplainsQuarantinedEntries();
  void restoreJourneyCarriesTheInstallationAndPassesTheCheck();
  void acmeIsTurnedOnOnTheDaemonPageAndShownOnTheFinishPage();
};

void SetupWizardTest::newInstallWritesTheFiles() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  (void)signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());

  SetupWizard w;
  Screenshots shots(w, "new_install");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  shots.take();
  QCOMPARE(w.welcomePage()->mode(), signet::setup::SetupMode::NewKey);
  next(w, SetupWizard::KeyStoreId);

  QVERIFY(!forward(w)->isEnabled());  // not unlocked yet
  unlock_store(w, dir, kPassphrase);
  QVERIFY(w.keyStorePage()->unlocked());
  QVERIFY(w.keyStorePage()->statusLabel()->text().contains(QStringLiteral("0 key")));
  shots.take();
  next(w, SetupWizard::KeyId);

  w.keyPage()->keyNameEdit()->setText(QStringLiteral("root-2024"));
  w.keyPage()->algorithmCombo()->setCurrentText(QStringLiteral("ec-p384"));
  QCOMPARE(w.plan().algorithm, signet::crypto::KeyAlgorithm::EcP384);
  shots.take();
  next(w, SetupWizard::IdentityId);

  w.identityPage()->commonNameEdit()->setText(QStringLiteral("Signet Test Root CA"));
  w.identityPage()->organizationEdit()->setText(QStringLiteral("Example Corp"));
  w.identityPage()->countryEdit()->setText(QStringLiteral("DE"));
  QVERIFY(w.identityPage()->problemLabel()->isHidden());
  shots.take();
  next(w, SetupWizard::ValidityId);

  w.validityPage()->validityDaysSpin()->setValue(730);
  shots.take();
  next(w, SetupWizard::DaemonId);

  set_free_ports(w);
  QVERIFY2(w.daemonPage()->problemLabel()->isHidden(), qPrintable(w.daemonPage()->problemLabel()->text()));
  shots.take();
  next(w, SetupWizard::SummaryId);

  QVERIFY(w.summaryPage()->summaryView()->toPlainText().contains(QStringLiteral("Signet Test Root CA")));
  shots.take();
  next(w, SetupWizard::ApplyId);

  QTRY_VERIFY_WITH_TIMEOUT(!w.applyPage()->running(), kApplyTimeoutMs);
  QVERIFY2(w.applyPage()->succeeded(), qPrintable(w.applyPage()->errorLabel()->text()));
  QCOMPARE(w.applyPage()->progressBar()->value(), 100);
  QVERIFY(!w.button(QWizard::BackButton)->isEnabled());
  shots.take();
  next(w, SetupWizard::FinishId);
  shots.take();

  const signet::setup::InstallationFiles f = signet::setup::InstallationFiles::in(dir);
  for (const fs::path& p : {f.ca_certificate, f.configuration, f.tls_key, f.tls_certificate}) {
    QVERIFY2(fs::is_regular_file(p), p.c_str());
    QCOMPARE(fs::status(p).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  }
  QVERIFY(read_bytes(f.configuration).find(std::to_string(w.plan().daemon.https_port)) != std::string::npos);
  const QString report = w.finishPage()->reportView()->toPlainText();
  QVERIFY(report.contains(QStringLiteral("Generated the CA key \"root-2024\"")));
  QVERIFY(report.contains(QString::fromStdString(f.ca_certificate.string())));
  QVERIFY(report.contains(QStringLiteral("signetd --config ") + QString::fromStdString(f.configuration.string())));
  signet::keystore::KeyStore store = signet::keystore::KeyStore::open(dir, pass(kPassphrase));
  const auto rec = store.record("root-2024");
  QVERIFY(rec.has_value());
  QCOMPARE(rec->algorithm, std::string("ec-p384"));
}

void SetupWizardTest::reinstallOffersOnlyValidKeys() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  {
    signet::keystore::KeyStore store =
        signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
    (void)store.generate("spare", signet::crypto::KeyAlgorithm::Ed25519);
    (void)store.generate("broken-ciphertext", signet::crypto::KeyAlgorithm::EcP256);
    (void)store.generate("swapped-public-key", signet::crypto::KeyAlgorithm::EcP256);
  }
  // The installed CA: key "ca" with its self-signed CA certificate, made by the engine.
  signet::setup::SetupPlan first;
  first.data_dir = dir;
  first.identity.common_name = "Old Root CA";
  first.identity.organization = "Example Corp";
  first.daemon.https_port = free_port();
  first.daemon.http_port = free_port();
  signet::setup::SetupSecrets secrets{pass(kPassphrase), std::nullopt};
  (void)signet::setup::apply(first, secrets);
  {
    signet::test::StoreEditor edit(dir);
    edit.flip_key_byte("broken-ciphertext", "encrypted_private_key", 20);
    edit.set_key_blob("swapped-public-key", "public_key", edit.key_blob("spare", "public_key"));
  }
  std::vector<signet::keystore::KeyVerdict> expected_excluded;
  {
    signet::keystore::KeyStore store = signet::keystore::KeyStore::open(dir, pass(kPassphrase));
    expected_excluded = store.check_all().excluded;
  }
  QCOMPARE(expected_excluded.size(), std::size_t{2});
  const std::vector<std::string> names_before = signet::test::StoreEditor(dir).key_names();

  SetupWizard w;
  Screenshots shots(w, "reinstall_picker");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::ExistingKey);
  shots.take();
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, kPassphrase);
  QVERIFY2(w.keyStorePage()->unlocked(), qPrintable(w.keyStorePage()->statusLabel()->text()));
  shots.take();
  next(w, SetupWizard::KeyId);

  auto* page = w.keyPage();
  QTRY_VERIFY_WITH_TIMEOUT(page->checked(), kCheckTimeoutMs);
  // The model holds exactly the valid keys; every other entry is counted and explained.
  verify_picker(page, {"ca", "spare"}, {"broken-ciphertext", "swapped-public-key"}, expected_excluded);
  if (QTest::currentTestFailed()) return;
  // Nothing chosen yet: Next stays disabled, and there is no certificate choice to make.
  QVERIFY(!forward(w)->isEnabled());
  QVERIFY(page->keepCertificateBox()->isHidden());
  shots.take("-unselected");

  // Choose "ca" with the mouse.
  const int row = page->pickerModel()->rowOf("ca");
  const QRect rect = page->pickerView()->visualRect(page->pickerModel()->index(row, 0));
  QTest::mouseClick(page->pickerView()->viewport(), Qt::LeftButton, {}, rect.center());
  QTRY_VERIFY(forward(w)->isEnabled());
  QCOMPARE(w.plan().key_name, std::string("ca"));
  QVERIFY(page->keepCertificateBox()->isChecked());
  QCOMPARE(w.plan().mode, signet::setup::SetupMode::ExistingKeyAndCertificate);
  shots.take("-selected");
  next(w, SetupWizard::IdentityId);

  // Pre-filled from the kept certificate, read-only.
  QCOMPARE(w.identityPage()->commonNameEdit()->text(), QStringLiteral("Old Root CA"));
  QCOMPARE(w.identityPage()->organizationEdit()->text(), QStringLiteral("Example Corp"));
  QVERIFY(w.identityPage()->commonNameEdit()->isReadOnly());
  shots.take();
  next(w, SetupWizard::ValidityId);
  shots.take();
  next(w, SetupWizard::DaemonId);
  set_free_ports(w);
  shots.take();
  next(w, SetupWizard::SummaryId);
  shots.take();
  next(w, SetupWizard::ApplyId);
  QTRY_VERIFY_WITH_TIMEOUT(!w.applyPage()->running(), kApplyTimeoutMs);
  QVERIFY2(w.applyPage()->succeeded(), qPrintable(w.applyPage()->errorLabel()->text()));
  shots.take();
  next(w, SetupWizard::FinishId);
  shots.take();
  QVERIFY(w.finishPage()->reportView()->toPlainText().contains(QStringLiteral("Reused the CA certificate")));
  // A reinstall never adds, changes or removes a key entry.
  QCOMPARE(signet::test::StoreEditor(dir).key_names(), names_before);
}

void SetupWizardTest::wrongPassphraseIsShownOnTheKeyStorePageAndWritesNothing() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  {
    signet::keystore::KeyStore store =
        signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
    (void)store.generate("ca", signet::crypto::KeyAlgorithm::EcP256);
  }
  const fs::path db = signet::keystore::KeyStore::database_path(dir);
  const std::string before = read_bytes(db);
  const std::set<std::string> entries_before = dir_entries(dir);

  SetupWizard w;
  Screenshots shots(w, "wrong_passphrase");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::ExistingKey);
  shots.take();
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, "not the right passphrase");
  shots.take();

  auto* page = w.keyStorePage();
  QVERIFY(!page->unlocked());
  const QString status = page->statusLabel()->text();
  QVERIFY2(status.startsWith(QStringLiteral("Could not unlock the key store:")), qPrintable(status));
  QVERIFY2(status.contains(QStringLiteral("passphrase")), qPrintable(status));
  QVERIFY(page->statusLabel()->isVisible());
  QVERIFY(!forward(w)->isEnabled());
  QTest::mouseClick(forward(w), Qt::LeftButton);
  QCOMPARE(w.currentId(), int(SetupWizard::KeyStoreId));
  QCOMPARE(read_bytes(db), before);
  QVERIFY2(dir_entries(dir) == entries_before,
           qPrintable(QStringLiteral("the data directory holds %1").arg(dir_entries_q(dir).join(QStringLiteral(", ")))));

  // The right passphrase then unlocks it.
  page->passphraseEdit()->clear();
  QVERIFY(page->statusLabel()->text().isEmpty());
  unlock_store(w, dir, kPassphrase);
  QVERIFY(page->unlocked());
  QVERIFY(forward(w)->isEnabled());
  shots.take("-unlocked");
}

void SetupWizardTest::restoreThenReinstallOffersOnlyTheBackupsValidKeys() {
  signet::test::TempDir tmp;
  const fs::path source = tmp / "source";
  {
    signet::keystore::KeyStore store = signet::keystore::KeyStore::create(
        source, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
    (void)store.generate("spare", signet::crypto::KeyAlgorithm::Ed25519);
    (void)store.generate("broken-ciphertext", signet::crypto::KeyAlgorithm::EcP256);
    (void)store.generate("swapped-public-key", signet::crypto::KeyAlgorithm::EcP256);
  }
  // The source CA: key "ca" with its self-signed CA certificate, made by the engine.
  signet::setup::SetupPlan first;
  first.data_dir = source;
  first.identity.common_name = "Old Root CA";
  first.identity.organization = "Example Corp";
  first.daemon.https_port = free_port();
  first.daemon.http_port = free_port();
  (void)signet::setup::apply(first, signet::setup::SetupSecrets{pass(kPassphrase), std::nullopt});
  {
    signet::test::StoreEditor edit(source);
    edit.flip_key_byte("broken-ciphertext", "encrypted_private_key", 20);
    edit.set_key_blob("swapped-public-key", "public_key", edit.key_blob("spare", "public_key"));
  }
  const fs::path backup_file = tmp / "source.backup";
  std::vector<signet::keystore::KeyVerdict> expected_excluded;
  signet::Bytes ca_fingerprint;
  {
    signet::keystore::KeyStore store = signet::keystore::KeyStore::open(source, pass(kPassphrase));
    expected_excluded = store.check_all().excluded;
    ca_fingerprint = store.record("ca")->fingerprint.value();
    (void)store.create_backup(backup_file, pass(kBackupPassphrase), signet::crypto::ScryptParams::insecure_for_tests(),
                              "test");
  }
  QCOMPARE(expected_excluded.size(), std::size_t{2});
  // The picker explains the backup's copies as the backup's own check does: a damaged copy inside a
  // backup gets the fix for that (an older backup or the key's own file), not the local entry's
  // "restore it from a backup".
  expected_excluded = signet::setup::inspect_backup(backup_file, pass(kBackupPassphrase)).excluded;
  QCOMPARE(expected_excluded.size(), std::size_t{2});
  for (const signet::keystore::KeyVerdict& v : expected_excluded) {
    for (const signet::keystore::Finding& f : v.findings) {
      if (f.severity != signet::keystore::Severity::Error) continue;
      QVERIFY2(f.fix.find("older backup") != std::string::npos, f.fix.c_str());
    }
  }
  const std::string source_ca_pem = read_bytes(signet::setup::InstallationFiles::in(source).ca_certificate);
  QVERIFY(!source_ca_pem.empty());

  // The target: an empty store in another directory.
  const fs::path target = tmp / "target";
  (void)signet::keystore::KeyStore::create(target, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
  const fs::path target_db = signet::keystore::KeyStore::database_path(target);
  const std::string target_db_before = read_bytes(target_db);
  const std::set<std::string> target_entries_before = dir_entries(target);

  SetupWizard w;
  Screenshots shots(w, "restore_then_reinstall");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::RestoreThenReinstall);
  shots.take();
  next(w, SetupWizard::KeyStoreId);

  auto* store_page = w.keyStorePage();
  QVERIFY(store_page->backupFileEdit()->isVisible());
  QVERIFY(store_page->backupPassphraseEdit()->isVisible());
  unlock_store(w, target, kPassphrase);
  QVERIFY(store_page->unlocked());
  QVERIFY(!forward(w)->isEnabled());  // the backup is not opened yet
  open_backup(w, backup_file, kBackupPassphrase);
  QVERIFY2(store_page->backupOpened(), qPrintable(store_page->backupStatusLabel()->text()));
  QVERIFY2(store_page->backupStatusLabel()->text().contains(QStringLiteral("4 key entries")),
           qPrintable(store_page->backupStatusLabel()->text()));
  QVERIFY(forward(w)->isEnabled());
  // Opening the backup wrote nothing in the data directory.
  QCOMPARE(dir_entries(target), target_entries_before);
  QCOMPARE(read_bytes(target_db), target_db_before);
  shots.take();
  next(w, SetupWizard::KeyId);

  auto* page = w.keyPage();
  QTRY_VERIFY_WITH_TIMEOUT(page->checked(), kCheckTimeoutMs);
  // No name to type: the picker, holding exactly the backup's valid keys.
  QVERIFY(page->keyNameEdit()->isHidden() || !page->keyNameEdit()->isVisible());
  QVERIFY(page->pickerView()->isVisible());
  verify_picker(page, {"ca", "spare"}, {"broken-ciphertext", "swapped-public-key"}, expected_excluded);
  if (QTest::currentTestFailed()) return;
  QVERIFY(!forward(w)->isEnabled());
  QVERIFY(page->keepCertificateBox()->isHidden());
  shots.take("-unselected");

  const int row = page->pickerModel()->rowOf("ca");
  QVERIFY(row >= 0);
  const QRect rect = page->pickerView()->visualRect(page->pickerModel()->index(row, 0));
  QTest::mouseClick(page->pickerView()->viewport(), Qt::LeftButton, {}, rect.center());
  QTRY_VERIFY(forward(w)->isEnabled());
  QCOMPARE(w.plan().key_name, std::string("ca"));
  QCOMPARE(w.plan().mode, signet::setup::SetupMode::RestoreThenReinstall);
  QVERIFY(page->keepCertificateBox()->isChecked());
  QVERIFY(!w.plan().replace_ca_certificate);
  shots.take("-selected");
  next(w, SetupWizard::IdentityId);

  QCOMPARE(w.identityPage()->commonNameEdit()->text(), QStringLiteral("Old Root CA"));
  QVERIFY(w.identityPage()->commonNameEdit()->isReadOnly());
  shots.take();
  next(w, SetupWizard::ValidityId);
  shots.take();
  next(w, SetupWizard::DaemonId);
  set_free_ports(w);
  shots.take();
  next(w, SetupWizard::SummaryId);
  QVERIFY(w.summaryPage()->summaryView()->toPlainText().contains(QString::fromStdString(backup_file.string())));
  shots.take();
  next(w, SetupWizard::ApplyId);
  QTRY_VERIFY_WITH_TIMEOUT(!w.applyPage()->running(), kApplyTimeoutMs);
  QVERIFY2(w.applyPage()->succeeded(), qPrintable(w.applyPage()->errorLabel()->text()));
  shots.take();
  next(w, SetupWizard::FinishId);
  shots.take();

  // The target now holds the CA key of the backup, with its CA certificate installed.
  signet::keystore::KeyStore store = signet::keystore::KeyStore::open(target, pass(kPassphrase));
  const auto rec = store.record("ca");
  QVERIFY(rec.has_value());
  QVERIFY(rec->fingerprint.has_value());
  QVERIFY(*rec->fingerprint == ca_fingerprint);
  QCOMPARE(read_bytes(signet::setup::InstallationFiles::in(target).ca_certificate), source_ca_pem);
  // The damaged entries were not restored as keys.
  QVERIFY(!store.record("broken-ciphertext").has_value());
  QVERIFY(!store.record("swapped-public-key").has_value());
}

void SetupWizardTest::wrongBackupPassphraseIsShownOnTheKeyStorePageAndWritesNothing() {
  signet::test::TempDir tmp;
  const fs::path source = tmp / "source";
  const fs::path backup_file = tmp / "source.backup";
  {
    signet::keystore::KeyStore store = signet::keystore::KeyStore::create(
        source, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
    (void)store.generate("ca", signet::crypto::KeyAlgorithm::EcP256);
    (void)store.create_backup(backup_file, pass(kBackupPassphrase), signet::crypto::ScryptParams::insecure_for_tests(),
                              "test");
  }
  const fs::path notes = tmp / "notes.txt";
  {
    std::ofstream out(notes);
    out << "not a backup\n";
  }
  const fs::path target = tmp / "new-ca";  // no store yet: it would be created by apply()

  SetupWizard w;
  Screenshots shots(w, "wrong_backup_passphrase");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::RestoreThenReinstall);
  shots.take();
  next(w, SetupWizard::KeyStoreId);
  auto* page = w.keyStorePage();
  page->dataDirEdit()->setText(QString::fromStdString(target.string()));
  page->passphraseEdit()->setText(QString::fromUtf8(kPassphrase));
  page->confirmEdit()->setText(QString::fromUtf8(kPassphrase));
  QVERIFY(!forward(w)->isEnabled());  // the backup is not opened yet

  // A wrong backup passphrase: its message on this page, Next disabled, nothing written.
  open_backup(w, backup_file, "not the backup passphrase");
  shots.take("-wrong-passphrase");
  QVERIFY(!page->backupOpened());
  QString status = page->backupStatusLabel()->text();
  QVERIFY2(status.startsWith(QStringLiteral("Could not open the backup:")), qPrintable(status));
  QVERIFY2(status.contains(QStringLiteral("the backup passphrase is wrong")), qPrintable(status));
  QVERIFY(page->backupStatusLabel()->isVisible());
  QVERIFY(!forward(w)->isEnabled());
  QTest::mouseClick(forward(w), Qt::LeftButton);
  QCOMPARE(w.currentId(), int(SetupWizard::KeyStoreId));
  QVERIFY(!fs::exists(target));

  // A file that is no backup: its own message.
  open_backup(w, notes, kBackupPassphrase);
  shots.take("-not-a-backup");
  QVERIFY(!page->backupOpened());
  status = page->backupStatusLabel()->text();
  QVERIFY2(status.contains(QStringLiteral("is not a Signet backup")), qPrintable(status));
  QVERIFY(!forward(w)->isEnabled());
  QVERIFY(!fs::exists(target));

  // The right file and passphrase: opened, Next enabled, still nothing written.
  page->backupFileEdit()->setText(QString::fromStdString(backup_file.string()));
  QVERIFY(page->backupStatusLabel()->text().isEmpty());
  QVERIFY(page->openBackupButton()->isEnabled());
  QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
  QTest::mouseClick(page->openBackupButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!page->backupBusy(), kCheckTimeoutMs);
  QVERIFY2(page->backupOpened(), qPrintable(page->backupStatusLabel()->text()));
  QVERIFY(forward(w)->isEnabled());
  shots.take("-opened");
  QVERIFY(!fs::exists(target));
  // Changing the passphrase again forgets the opened backup.
  page->backupPassphraseEdit()->setText(QStringLiteral("something else entirely"));
  QVERIFY(!page->backupOpened());
  QVERIFY(!forward(w)->isEnabled());
}

void SetupWizardTest::unwritableDataDirectoryIsShownOnTheKeyStorePage() {
  signet::test::TempDir tmp;
  signet::test::TmpfsMount mount(tmp / "ro", "1m");
  mount.remount_read_only();
  const fs::path dir = mount.path() / "signet";

  SetupWizard w;
  Screenshots shots(w, "unwritable_data_dir");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  shots.take();
  next(w, SetupWizard::KeyStoreId);
  auto* page = w.keyStorePage();
  page->dataDirEdit()->setText(QString::fromStdString(dir.string()));
  page->passphraseEdit()->setText(QString::fromUtf8(kPassphrase));
  page->confirmEdit()->setText(QString::fromUtf8(kPassphrase));
  shots.take();

  QVERIFY(!page->storeExists());
  QVERIFY(page->problemLabel()->isVisible());
  const QString problems = page->problemLabel()->text();
  QVERIFY2(problems.contains(QStringLiteral("no permission to write in ") + QString::fromStdString(mount.path().string())),
           qPrintable(problems));
  QVERIFY(!forward(w)->isEnabled());
  QTest::mouseClick(forward(w), Qt::LeftButton);
  QCOMPARE(w.currentId(), int(SetupWizard::KeyStoreId));
  QVERIFY(!fs::exists(dir));

  // A writable directory clears the problem.
  page->dataDirEdit()->setText(QString::fromStdString((tmp / "ca").string()));
  QVERIFY(page->problemLabel()->isHidden());
  QVERIFY(forward(w)->isEnabled());
}

void SetupWizardTest::emptyNameAndBusyPortAreShownOnTheirPages() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  (void)signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
  const std::set<std::string> entries_before = dir_entries(dir);

  SetupWizard w;
  Screenshots shots(w, "bad_input");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  shots.take();
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, kPassphrase);
  shots.take();
  next(w, SetupWizard::KeyId);
  shots.take();
  next(w, SetupWizard::IdentityId);

  // Empty common name: the engine's message, on this page; Next does nothing.
  auto* identity = w.identityPage();
  QVERIFY(identity->commonNameEdit()->text().isEmpty());
  QVERIFY(identity->problemLabel()->isVisible());
  QVERIFY2(identity->problemLabel()->text().contains(QStringLiteral("the CA needs a name")),
           qPrintable(identity->problemLabel()->text()));
  QVERIFY(!forward(w)->isEnabled());
  QTest::mouseClick(forward(w), Qt::LeftButton);
  QCOMPARE(w.currentId(), int(SetupWizard::IdentityId));
  shots.take("-empty-name");
  identity->countryEdit()->setText(QStringLiteral("de"));
  QVERIFY(identity->problemLabel()->text().contains(QStringLiteral("two-letter ISO 3166 code")));
  identity->countryEdit()->setText(QStringLiteral("DE"));
  identity->commonNameEdit()->setText(QStringLiteral("Test CA"));
  QVERIFY(identity->problemLabel()->isHidden());
  next(w, SetupWizard::ValidityId);
  shots.take();
  next(w, SetupWizard::DaemonId);

  // A port some other program listens on.
  Listener busy;
  set_free_ports(w);
  auto* daemon = w.daemonPage();
  QVERIFY(forward(w)->isEnabled());
  daemon->httpsPortSpin()->setValue(busy.port());
  QVERIFY(daemon->problemLabel()->isVisible());
  const QString problems = daemon->problemLabel()->text();
  QVERIFY2(problems.contains(QStringLiteral("port %1 on 127.0.0.1 is already in use").arg(busy.port())),
           qPrintable(problems));
  QVERIFY(!forward(w)->isEnabled());
  QTest::mouseClick(forward(w), Qt::LeftButton);
  QCOMPARE(w.currentId(), int(SetupWizard::DaemonId));
  shots.take("-port-in-use");
  QCOMPARE(dir_entries(dir), entries_before);

  daemon->httpsPortSpin()->setValue(free_port());
  QVERIFY(daemon->problemLabel()->isHidden());
  QVERIFY(forward(w)->isEnabled());
}

void SetupWizardTest::newInstallFromTheKeyboardAlone() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  (void)signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());

  SetupWizard w;
  Screenshots shots(w, "keyboard_only");
  w.show();
  w.activateWindow();
  QVERIFY(QTest::qWaitForWindowActive(&w));

  // Welcome: the selected choice has the focus; arrows move within the choices, Space picks one.
  QTRY_VERIFY_WITH_TIMEOUT(qobject_cast<QRadioButton*>(QApplication::focusWidget()) != nullptr, 2000);
  auto* install = qobject_cast<QRadioButton*>(QApplication::focusWidget());
  QVERIFY(install->text().startsWith(QStringLiteral("&Install a new CA")));
  key(w, Qt::Key_Down);
  QTRY_VERIFY_WITH_TIMEOUT(QApplication::focusWidget() != install, 2000);
  QCOMPARE(w.welcomePage()->mode(), signet::setup::SetupMode::ExistingKey);
  key(w, Qt::Key_Up);
  EXPECT_FOCUS(install);
  key(w, Qt::Key_Space);
  QVERIFY(install->isChecked());
  QCOMPARE(w.welcomePage()->mode(), signet::setup::SetupMode::NewKey);
  shots.take();
  key(w, Qt::Key_N, Qt::AltModifier);

  // Key store: data directory, Browse, passphrase, Unlock.
  auto* store = w.keyStorePage();
  ARRIVE_AT(w, SetupWizard::KeyStoreId, store->dataDirEdit());
  retype(w, QString::fromStdString(dir.string()));
  QCOMPARE(store->dataDirEdit()->text(), QString::fromStdString(dir.string()));
  QVERIFY(store->storeExists());
  key(w, Qt::Key_Tab);  // Browse…
  QVERIFY(qobject_cast<QPushButton*>(QApplication::focusWidget()));
  QVERIFY(store->isAncestorOf(QApplication::focusWidget()));
  TAB_TO(w, store->passphraseEdit());
  type(w, QString::fromUtf8(kPassphrase));
  TAB_TO(w, store->unlockButton());
  key(w, Qt::Key_Backtab);
  EXPECT_FOCUS(store->passphraseEdit());
  key(w, Qt::Key_D, Qt::AltModifier);  // "&Data directory"
  EXPECT_FOCUS(store->dataDirEdit());
  key(w, Qt::Key_P, Qt::AltModifier);  // "Store &passphrase"
  EXPECT_FOCUS(store->passphraseEdit());
  key(w, Qt::Key_Return);  // unlocks
  QTRY_VERIFY_WITH_TIMEOUT(!store->busy(), kCheckTimeoutMs);
  QVERIFY2(store->unlocked(), qPrintable(store->statusLabel()->text()));
  QTRY_VERIFY_WITH_TIMEOUT(forward(w)->isEnabled(), 2000);
  QCOMPARE(w.currentId(), int(SetupWizard::KeyStoreId));  // Return unlocked; it did not also move on
  shots.take();
  key(w, Qt::Key_N, Qt::AltModifier);

  // Key: name, then algorithm (chosen with the arrow keys).
  auto* keyp = w.keyPage();
  ARRIVE_AT(w, SetupWizard::KeyId, keyp->keyNameEdit());
  retype(w, QStringLiteral("root-2024"));
  TAB_TO(w, keyp->algorithmCombo());
  const int target = keyp->algorithmCombo()->findText(QStringLiteral("ec-p384"));
  QVERIFY(target >= 0);
  for (int i = 0; i < 20 && keyp->algorithmCombo()->currentIndex() != target; ++i) {
    key(w, keyp->algorithmCombo()->currentIndex() < target ? Qt::Key_Down : Qt::Key_Up);
  }
  QCOMPARE(keyp->algorithmCombo()->currentIndex(), target);
  QCOMPARE(w.plan().key_name, std::string("root-2024"));
  QCOMPARE(w.plan().algorithm, signet::crypto::KeyAlgorithm::EcP384);
  shots.take();
  // Alt+N is Next here too: the key name's mnemonic is Alt+M ("Key na&me"), so it cannot steal it.
  key(w, Qt::Key_M, Qt::AltModifier);
  QTRY_COMPARE_WITH_TIMEOUT(QApplication::focusWidget(), static_cast<QWidget*>(keyp->keyNameEdit()), 2000);
  key(w, Qt::Key_N, Qt::AltModifier);

  // Identity: the six fields in visual order.
  auto* id = w.identityPage();
  ARRIVE_AT(w, SetupWizard::IdentityId, id->commonNameEdit());
  type(w, QStringLiteral("Signet Test Root CA"));
  TAB_TO(w, id->organizationEdit());
  type(w, QStringLiteral("Example Corp"));
  TAB_TO(w, id->organizationalUnitEdit());
  type(w, QStringLiteral("PKI"));
  TAB_TO(w, id->countryEdit());
  type(w, QStringLiteral("DE"));
  TAB_TO(w, id->stateEdit());
  type(w, QStringLiteral("Berlin"));
  TAB_TO(w, id->localityEdit());
  type(w, QStringLiteral("Berlin"));
  key(w, Qt::Key_T, Qt::AltModifier);  // "Coun&try"
  EXPECT_FOCUS(id->countryEdit());
  QVERIFY2(id->problemLabel()->isHidden(), qPrintable(id->problemLabel()->text()));
  QCOMPARE(w.plan().identity.organizational_unit, std::string("PKI"));
  shots.take();
  key(w, Qt::Key_N, Qt::AltModifier);

  // Validity: days, then the path length switch (its spin box is disabled until checked).
  auto* validity = w.validityPage();
  ARRIVE_AT(w, SetupWizard::ValidityId, validity->validityDaysSpin());
  retype(w, QStringLiteral("730"));
  QCOMPARE(validity->validityDaysSpin()->value(), 730);
  TAB_TO(w, validity->limitPathBox());
  key(w, Qt::Key_Space);
  QVERIFY(validity->limitPathBox()->isChecked());
  TAB_TO(w, validity->pathLengthSpin());
  retype(w, QStringLiteral("1"));
  QCOMPARE(w.plan().path_length, std::optional<int>(1));
  shots.take();
  key(w, Qt::Key_N, Qt::AltModifier);

  // Daemon: addresses and ports in visual order; free ports typed in.
  auto* daemon = w.daemonPage();
  ARRIVE_AT(w, SetupWizard::DaemonId, daemon->httpsAddressEdit());
  const std::uint16_t https_port = free_port();
  std::uint16_t http_port = free_port();
  while (http_port == https_port) http_port = free_port();
  TAB_TO(w, daemon->httpsPortSpin());
  retype(w, QString::number(https_port));
  TAB_TO(w, daemon->httpAddressEdit());
  TAB_TO(w, daemon->httpPortSpin());
  retype(w, QString::number(http_port));
  TAB_TO(w, daemon->tlsNamesEdit());
  TAB_TO(w, daemon->publicBaseUrlEdit());
  retype(w, QStringLiteral("http://127.0.0.1:%1").arg(http_port));
  QCOMPARE(w.plan().daemon.https_port, https_port);
  QCOMPARE(w.plan().daemon.http_port, http_port);
  QVERIFY2(daemon->problemLabel()->isHidden(), qPrintable(daemon->problemLabel()->text()));
  shots.take();
  key(w, Qt::Key_N, Qt::AltModifier);

  // Summary: its forward button is "&Install".
  QTRY_COMPARE_WITH_TIMEOUT(w.currentId(), int(SetupWizard::SummaryId), 5000);
  QVERIFY(w.summaryPage()->summaryView()->toPlainText().contains(QStringLiteral("Signet Test Root CA")));
  QVERIFY(QApplication::focusWidget() != nullptr);
  shots.take();
  key(w, Qt::Key_I, Qt::AltModifier);

  // Apply, then Next (the commit button, "&Next") to the report.
  QTRY_COMPARE_WITH_TIMEOUT(w.currentId(), int(SetupWizard::ApplyId), 5000);
  QTRY_VERIFY_WITH_TIMEOUT(!w.applyPage()->running(), kApplyTimeoutMs);
  QVERIFY2(w.applyPage()->succeeded(), qPrintable(w.applyPage()->errorLabel()->text()));
  shots.take();
  key(w, Qt::Key_N, Qt::AltModifier);
  QTRY_COMPARE_WITH_TIMEOUT(w.currentId(), int(SetupWizard::FinishId), 5000);
  shots.take();

  const signet::setup::InstallationFiles f = signet::setup::InstallationFiles::in(dir);
  for (const fs::path& p : {f.ca_certificate, f.configuration, f.tls_key, f.tls_certificate}) {
    QVERIFY2(fs::is_regular_file(p), p.c_str());
  }
  QVERIFY(read_bytes(f.configuration).find(std::to_string(https_port)) != std::string::npos);
  signet::keystore::KeyStore opened = signet::keystore::KeyStore::open(dir, pass(kPassphrase));
  const auto rec = opened.record("root-2024");
  QVERIFY(rec.has_value());
  QCOMPARE(rec->algorithm, std::string("ec-p384"));
}

// The commit page: once writing starts, Esc, Cancel and closing the window do not close
// the wizard; it ends on the finish page with the result, and Cancel is not enabled after "Done".
void SetupWizardTest::commitPageCannotBeLeftWhileItWrites() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  (void)signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());

  SetupWizard w;
  Gate gate;  // after the wizard: opened before the wizard waits for the worker
  QSemaphore started;
  w.applyPage()->setApplyFunction([&gate, &started](const signet::setup::SetupPlan& plan,
                                                    const signet::setup::SetupSecrets& secrets,
                                                    const signet::setup::Progress& progress) {
    progress(1, "Checking the CA key again");
    started.release();
    gate.wait();
    return signet::setup::apply(plan, secrets, progress);
  });
  Screenshots shots(w, "commit_page_honesty");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, kPassphrase);
  next(w, SetupWizard::KeyId);
  w.keyPage()->keyNameEdit()->setText(QStringLiteral("root"));
  next(w, SetupWizard::IdentityId);
  w.identityPage()->commonNameEdit()->setText(QStringLiteral("Honest CA"));
  next(w, SetupWizard::ValidityId);
  next(w, SetupWizard::DaemonId);
  set_free_ports(w);
  next(w, SetupWizard::SummaryId);
  QSignalSpy finished(w.applyPage(), &signet::gui::ApplyPage::finished);
  QSignalSpy rejected(&w, &QDialog::rejected);
  next(w, SetupWizard::ApplyId);
  QVERIFY(started.tryAcquire(1, 10000));  // apply() runs, held at the gate
  QVERIFY(w.applyPage()->running());

  // While it writes: Cancel is disabled; Esc, a click on Cancel and closing the window are refused.
  QAbstractButton* cancel = w.button(QWizard::CancelButton);
  QVERIFY(!cancel->isEnabled());
  QTRY_VERIFY(!w.button(QWizard::BackButton)->isEnabled());
  key(w, Qt::Key_Escape);
  QTest::mouseClick(cancel, Qt::LeftButton);
  QVERIFY(!w.close());
  QCoreApplication::processEvents();
  QVERIFY(w.isVisible());
  QCOMPARE(w.currentId(), int(SetupWizard::ApplyId));
  QCOMPARE(rejected.count(), 0);
  QVERIFY(w.applyPage()->refusedLabel()->isVisible());
  QVERIFY2(w.applyPage()->refusedLabel()->text().contains(QStringLiteral("cannot be stopped")),
           qPrintable(w.applyPage()->refusedLabel()->text()));
  shots.take("-refused");

  gate.open();
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kApplyTimeoutMs);
  QVERIFY2(w.applyPage()->succeeded(), qPrintable(w.applyPage()->errorLabel()->text()));
  // After "Done" the only way on is Next: Cancel is not enabled.
  QVERIFY(!cancel->isEnabled());
  shots.take("-done");
  // Esc now leads to the result, not out of the wizard.
  key(w, Qt::Key_Escape);
  QTRY_COMPARE_WITH_TIMEOUT(w.currentId(), int(SetupWizard::FinishId), 5000);
  QVERIFY(w.isVisible());
  QCOMPARE(rejected.count(), 0);
  QVERIFY(!cancel->isVisible());
  const QString report = w.finishPage()->reportView()->toPlainText();
  QVERIFY2(report.contains(QStringLiteral("Generated the CA key \"root\"")), qPrintable(report));
  shots.take();
  QVERIFY(w.button(QWizard::FinishButton)->isEnabled());
  QTest::mouseClick(w.button(QWizard::FinishButton), Qt::LeftButton);
  QTRY_VERIFY(!w.isVisible());
  QCOMPARE(w.QDialog::result(), int(QDialog::Accepted));
}

// The commit page: a setup that stops ends on a page that says so (Cancel leads there).
void SetupWizardTest::failedSetupEndsOnAPageThatSaysSo() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  (void)signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());

  SetupWizard w;
  w.applyPage()->setApplyFunction([](const signet::setup::SetupPlan&, const signet::setup::SetupSecrets&,
                                     const signet::setup::Progress& progress) -> signet::setup::SetupResult {
    progress(10, "Checking the CA key again");
    throw std::runtime_error("the disk is full (`df -h` shows it). Nothing was changed");
  });
  Screenshots shots(w, "commit_page_failure");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, kPassphrase);
  next(w, SetupWizard::KeyId);
  next(w, SetupWizard::IdentityId);
  w.identityPage()->commonNameEdit()->setText(QStringLiteral("Failing CA"));
  next(w, SetupWizard::ValidityId);
  next(w, SetupWizard::DaemonId);
  set_free_ports(w);
  next(w, SetupWizard::SummaryId);
  QSignalSpy rejected(&w, &QDialog::rejected);
  next(w, SetupWizard::ApplyId);
  QTRY_VERIFY_WITH_TIMEOUT(w.applyPage()->failed(), kApplyTimeoutMs);
  QVERIFY(w.applyPage()->errorLabel()->text().contains(QStringLiteral("the disk is full (df -h shows it)")));
  QVERIFY(w.button(QWizard::BackButton)->isEnabled());
  QAbstractButton* cancel = w.button(QWizard::CancelButton);
  QVERIFY(cancel->isEnabled());
  shots.take("-failed");
  QTest::mouseClick(cancel, Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(w.currentId(), int(SetupWizard::FinishId), 5000);
  QVERIFY(w.isVisible());
  QCOMPARE(rejected.count(), 0);
  QCOMPARE(w.finishPage()->title(), QStringLiteral("Setup stopped"));
  const QString report = w.finishPage()->reportView()->toPlainText();
  QVERIFY2(report.contains(QStringLiteral("the disk is full (df -h shows it). Nothing was changed")), qPrintable(report));
  QVERIFY2(report.contains(QStringLiteral("Checking the CA key again")), qPrintable(report));
  shots.take();
  verify_words(w);
}

// Keyboard and words: on every page of every mode no two visible widgets share a
// mnemonic (the wizard's own buttons included), and no text carries Markdown or a bad plural.
void SetupWizardTest::mnemonicsAndWordsOnEveryPageOfEveryMode() {
  signet::test::TempDir tmp;
  const Journeys dirs(tmp.path());
  for (Journey journey : {Journey::NewInstall, Journey::Reinstall, Journey::Restore, Journey::Subordinate}) {
    SetupWizard w;
    Screenshots shots(w, (std::string("mnemonics_") + journey_name(journey)).c_str());
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    int pages = 0;
    walk(w, journey, dirs, [&] {
      ++pages;
      shots.take();
      verify_unique_mnemonics(w);
      verify_words(w);
    });
    if (QTest::currentTestFailed()) {
      qWarning("in journey %s", journey_name(journey));
      return;
    }
    QCOMPARE(pages, 9);
  }
  // The key store page with every row shown: a new store (passphrase twice) and a backup.
  SetupWizard w;
  Screenshots shots(w, "mnemonics_key_store_all_rows");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::RestoreThenReinstall);
  next(w, SetupWizard::KeyStoreId);
  w.keyStorePage()->dataDirEdit()->setText(QString::fromStdString((tmp / "no-store-yet").string()));
  QVERIFY(w.keyStorePage()->confirmEdit()->isVisible());
  QVERIFY(w.keyStorePage()->backupFileEdit()->isVisible());
  shots.take();
  verify_unique_mnemonics(w);
  verify_words(w);
}

// The key page: the picker has the focus, fits without horizontal scrolling, shows the
// expired certificate's warning without hovering, and a details pane shows the selected key in
// full; excluded entries show their whole fingerprint.
void SetupWizardTest::keyPageFitsAndExplainsTheSelectedKey() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  make_installed_ca(dir);
  signet::keystore::KeyVerdict old_ca;
  std::vector<signet::keystore::KeyVerdict> excluded;
  {
    signet::keystore::KeyStore store = signet::keystore::KeyStore::open(dir, pass(kPassphrase));
    const signet::keystore::IntegrityReport report = store.check_all();
    excluded = report.excluded;
    for (const auto& v : report.reusable) {
      if (v.name == "old-ca") old_ca = v;
    }
  }
  QVERIFY(old_ca.has_finding(signet::keystore::FindingCode::CertificateExpired));

  SetupWizard w;
  Screenshots shots(w, "key_page");
  w.show();
  w.activateWindow();
  QVERIFY(QTest::qWaitForWindowActive(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::ExistingKey);
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, kPassphrase);
  next(w, SetupWizard::KeyId);
  auto* page = w.keyPage();
  QTRY_VERIFY_WITH_TIMEOUT(page->checked(), kCheckTimeoutMs);
  verify_picker(page, {"ca", "old-ca", "spare"}, {"broken-ciphertext", "swapped-public-key"}, excluded);
  if (QTest::currentTestFailed()) return;
  // The picker has the focus on arrival.
  EXPECT_FOCUS(page->pickerView());
  QCoreApplication::processEvents();
  shots.take("-arrived");

  // It fits: no horizontal scrolling at the default size (neither the page nor the picker), and
  // the Notes column is on screen.
  QTableView* view = page->pickerView();
  QCOMPARE(view->horizontalScrollBar()->maximum(), 0);
  auto* scroll = page->findChild<QScrollArea*>(QStringLiteral("pageScrollArea"));
  QVERIFY(scroll != nullptr);
  QCOMPARE(scroll->horizontalScrollBar()->maximum(), 0);
  const int notes = signet::gui::KeyPickerModel::NotesColumn;
  const int notes_right = view->columnViewportPosition(notes) + view->columnWidth(notes);
  QVERIFY2(view->columnViewportPosition(notes) >= 0 && notes_right <= view->viewport()->width(),
           qPrintable(QStringLiteral("Notes at %1..%2, viewport %3")
                          .arg(view->columnViewportPosition(notes))
                          .arg(notes_right)
                          .arg(view->viewport()->width())));
  QVERIFY(view->columnWidth(notes) >= 120);
  // The expired certificate's warning is in its row's Notes cell, not only in a tool tip.
  const int old_row = page->pickerModel()->rowOf("old-ca");
  QVERIFY(old_row >= 0);
  const QString note_text = page->pickerModel()->data(page->pickerModel()->index(old_row, notes)).toString();
  QVERIFY2(note_text.contains(QStringLiteral("expired")), qPrintable(note_text));
  const QRect cell = view->visualRect(page->pickerModel()->index(old_row, notes));
  QVERIFY(view->viewport()->rect().intersects(cell));
  // The row is tall enough for the wrapped note.
  QVERIFY(cell.height() >= view->fontMetrics().height());

  // Choose it from the keyboard: its details, in full.
  for (int i = 0; i < 5 && page->pickerView()->currentIndex().row() != old_row; ++i) key(w, Qt::Key_Down);
  key(w, Qt::Key_Space);
  QTRY_COMPARE(w.plan().key_name, std::string("old-ca"));
  const QString details = page->detailsView()->toPlainText();
  QVERIFY2(details.contains(QString::fromStdString(old_ca.fingerprint_hex)), qPrintable(details));
  QCOMPARE(old_ca.fingerprint_hex.size(), std::size_t{64});
  QVERIFY2(details.contains(QStringLiteral("CN=Expired Root CA,O=Example Corp,C=DE")), qPrintable(details));
  QVERIFY2(details.contains(QStringLiteral("issued by CN=Expired Root CA,O=Example Corp,C=DE")), qPrintable(details));
  QVERIFY2(details.contains(QStringLiteral("valid from")), qPrintable(details));
  for (const auto& f : old_ca.findings) QVERIFY2(details.contains(shown(f.message)), f.message.c_str());
  // Its certificate cannot be kept: the page says a new one will be made. It is not the installed
  // CA's key: replacing that needs a confirmation. Still no horizontal scrolling.
  QVERIFY(!page->keepCertificateBox()->isEnabled());
  QVERIFY(page->replaceInstalledBox()->isVisible());
  QVERIFY(!forward(w)->isEnabled());
  QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
  QCOMPARE(scroll->horizontalScrollBar()->maximum(), 0);
  page->replaceInstalledBox()->setChecked(true);
  QVERIFY(w.plan().replace_installation);
  QVERIFY(forward(w)->isEnabled());
  QCOMPARE(w.plan().mode, signet::setup::SetupMode::ExistingKey);
  shots.take("-expired-selected");

  // The excluded entries show their whole fingerprint.
  const QString excluded_text = page->excludedDetails()->toPlainText();
  for (const auto& v : excluded) {
    QVERIFY2(excluded_text.contains(QString::fromStdString(v.fingerprint_hex)), v.name.c_str());
  }
  verify_words(w);
}

// "Reinstall" on a directory without a key store says so, with the way back, on the key
// store page; Next stays disabled.
void SetupWizardTest::reinstallWithoutAStoreSaysSo() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "empty";
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);

  SetupWizard w;
  Screenshots shots(w, "reinstall_without_store");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::ExistingKey);
  next(w, SetupWizard::KeyStoreId);
  auto* page = w.keyStorePage();
  page->dataDirEdit()->setText(QString::fromStdString(dir.string()));
  page->passphraseEdit()->setText(QString::fromUtf8(kPassphrase));
  const QString state = page->storeStateLabel()->text();
  QVERIFY2(state.contains(QStringLiteral("There is no key store in ") + QString::fromStdString(dir.string())),
           qPrintable(state));
  QVERIFY2(state.contains(QStringLiteral("Install a new CA")), qPrintable(state));
  QVERIFY(page->storeStateLabel()->isVisible());
  QVERIFY(!page->confirmEdit()->isVisible());  // no new store is offered for a reinstall
  QVERIFY(!forward(w)->isEnabled());
  shots.take("-no-store");
  QVERIFY(w.button(QWizard::BackButton)->isEnabled());
  QTest::mouseClick(w.button(QWizard::BackButton), Qt::LeftButton);
  QTRY_COMPARE(w.currentId(), int(SetupWizard::WelcomeId));
  QVERIFY(fs::is_empty(dir));
}

// A store without any valid key: the key page says so and what to do.
void SetupWizardTest::noValidKeySaysWhatToDo() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  {
    signet::keystore::KeyStore store =
        signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
    (void)store.generate("broken", signet::crypto::KeyAlgorithm::EcP256);
  }
  signet::test::StoreEditor(dir).flip_key_byte("broken", "encrypted_private_key", 20);

  SetupWizard w;
  Screenshots shots(w, "no_valid_key");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::ExistingKey);
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, kPassphrase);
  next(w, SetupWizard::KeyId);
  auto* page = w.keyPage();
  QTRY_VERIFY_WITH_TIMEOUT(page->checked(), kCheckTimeoutMs);
  const QString status = page->checkStatusLabel()->text();
  QVERIFY2(status.contains(QStringLiteral("No key in the store passed the integrity check")), qPrintable(status));
  QVERIFY2(status.contains(QStringLiteral("Go Back")), qPrintable(status));
  QVERIFY(page->checkStatusLabel()->isVisible());
  QVERIFY(!page->pickerView()->isVisible());
  QVERIFY2(page->excludedLabel()->text().startsWith(QStringLiteral("1 entry is not offered")),
           qPrintable(page->excludedLabel()->text()));
  QVERIFY(!forward(w)->isEnabled());
  QVERIFY(w.button(QWizard::BackButton)->isEnabled());
  shots.take("-none");
  verify_words(w);
}

// Words: the summary names the CA subject in the order the certificate will carry
// (RFC 4514), the key's fingerprint, and in restore mode what is restored and quarantined.
void SetupWizardTest::summaryListsSubjectFingerprintAndRestoreContents() {
  signet::test::TempDir tmp;
  const Journeys dirs(tmp.path());
  std::string ca_fingerprint;
  {
    signet::keystore::KeyStore store = signet::keystore::KeyStore::open(dirs.reinstall_dir, pass(kPassphrase));
    for (const auto& v : store.check_all().reusable) {
      if (v.name == "ca") ca_fingerprint = v.fingerprint_hex;
    }
  }
  QVERIFY(!ca_fingerprint.empty());

  {  // A new install: the subject as the certificate carries it.
    SetupWizard w;
    Screenshots shots(w, "summary_new_install");
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QString summary;
    walk(w, Journey::NewInstall, dirs, [&] {
      if (w.currentId() == SetupWizard::IdentityId) {
        w.identityPage()->organizationalUnitEdit()->setText(QStringLiteral("PKI, Berlin"));
        w.identityPage()->localityEdit()->setText(QStringLiteral("Berlin"));
      }
      if (w.currentId() == SetupWizard::SummaryId) {
        summary = w.summaryPage()->summaryView()->toPlainText();
        shots.take();
      }
    });
    if (QTest::currentTestFailed()) return;
    QVERIFY(w.result().has_value() && w.result()->ca_certificate.has_value());
    const std::string subject = w.result()->ca_certificate->subject();
    QCOMPARE(subject, std::string("CN=Signet Test CA,OU=PKI\\, Berlin,O=Example Corp,L=Berlin,C=DE"));
    QVERIFY2(summary.contains(QString::fromStdString(subject)), qPrintable(summary));
  }
  {  // A restore: fingerprint, restored, quarantined; the kept certificate's subject.
    SetupWizard w;
    Screenshots shots(w, "summary_restore");
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QString summary;
    walk(w, Journey::Restore, dirs, [&] {
      if (w.currentId() == SetupWizard::SummaryId) {
        summary = w.summaryPage()->summaryView()->toPlainText();
        shots.take();
      }
    });
    if (QTest::currentTestFailed()) return;
    QVERIFY2(summary.contains(QStringLiteral("CA subject")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("CN=Old Root CA,O=Example Corp,C=DE")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("SHA256:") + QString::fromStdString(ca_fingerprint)), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("3 valid keys: \"ca\", \"old-ca\" and \"spare\"")) ||
                 summary.contains(QStringLiteral("\"spare\"")),
             qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("Quarantined")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("\"broken-ciphertext\"")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("\"swapped-public-key\"")), qPrintable(summary));
  }
}

// Choices survive Back and Next: the mode, the picker's selection, the certificate
// choice made for it, and typed values.
void SetupWizardTest::choicesSurviveBackAndNext() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  make_installed_ca(dir);

  SetupWizard w;
  Screenshots shots(w, "back_and_next");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::ExistingKey);
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, kPassphrase);
  next(w, SetupWizard::KeyId);
  auto* page = w.keyPage();
  QTRY_VERIFY_WITH_TIMEOUT(page->checked(), kCheckTimeoutMs);
  QVERIFY(page->selectKey("ca"));
  QVERIFY(page->keepCertificateBox()->isChecked());
  // A new CA certificate for the same key: the identity may then be edited.
  page->keepCertificateBox()->setChecked(false);
  QCOMPARE(w.plan().mode, signet::setup::SetupMode::ExistingKey);
  shots.take();
  next(w, SetupWizard::IdentityId);
  QCOMPARE(w.identityPage()->commonNameEdit()->text(), QStringLiteral("Old Root CA"));
  w.identityPage()->commonNameEdit()->setText(QStringLiteral("Renewed Root CA"));
  next(w, SetupWizard::ValidityId);
  w.validityPage()->validityDaysSpin()->setValue(1234);
  next(w, SetupWizard::DaemonId);
  w.daemonPage()->tlsNamesEdit()->setText(QStringLiteral("ca.example.test"));

  // Back twice, then forward again: the typed values are kept.
  QTest::mouseClick(w.button(QWizard::BackButton), Qt::LeftButton);
  QTRY_COMPARE(w.currentId(), int(SetupWizard::ValidityId));
  QTest::mouseClick(w.button(QWizard::BackButton), Qt::LeftButton);
  QTRY_COMPARE(w.currentId(), int(SetupWizard::IdentityId));
  QCOMPARE(w.identityPage()->commonNameEdit()->text(), QStringLiteral("Renewed Root CA"));
  next(w, SetupWizard::ValidityId);
  QCOMPARE(w.validityPage()->validityDaysSpin()->value(), 1234);
  next(w, SetupWizard::DaemonId);
  QCOMPARE(w.daemonPage()->tlsNamesEdit()->text(), QStringLiteral("ca.example.test"));

  // Back to the first page and forward again: the mode, the store, the chosen key and the choice
  // made for its certificate are all kept (the picker is checked again and selects it).
  for (int id : {SetupWizard::ValidityId, SetupWizard::IdentityId, SetupWizard::KeyId, SetupWizard::KeyStoreId,
                 SetupWizard::WelcomeId}) {
    QTest::mouseClick(w.button(QWizard::BackButton), Qt::LeftButton);
    QTRY_COMPARE(w.currentId(), id);
  }
  QCOMPARE(w.welcomePage()->mode(), signet::setup::SetupMode::ExistingKey);
  next(w, SetupWizard::KeyStoreId);
  QVERIFY(w.keyStorePage()->unlocked());
  next(w, SetupWizard::KeyId);
  QTRY_VERIFY_WITH_TIMEOUT(page->checked(), kCheckTimeoutMs);
  QTRY_COMPARE(w.plan().key_name, std::string("ca"));
  const QModelIndexList selected = page->pickerView()->selectionModel()->selectedRows();
  QCOMPARE(selected.size(), 1);
  QCOMPARE(selected.front().row(), page->pickerModel()->rowOf("ca"));
  QVERIFY(!page->keepCertificateBox()->isChecked());
  QCOMPARE(w.plan().mode, signet::setup::SetupMode::ExistingKey);
  shots.take("-again");
  next(w, SetupWizard::IdentityId);
  QCOMPARE(w.identityPage()->commonNameEdit()->text(), QStringLiteral("Renewed Root CA"));
  next(w, SetupWizard::ValidityId);
  QCOMPARE(w.validityPage()->validityDaysSpin()->value(), 1234);
  next(w, SetupWizard::DaemonId);
  QCOMPARE(w.daemonPage()->tlsNamesEdit()->text(), QStringLiteral("ca.example.test"));
}

// The key store page says what is installed; a new CA over it needs an explicit
// confirmation (replace_installation), which the summary states. The daemon page warns about a
// loopback public base URL, and asks how signetd gets the passphrase.
void SetupWizardTest::installedCaIsNeverReplacedSilently() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  make_installed_ca(dir);

  SetupWizard w;
  Screenshots shots(w, "installed_ca");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  QCOMPARE(w.welcomePage()->mode(), signet::setup::SetupMode::NewKey);
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, kPassphrase);
  auto* page = w.keyStorePage();
  QVERIFY(page->unlocked());
  const QString installed = page->installedLabel()->text();
  QVERIFY(page->installedLabel()->isVisible());
  QVERIFY2(installed.contains(QStringLiteral("CN=Old Root CA,O=Example Corp,C=DE")), qPrintable(installed));
  QVERIFY2(installed.contains(QStringLiteral("\"ca\"")), qPrintable(installed));
  QVERIFY2(installed.contains(QStringLiteral("SHA256:")), qPrintable(installed));
  QVERIFY(page->replaceInstalledBox()->isVisible());
  QVERIFY(!page->replaceInstalledBox()->isChecked());
  QVERIFY(!forward(w)->isEnabled());
  QVERIFY(!w.plan().replace_installation);
  shots.take("-unconfirmed");
  page->replaceInstalledBox()->setChecked(true);
  QVERIFY(w.plan().replace_installation);
  QVERIFY(forward(w)->isEnabled());
  shots.take("-confirmed");
  next(w, SetupWizard::KeyId);
  w.keyPage()->keyNameEdit()->setText(QStringLiteral("new-root"));
  next(w, SetupWizard::IdentityId);
  w.identityPage()->commonNameEdit()->setText(QStringLiteral("New Root CA"));
  next(w, SetupWizard::ValidityId);
  next(w, SetupWizard::DaemonId);

  auto* daemon = w.daemonPage();
  set_free_ports(w);
  QVERIFY(daemon->loopbackWarning()->isVisible());  // http://127.0.0.1:PORT
  QVERIFY(daemon->loopbackWarning()->text().contains(QStringLiteral("no other machine can reach")));
  daemon->publicBaseUrlEdit()->setText(QStringLiteral("http://ca.example.test:8080"));
  QVERIFY(daemon->loopbackWarning()->isHidden());
  daemon->publicBaseUrlEdit()->setText(QStringLiteral("http://localhost:8080"));
  QVERIFY(daemon->loopbackWarning()->isVisible());
  // How signetd gets the passphrase.
  QVERIFY(daemon->credentialButton()->isChecked());
  QCOMPARE(w.plan().passphrase_source, signet::setup::PassphraseSource::SystemdCredential);
  daemon->storedFileButton()->setChecked(true);
  QCOMPARE(w.plan().passphrase_source, signet::setup::PassphraseSource::StoredFile);
  QVERIFY(daemon->storedFileButton()->text().contains(QString::fromStdString((dir / "passphrase").string())));
  const fs::path operator_file = tmp / "passphrase";
  {
    std::ofstream out(operator_file);
    out << kPassphrase << "\n";
  }
  fs::permissions(operator_file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  daemon->operatorFileButton()->setChecked(true);
  daemon->passphraseFileEdit()->setText(QString::fromStdString(operator_file.string()));
  QCOMPARE(w.plan().passphrase_source, signet::setup::PassphraseSource::OperatorFile);
  QCOMPARE(w.plan().passphrase_file, operator_file);
  shots.take();
  verify_unique_mnemonics(w);
  next(w, SetupWizard::SummaryId);
  const QString summary = w.summaryPage()->summaryView()->toPlainText();
  QVERIFY2(summary.contains(QStringLiteral("the installed CA CN=Old Root CA,O=Example Corp,C=DE")), qPrintable(summary));
  QVERIFY2(summary.contains(QStringLiteral("read from ") + QString::fromStdString(operator_file.string())),
           qPrintable(summary));
  QVERIFY2(summary.contains(QStringLiteral("loopback")), qPrintable(summary));
  shots.take();
}

// After a restore, reinstalling again counts and explains the entries the restore
// quarantined; the key page never says "Every entry in the store is offered." then.
void SetupWizardTest::keyPageExplainsQuarantinedEntries() {
  signet::test::TempDir tmp;
  const Journeys dirs(tmp.path());
  {
    SetupWizard w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    walk(w, Journey::Restore, dirs, [] {});
    if (QTest::currentTestFailed()) return;
  }
  SetupWizard w;
  Screenshots shots(w, "quarantine");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  w.welcomePage()->setMode(signet::setup::SetupMode::ExistingKey);
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dirs.restore_dir, kPassphrase);
  next(w, SetupWizard::KeyId);
  auto* page = w.keyPage();
  QTRY_VERIFY_WITH_TIMEOUT(page->checked(), kCheckTimeoutMs);
  std::vector<std::string> quarantined = page->quarantinedNames();
  std::sort(quarantined.begin(), quarantined.end());
  QCOMPARE(quarantined, (std::vector<std::string>{"broken-ciphertext", "swapped-public-key"}));
  const QString label = page->excludedLabel()->text();
  QVERIFY2(!label.contains(QStringLiteral("Every entry")), qPrintable(label));
  QVERIFY2(label.contains(QStringLiteral("quarantine holds 2 entries")), qPrintable(label));
  const QString details = page->excludedDetails()->toPlainText();
  QVERIFY2(details.contains(QStringLiteral("broken-ciphertext")) && details.contains(QStringLiteral("Fix:")),
           qPrintable(details));
  QVERIFY(page->excludedDetails()->isVisible());
  shots.take();
  verify_words(w);
}

// The whole restore journey through the wizard: server A (made by the engine, with a
// reachable public base URL, its own ports, a [log] section and a profile of its own) is backed up;
// on server B an operator restores that backup and reinstalls with A's CA key. The daemon page is
// pre-filled with A's listeners and URL (no loopback warning), the passphrase is stored in B's data
// directory for unattended start, and B's signetd.toml carries A's settings with B's paths. The
// setup's own check passes, and so does the real `signetd --check` on what was written.
void SetupWizardTest::restoreJourneyCarriesTheInstallationAndPassesTheCheck() {
  signet::test::TempDir tmp;
  const fs::path a = tmp / "server-a";
  const fs::path b = tmp / "server-b";
  const fs::path backup_file = tmp / "server-a.backup";

  // Server A.
  (void)signet::keystore::KeyStore::create(a, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());
  const fs::path a_passphrase = tmp / "a-passphrase";
  {
    std::ofstream out(a_passphrase);
    out << kPassphrase << "\n";
  }
  fs::permissions(a_passphrase, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  signet::setup::SetupPlan plan_a;
  plan_a.mode = signet::setup::SetupMode::NewKey;
  plan_a.data_dir = a;
  plan_a.key_name = "root-a";
  plan_a.identity.common_name = "Wizard Journey Root CA";
  plan_a.identity.organization = "Example Corp";
  plan_a.identity.country = "DE";
  plan_a.daemon.https_port = free_port();
  plan_a.daemon.http_port = free_port();
  while (plan_a.daemon.http_port == plan_a.daemon.https_port) plan_a.daemon.http_port = free_port();
  plan_a.daemon.tls_names = {"ca.wizard.test", "127.0.0.1"};
  plan_a.daemon.public_base_url = "http://ca.wizard.test:" + std::to_string(plan_a.daemon.http_port);
  plan_a.passphrase_source = signet::setup::PassphraseSource::OperatorFile;
  plan_a.passphrase_file = a_passphrase;
  const signet::setup::SetupResult result_a =
      signet::setup::apply(plan_a, signet::setup::SetupSecrets{pass(kPassphrase), std::nullopt});
  QVERIFY2(result_a.check_passed, result_a.check_message.c_str());
  const fs::path a_config = signet::setup::InstallationFiles::in(a).configuration;
  {
    std::ofstream out(a_config, std::ios::app);
    out << "\n[log]\nlevel = \"warn\"\n"
        << "\n[profiles.web-short]\nmax_validity = \"7d\"\ndefault_validity = \"7d\"\n"
        << "dns_suffixes = [\"example.test\"]\nkey_usage = [\"digitalSignature\"]\n"
        << "extended_key_usage = [\"serverAuth\"]\n";
  }
  {
    const signet::daemon::Config config_a = signet::daemon::load_config(a_config);  // A's own file reads
    QCOMPARE(config_a.log_level, std::string("warn"));
    QVERIFY(config_a.profiles.count("web-short") == 1);
    signet::keystore::KeyStore store = signet::keystore::KeyStore::open(a, pass(kPassphrase));
    (void)store.create_backup(backup_file, pass(kBackupPassphrase), signet::crypto::ScryptParams::insecure_for_tests(),
                              "test", read_bytes(a_config));
  }
  QVERIFY(!fs::exists(b));

  // Server B, through the wizard.
  SetupWizard w;
  Screenshots shots(w, "restore_journey");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));

  // Welcome: "Restore a backup, then reinstall".
  QRadioButton* restore_choice = nullptr;
  for (QRadioButton* r : w.welcomePage()->findChildren<QRadioButton*>()) {
    if (r->text().startsWith(QStringLiteral("Re&store a backup"))) restore_choice = r;
  }
  QVERIFY(restore_choice != nullptr);
  QTest::mouseClick(restore_choice, Qt::LeftButton, {}, QPoint(8, restore_choice->height() / 2));
  QTRY_VERIFY(restore_choice->isChecked());
  QCOMPARE(w.welcomePage()->mode(), signet::setup::SetupMode::RestoreThenReinstall);
  shots.take();
  verify_words(w);
  verify_unique_mnemonics(w);
  next(w, SetupWizard::KeyStoreId);

  // Key store: B's new data directory, the new store's passphrase twice, then the backup.
  auto* store_page = w.keyStorePage();
  store_page->dataDirEdit()->setText(QString::fromStdString(b.string()));
  QVERIFY(!store_page->storeExists());
  QVERIFY(store_page->confirmEdit()->isVisible());
  QVERIFY(!store_page->unlockButton()->isVisible());
  QVERIFY2(store_page->storeStateLabel()->text().contains(QStringLiteral("a new one will be created")),
           qPrintable(store_page->storeStateLabel()->text()));
  store_page->passphraseEdit()->setText(QString::fromUtf8(kPassphrase));
  store_page->confirmEdit()->setText(QString::fromUtf8(kPassphrase));
  QVERIFY2(!store_page->problemLabel()->text().contains(QStringLiteral("passphrase")),
           qPrintable(store_page->problemLabel()->text()));
  QVERIFY(!forward(w)->isEnabled());  // the backup is not opened yet
  open_backup(w, backup_file, kBackupPassphrase);
  QVERIFY2(store_page->problemLabel()->isHidden(), qPrintable(store_page->problemLabel()->text()));
  QVERIFY2(store_page->backupOpened(), qPrintable(store_page->backupStatusLabel()->text()));
  QVERIFY2(store_page->backupStatusLabel()->text().contains(QStringLiteral("1 key entry, which passed the integrity check")),
           qPrintable(store_page->backupStatusLabel()->text()));
  QVERIFY2(!store_page->backupStatusLabel()->text().contains(QStringLiteral("of them")),
           qPrintable(store_page->backupStatusLabel()->text()));
  QVERIFY(store_page->backupContents().installation.configuration.has_value());
  QVERIFY(forward(w)->isEnabled());
  QVERIFY(!fs::exists(b));  // nothing written before the commit page
  shots.take();
  verify_words(w);
  verify_unique_mnemonics(w);
  next(w, SetupWizard::KeyId);

  // Key: A's CA key, chosen in the picker.
  auto* key_page = w.keyPage();
  QTRY_VERIFY_WITH_TIMEOUT(key_page->checked(), kCheckTimeoutMs);
  QCOMPARE(key_page->pickerModel()->names(), std::vector<std::string>{"root-a"});
  QVERIFY(!forward(w)->isEnabled());
  const int row = key_page->pickerModel()->rowOf("root-a");
  QVERIFY(row >= 0);
  const QRect rect = key_page->pickerView()->visualRect(key_page->pickerModel()->index(row, 0));
  QTest::mouseClick(key_page->pickerView()->viewport(), Qt::LeftButton, {}, rect.center());
  QTRY_VERIFY(forward(w)->isEnabled());
  QCOMPARE(w.plan().key_name, std::string("root-a"));
  QVERIFY(key_page->keepCertificateBox()->isChecked());
  QCOMPARE(w.plan().mode, signet::setup::SetupMode::RestoreThenReinstall);
  QVERIFY(!w.plan().replace_ca_certificate);
  shots.take();
  verify_words(w);
  verify_unique_mnemonics(w);
  next(w, SetupWizard::IdentityId);

  // Identity: A's, from the kept certificate.
  QCOMPARE(w.identityPage()->commonNameEdit()->text(), QStringLiteral("Wizard Journey Root CA"));
  QCOMPARE(w.identityPage()->organizationEdit()->text(), QStringLiteral("Example Corp"));
  QCOMPARE(w.identityPage()->countryEdit()->text(), QStringLiteral("DE"));
  QVERIFY(w.identityPage()->commonNameEdit()->isReadOnly());
  shots.take();
  verify_words(w);
  verify_unique_mnemonics(w);
  next(w, SetupWizard::ValidityId);
  shots.take();
  verify_words(w);
  verify_unique_mnemonics(w);
  next(w, SetupWizard::DaemonId);

  // Daemon: pre-filled with A's listeners, names and public base URL; no loopback warning.
  auto* daemon = w.daemonPage();
  QCOMPARE(daemon->httpsAddressEdit()->text(), QStringLiteral("127.0.0.1"));
  QCOMPARE(daemon->httpsPortSpin()->value(), int(plan_a.daemon.https_port));
  QCOMPARE(daemon->httpAddressEdit()->text(), QStringLiteral("127.0.0.1"));
  QCOMPARE(daemon->httpPortSpin()->value(), int(plan_a.daemon.http_port));
  QCOMPARE(daemon->tlsNamesEdit()->text(), QStringLiteral("ca.wizard.test, 127.0.0.1"));
  QCOMPARE(daemon->publicBaseUrlEdit()->text(), QString::fromStdString(plan_a.daemon.public_base_url));
  QVERIFY(w.plan().daemon == plan_a.daemon);
  QVERIFY(daemon->loopbackWarning()->isHidden());
  // B holds no configuration yet: there is nothing to replace, and these settings are written.
  QVERIFY(daemon->replaceConfigurationBox()->isHidden());
  // How signetd gets the passphrase: a file in B's data directory, for unattended start.
  QRadioButton* stored = daemon->storedFileButton();
  QVERIFY(stored->text().contains(QString::fromStdString((b / "passphrase").string())));
  QTest::mouseClick(stored, Qt::LeftButton, {}, QPoint(8, stored->height() / 2));
  QTRY_VERIFY(stored->isChecked());
  QCOMPARE(w.plan().passphrase_source, signet::setup::PassphraseSource::StoredFile);
  QVERIFY(w.plan().passphrase_file.empty());
  QVERIFY2(daemon->problemLabel()->isHidden(), qPrintable(daemon->problemLabel()->text()));
  shots.take();
  verify_words(w);
  verify_unique_mnemonics(w);
  next(w, SetupWizard::SummaryId);

  // Summary: A's URL, no loopback warning, the stored passphrase.
  const QString summary = w.summaryPage()->summaryView()->toPlainText();
  QVERIFY2(summary.contains(QString::fromStdString(plan_a.daemon.public_base_url)), qPrintable(summary));
  QVERIFY2(summary.contains(QStringLiteral("127.0.0.1:%1").arg(plan_a.daemon.https_port)), qPrintable(summary));
  QVERIFY2(summary.contains(QStringLiteral("127.0.0.1:%1").arg(plan_a.daemon.http_port)), qPrintable(summary));
  QVERIFY2(!summary.contains(QStringLiteral("loopback")), qPrintable(summary));
  QVERIFY2(summary.contains(QStringLiteral("stored in ") + QString::fromStdString((b / "passphrase").string())),
           qPrintable(summary));
  QVERIFY2(summary.contains(QString::fromStdString(backup_file.string())), qPrintable(summary));
  QVERIFY2(summary.contains(QStringLiteral("CN=Wizard Journey Root CA,O=Example Corp,C=DE")), qPrintable(summary));
  QVERIFY2(summary.contains(QStringLiteral("1 valid key: \"root-a\", with its certificates")), qPrintable(summary));
  QVERIFY2(summary.contains(QStringLiteral("Configuration")) &&
               summary.contains(QStringLiteral("the backup's signetd.toml (profiles, CRL, OCSP, server and log settings)")),
           qPrintable(summary));
  shots.take();
  verify_words(w);
  verify_unique_mnemonics(w);

  // Commit.
  QSignalSpy finished(w.applyPage(), &signet::gui::ApplyPage::finished);
  next(w, SetupWizard::ApplyId);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kApplyTimeoutMs);
  QVERIFY2(w.applyPage()->succeeded(), qPrintable(w.applyPage()->errorLabel()->text()));
  shots.take();
  verify_words(w);
  next(w, SetupWizard::FinishId);
  shots.take();
  verify_words(w);

  // The finish page: the check passed, and says so.
  QVERIFY(w.result().has_value());
  const signet::setup::SetupResult& result = *w.result();
  QVERIFY2(result.check_passed, result.check_message.c_str());
  const QString report = w.finishPage()->reportView()->toPlainText();
  QVERIFY2(report.contains(QStringLiteral("signetd --check passes")), qPrintable(report));
  QVERIFY2(!report.contains(QStringLiteral("would refuse to start")), qPrintable(report));
  QCOMPARE(w.finishPage()->subTitle(), QStringLiteral("The CA is installed."));
  const fs::path b_config = signet::setup::InstallationFiles::in(b).configuration;
  QVERIFY2(report.contains(QStringLiteral("--config ") + QString::fromStdString(b_config.string())), qPrintable(report));
  QVERIFY2(report.contains(QString::fromStdString(plan_a.daemon.public_base_url)), qPrintable(report));
  QVERIFY2(report.contains(QStringLiteral("Store passphrase, for unattended start: ") +
                           QString::fromStdString((b / "passphrase").string())),
           qPrintable(report));

  // B's signetd.toml: A's URL, ports, names, [log] and profile; B's paths.
  const signet::daemon::Config config = signet::daemon::load_config(b_config);
  QCOMPARE(config.base_url, plan_a.daemon.public_base_url);
  QCOMPARE(config.https_address, std::string("127.0.0.1"));
  QCOMPARE(config.https_port, plan_a.daemon.https_port);
  QCOMPARE(config.http_address, std::string("127.0.0.1"));
  QCOMPARE(config.http_port, plan_a.daemon.http_port);
  QCOMPARE(config.log_level, std::string("warn"));
  QVERIFY(config.profiles.count("web-short") == 1);
  const signet::issuance::Profile& web_short = config.profiles.at("web-short");
  QVERIFY(web_short.max_validity == std::chrono::hours(24 * 7));
  QVERIFY(web_short.default_validity == std::chrono::hours(24 * 7));
  QCOMPARE(web_short.dns_suffixes, std::vector<std::string>{"example.test"});
  QCOMPARE(web_short.extended_key_usages, std::vector<std::string>{"serverAuth"});
  QCOMPARE(config.ca_key, std::string("root-a"));
  QCOMPARE(config.data_dir, b);
  QCOMPARE(config.passphrase_file, b / "passphrase");
  QCOMPARE(config.tls_certificate, signet::setup::InstallationFiles::in(b).tls_certificate);
  QCOMPARE(config.tls_key, signet::setup::InstallationFiles::in(b).tls_key);
  const std::string b_text = read_bytes(b_config);
  QVERIFY2(b_text.find(a.string()) == std::string::npos, b_text.c_str());  // none of A's paths
  QVERIFY2(b_text.find(a_passphrase.string()) == std::string::npos, b_text.c_str());

  // B/passphrase: the store passphrase, mode 0600.
  const fs::path b_passphrase = b / "passphrase";
  QVERIFY(fs::is_regular_file(b_passphrase));
  QCOMPARE(fs::status(b_passphrase).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  QCOMPARE(read_bytes(b_passphrase), std::string(kPassphrase) + "\n");

  // The real signetd agrees.
  const auto [status, output] = run_program({SIGNETD_PATH, "--config", b_config.string(), "--check"}, tmp / "signetd-check.out");
  QVERIFY2(WIFEXITED(status) && WEXITSTATUS(status) == 0, output.c_str());
}

// ACME: off by default; checked on the daemon page, its validation port (80) and resolver show,
// a bad resolver is named on the page, and the written signetd.toml enables it (the real signetd
// --check accepts it); the summary and the finish page show the directory URL.
void SetupWizardTest::acmeIsTurnedOnOnTheDaemonPageAndShownOnTheFinishPage() {
  signet::test::TempDir tmp;
  const fs::path dir = tmp / "ca";
  (void)signet::keystore::KeyStore::create(dir, pass(kPassphrase), signet::crypto::ScryptParams::insecure_for_tests());

  SetupWizard w;
  Screenshots shots(w, "acme");
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  next(w, SetupWizard::KeyStoreId);
  unlock_store(w, dir, kPassphrase);
  next(w, SetupWizard::KeyId);
  w.keyPage()->keyNameEdit()->setText(QStringLiteral("root"));
  next(w, SetupWizard::IdentityId);
  w.identityPage()->commonNameEdit()->setText(QStringLiteral("Signet ACME Test CA"));
  next(w, SetupWizard::ValidityId);
  next(w, SetupWizard::DaemonId);

  auto* daemon = w.daemonPage();
  set_free_ports(w);
  daemon->tlsNamesEdit()->setText(QStringLiteral("ca.example.test, 127.0.0.1"));
  // Off by default, its fields hidden.
  QVERIFY(daemon->acmeBox()->isVisible());
  QVERIFY(!daemon->acmeBox()->isChecked());
  QVERIFY(daemon->acmeFields()->isHidden());
  QVERIFY(!w.plan().daemon.acme.enabled);
  QVERIFY(daemon->acmeBox()->text().remove(QLatin1Char('&')).contains(
      QStringLiteral("Let ACME clients (certbot, lego, ...) request certificates")));
  shots.take("-acme-off");

  // On the box itself (the widget spans the page; its middle is past the text).
  QTest::mouseClick(daemon->acmeBox(), Qt::LeftButton, Qt::NoModifier, QPoint(8, daemon->acmeBox()->height() / 2));
  QVERIFY(daemon->acmeBox()->isChecked());
  QVERIFY(w.plan().daemon.acme.enabled);
  QVERIFY(daemon->acmeFields()->isVisible());
  QCOMPARE(daemon->http01PortSpin()->value(), 80);
  QCOMPARE(w.plan().daemon.acme.http01_port, std::uint16_t{80});
  const QString url = QStringLiteral("https://ca.example.test:%1/acme/directory").arg(w.plan().daemon.https_port);
  QVERIFY2(daemon->acmeDirectoryLabel()->text().contains(url), qPrintable(daemon->acmeDirectoryLabel()->text()));

  // A host name is no resolver: said on this page, and Next does nothing.
  daemon->resolverEdit()->setText(QStringLiteral("dns.example.test"));
  QVERIFY(daemon->problemLabel()->isVisible());
  QVERIFY2(daemon->problemLabel()->text().contains(QStringLiteral("\"dns.example.test\" is not an IP address")),
           qPrintable(daemon->problemLabel()->text()));
  QVERIFY(!forward(w)->isEnabled());
  shots.take("-bad-resolver");
  daemon->resolverEdit()->setText(QStringLiteral("127.0.0.1:8053"));
  daemon->http01PortSpin()->setValue(8080);
  QVERIFY2(daemon->problemLabel()->isHidden(), qPrintable(daemon->problemLabel()->text()));
  QCOMPARE(w.plan().daemon.acme.resolver, std::string("127.0.0.1:8053"));
  QCOMPARE(w.plan().daemon.acme.http01_port, std::uint16_t{8080});
  // So that the real signetd --check can read the passphrase.
  daemon->storedFileButton()->setChecked(true);
  shots.take("-acme-on");
  verify_unique_mnemonics(w);
  verify_fits_screen(w);

  next(w, SetupWizard::SummaryId);
  const QString summary = w.summaryPage()->summaryView()->toPlainText();
  QVERIFY2(summary.contains(QStringLiteral("on, at ") + url), qPrintable(summary));
  QVERIFY2(summary.contains(QStringLiteral("port 8080")), qPrintable(summary));
  shots.take();
  next(w, SetupWizard::ApplyId);
  QTRY_VERIFY_WITH_TIMEOUT(!w.applyPage()->running(), kApplyTimeoutMs);
  QVERIFY2(w.applyPage()->succeeded(), qPrintable(w.applyPage()->errorLabel()->text()));
  next(w, SetupWizard::FinishId);
  shots.take();
  // The ACME section is at the end of the report.
  QScrollBar* scroll = w.finishPage()->reportView()->verticalScrollBar();
  scroll->setValue(scroll->maximum());
  shots.take("-end");
  verify_words(w);

  // The finish page: the directory URL and how certbot and lego use it.
  const QString report = w.finishPage()->reportView()->toPlainText();
  QVERIFY2(report.contains(url), qPrintable(report));
  QVERIFY2(report.contains(QStringLiteral("certbot certonly --standalone --server ") + url), qPrintable(report));
  QVERIFY2(report.contains(QStringLiteral("lego --server ") + url), qPrintable(report));

  // signetd.toml: [acme] with enabled = true and the page's values; signetd loads it.
  const signet::setup::InstallationFiles f = signet::setup::InstallationFiles::in(dir);
  const std::string text = read_bytes(f.configuration);
  QVERIFY2(text.find("[acme]") != std::string::npos, text.c_str());
  QVERIFY2(text.find("enabled = true") != std::string::npos, text.c_str());
  const signet::daemon::Config config = signet::daemon::load_config(f.configuration);
  QVERIFY(config.acme_enabled);
  QCOMPARE(config.acme_http01_port, std::uint16_t{8080});
  QCOMPARE(config.acme_resolver, std::string("127.0.0.1:8053"));
  const auto [status, output] = run_program({SIGNETD_PATH, "--config", f.configuration.string(), "--check"},
                                            tmp / "signetd-check.out");
  QVERIFY2(WIFEXITED(status) && WEXITSTATUS(status) == 0, output.c_str());
}

// Scaling: at the scale factor of this run (QT_SCALE_FACTOR; CTest runs 1, 1.5 and 2) on a
// 1280x900 screen, the window and its buttons stay on the screen on every page of every mode.
class ScalingTest : public QObject {
  Q_OBJECT

 private slots:
  void everyPageFitsTheScreen() {
    const QRect screen = QGuiApplication::primaryScreen()->geometry();
    const qreal scale = QGuiApplication::primaryScreen()->devicePixelRatio();
    QCOMPARE(qRound(screen.width() * scale), 1280);
    QCOMPARE(qRound(screen.height() * scale), 900);
    signet::test::TempDir tmp;
    const Journeys dirs(tmp.path());
    const QString factor = QString::number(scale);
    for (Journey journey : {Journey::NewInstall, Journey::Reinstall, Journey::Restore, Journey::Subordinate}) {
      SetupWizard w;
      const std::string name = "scale-" + factor.toStdString() + "_" + journey_name(journey);
      Screenshots shots(w, name.c_str());
      w.show();
      QVERIFY(QTest::qWaitForWindowExposed(&w));
      walk(w, journey, dirs, [&] {
        shots.take();
        verify_fits_screen(w);
        if (w.currentId() == SetupWizard::FinishId) {
          // The end of the report too (the new install's ACME directory and client examples).
          QScrollBar* scroll = w.finishPage()->reportView()->verticalScrollBar();
          scroll->setValue(scroll->maximum());
          shots.take("-end");
        }
      });
      if (QTest::currentTestFailed()) {
        qWarning("in journey %s at scale %s", journey_name(journey), qPrintable(factor));
        return;
      }
    }
  }
};

// The picker's model refuses a key that failed the check, whatever the caller does.
class KeyPickerModelTest : public QObject {
  Q_OBJECT

 private slots:
  void refusesAnInvalidKey() {
    signet::gui::KeyPickerModel model;
    signet::gui::PickerKey good;
    good.verdict.name = "good";
    good.verdict.algorithm = "ec-p256";
    good.verdict.fingerprint_hex = std::string(64, 'a');
    signet::gui::PickerKey bad;
    bad.verdict.name = "bad";
    bad.verdict.findings.push_back({signet::keystore::FindingCode::CiphertextAuthFailed,
                                    signet::keystore::Severity::Error, "damaged", "restore it"});
    std::vector<signet::gui::PickerKey> keys;
    keys.push_back(good);
    keys.push_back(bad);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, model.setKeys(std::move(keys)));
    QCOMPARE(model.rowCount(), 0);
    std::vector<signet::gui::PickerKey> only_good;
    only_good.push_back(good);
    model.setKeys(std::move(only_good));
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.data(model.index(0, signet::gui::KeyPickerModel::NameColumn)).toString(), QStringLiteral("good"));
    QCOMPARE(model.rowOf("bad"), -1);
  }

  void showsAnExpiredCertificateAsAWarning() {
    signet::gui::KeyPickerModel model;
    signet::gui::PickerKey key;
    key.verdict.name = "old";
    key.verdict.certificates.push_back({"ca", "CN=Old CA", "CN=Old CA", "01", 0, 86400});
    key.verdict.findings.push_back({signet::keystore::FindingCode::CertificateExpired,
                                    signet::keystore::Severity::Warning, "the certificate expired on 1970-01-02",
                                    "make a new CA certificate"});
    std::vector<signet::gui::PickerKey> keys;
    keys.push_back(key);
    model.setKeys(std::move(keys));
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.data(model.index(0, signet::gui::KeyPickerModel::ExpiresColumn)).toString(), QStringLiteral("1970-01-02"));
    QVERIFY(model.data(model.index(0, signet::gui::KeyPickerModel::NotesColumn))
                .toString()
                .contains(QStringLiteral("the certificate expired on 1970-01-02")));
    QCOMPARE(model.data(model.index(0, signet::gui::KeyPickerModel::SubjectColumn)).toString(), QStringLiteral("CN=Old CA"));
  }
};

// The offscreen platform with one 1280x900 screen (its default is 800x800), the size the wizard
// must fit at scale factors 1, 1.5 and 2. SIGNET_GUI_ONLY=ScalingTest runs only the scaling test
// (CTest runs it again with QT_SCALE_FACTOR=1.5 and 2).
int main(int argc, char** argv) {
  QTemporaryFile screens(QDir::tempPath() + QStringLiteral("/signet-gui-screens-XXXXXX.json"));
  if (!screens.open() ||
      screens.write(R"({"screens": [{"name": "test-screen", "x": 0, "y": 0, "width": 1280, "height": 900,
                     "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]})") < 0 ||
      !screens.flush()) {
    std::fprintf(stderr, "cannot write the offscreen screen configuration\n");
    return 1;
  }
  qputenv("QT_QPA_PLATFORM", ("offscreen:configfile=" + screens.fileName()).toLocal8Bit());
  QApplication app(argc, argv);
  const QString only = qEnvironmentVariable("SIGNET_GUI_ONLY");
  int status = 0;
  const auto run = [&](QObject& t) {
    if (only.isEmpty() || only == QLatin1String(t.metaObject()->className())) status |= QTest::qExec(&t, argc, argv);
  };
  {
    KeyPickerModelTest t;
    run(t);
  }
  {
    SetupWizardTest t;
    run(t);
  }
  {
    ScalingTest t;
    run(t);
  }
  return status;
}

#include "setup_wizard_test.moc"
