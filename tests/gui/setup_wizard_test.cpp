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
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "key_picker_model.h"
#include "pages/apply_page.h"
#include "pages/daemon_page.h"
#include "pages/finish_page.h"
#include "pages/identity_page.h"
#include "pages/key_page.h"
#include "pages/key_store_page.h"
#include "pages/summary_page.h"
#include "pages/validity_page.h"
#include "pages/welcome_page.h"
#include "setup_wizard.h"
#include "signet/keystore/store.h"
#include "signet/setup/engine.h"
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
  QTest::mouseClick(page->unlockButton(), Qt::LeftButton);
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
  const QString count = QString::number(excluded_expected.size()) + QStringLiteral(" entries are not offered");
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
      QVERIFY2(details.contains(QString::fromStdString(f.message)), f.message.c_str());
      QVERIFY2(details.contains(QString::fromStdString(f.fix)), f.fix.c_str());
    }
  }
}

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
  QVERIFY(w.keyStorePage()->unlocked());
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
  QCOMPARE(dir_entries(dir), entries_before);

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
  QVERIFY(QApplication::focusWidget()->parentWidget() == store);
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

int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  int status = 0;
  {
    KeyPickerModelTest t;
    status |= QTest::qExec(&t, argc, argv);
  }
  {
    SetupWizardTest t;
    status |= QTest::qExec(&t, argc, argv);
  }
  return status;
}

#include "setup_wizard_test.moc"
