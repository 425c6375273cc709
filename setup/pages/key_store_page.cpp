#include "pages/key_store_page.h"

#include <QCheckBox>
#include <QDateTime>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <type_traits>

#include "pages/page_support.h"
#include "setup_wizard.h"
#include "signet/keystore/store.h"
#include "signet/setup/inspect.h"

namespace signet::gui {
namespace {

// Shows or hides a form row by its widgets. Not QFormLayout::setRowVisible(): with a row hidden that
// way, Qt 6.4's QFormLayout writes past the end of its row table while it lays out a form holding
// word-wrapped labels (height for width), which corrupted the heap and crashed the wizard now and
// then (found with valgrind on the GUI test). A form row whose widgets are all hidden takes no room.
void showRow(std::initializer_list<QWidget*> widgets, bool on) {
  for (QWidget* w : widgets) w->setVisible(on);
}

}  // namespace

KeyStorePage::KeyStorePage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("Key store"));
  setSubTitle(tr("The data directory holds the encrypted key store (signet.db), the CA certificate and the "
                 "daemon's configuration."));

  data_dir_ = new QLineEdit(this);
  auto* browse = new QPushButton(tr("Bro&wse…"), this);
  auto* dir_row = new QHBoxLayout;
  dir_row->addWidget(data_dir_);
  dir_row->addWidget(browse);
  store_state_ = new QLabel(this);
  store_state_->setWordWrap(true);
  store_state_->setTextFormat(Qt::PlainText);
  installed_label_ = new QLabel(this);
  installed_label_->setWordWrap(true);
  installed_label_->setTextFormat(Qt::PlainText);
  installed_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  installed_label_->setVisible(false);
  replace_installed_ = new QCheckBox(tr("Replace the &installed CA with the new one (its files are kept)"), this);
  replace_installed_->setVisible(false);

  passphrase_ = new QLineEdit(this);
  passphrase_->setEchoMode(QLineEdit::Password);
  confirm_label_ = new QLabel(tr("&Repeat passphrase:"), this);
  confirm_ = new QLineEdit(this);
  confirm_->setEchoMode(QLineEdit::Password);
  confirm_label_->setBuddy(confirm_);
  unlock_ = new QPushButton(tr("&Unlock"), this);
  auto* pass_row = new QHBoxLayout;
  pass_row->addWidget(passphrase_);
  pass_row->addWidget(unlock_);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  status_->setTextFormat(Qt::PlainText);

  backup_file_label_ = new QLabel(tr("Bac&kup file:"), this);
  backup_file_ = new QLineEdit(this);
  backup_file_label_->setBuddy(backup_file_);
  browse_backup_ = new QPushButton(tr("Brows&e…"), this);
  auto* backup_row = new QHBoxLayout;
  backup_row->addWidget(backup_file_);
  backup_row->addWidget(browse_backup_);
  backup_passphrase_label_ = new QLabel(tr("Backup pa&ssphrase:"), this);
  backup_passphrase_ = new QLineEdit(this);
  backup_passphrase_->setEchoMode(QLineEdit::Password);
  backup_passphrase_label_->setBuddy(backup_passphrase_);
  open_backup_ = new QPushButton(tr("&Open backup"), this);
  auto* backup_pass_row = new QHBoxLayout;
  backup_pass_row->addWidget(backup_passphrase_);
  backup_pass_row->addWidget(open_backup_);
  backup_status_ = new QLabel(this);
  backup_status_->setWordWrap(true);
  backup_status_->setTextFormat(Qt::PlainText);
  backup_status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  // A form row can be taller than its wrapped text: keep the message next to the field it is about.
  backup_status_->setAlignment(Qt::AlignLeft | Qt::AlignTop);
  problems_ = makeProblemLabel(this);

  // A grid, not a QFormLayout: with several of its rows hidden (reinstall: no new store, no backup),
  // Qt 6.4's QFormLayout::heightForWidth wrote past the end of its row table (valgrind), and a
  // label appearing in it squeezed the passphrase row to nothing. A grid row whose widgets are all
  // hidden takes no room.
  auto* form = new QGridLayout;
  form->setColumnStretch(1, 1);
  int row = 0;
  const auto add = [form, &row](QWidget* label, auto* field) {
    if (label != nullptr) form->addWidget(label, row, 0, Qt::AlignLeft | Qt::AlignVCenter);
    if constexpr (std::is_base_of_v<QLayout, std::remove_pointer_t<decltype(field)>>) {
      form->addLayout(field, row, 1);
    } else {
      form->addWidget(field, row, 1);
    }
    ++row;
  };
  auto* dir_label = new QLabel(tr("&Data directory:"), this);
  dir_label->setBuddy(data_dir_);
  add(dir_label, dir_row);
  add(nullptr, store_state_);
  auto* pass_label = new QLabel(tr("Store &passphrase:"), this);
  pass_label->setBuddy(passphrase_);
  add(pass_label, pass_row);
  add(confirm_label_, confirm_);
  add(nullptr, status_);
  add(backup_file_label_, backup_row);
  add(backup_passphrase_label_, backup_pass_row);
  add(nullptr, backup_status_);
  auto* layout = scrollingPageLayout(this);
  layout->addLayout(form);
  // Outside the form: inside it, Qt 6.4's QFormLayout squeezed the passphrase row to nothing when
  // this label appeared (the Unlock button could not be clicked).
  layout->addWidget(installed_label_);
  layout->addWidget(replace_installed_);
  layout->addWidget(problems_);
  layout->addStretch();

  setTabOrder(data_dir_, browse);
  setTabOrder(browse, replace_installed_);
  setTabOrder(replace_installed_, passphrase_);
  setTabOrder(passphrase_, unlock_);
  setTabOrder(unlock_, confirm_);
  setTabOrder(confirm_, backup_file_);
  setTabOrder(backup_file_, browse_backup_);
  setTabOrder(browse_backup_, backup_passphrase_);
  setTabOrder(backup_passphrase_, open_backup_);

  connect(browse, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Data directory"), data_dir_->text());
    if (!dir.isEmpty()) data_dir_->setText(dir);
  });
  connect(browse_backup_, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getOpenFileName(this, tr("Backup file"), backup_file_->text());
    if (!file.isEmpty()) backup_file_->setText(file);
  });
  const auto changed = [this] {
    unlocked_ = false;
    store_contents_ = {};
    status_->clear();
    refresh();
  };
  connect(data_dir_, &QLineEdit::textChanged, this, changed);
  connect(passphrase_, &QLineEdit::textChanged, this, changed);
  connect(confirm_, &QLineEdit::textChanged, this, [this] { refresh(); });
  connect(backup_file_, &QLineEdit::textChanged, this, &KeyStorePage::backupChanged);
  connect(backup_passphrase_, &QLineEdit::textChanged, this, &KeyStorePage::backupChanged);
  connect(unlock_, &QPushButton::clicked, this, &KeyStorePage::unlock);
  connect(replace_installed_, &QCheckBox::toggled, this, [this] { refresh(); });
  connect(open_backup_, &QPushButton::clicked, this, &KeyStorePage::openBackup);
  connect(backup_passphrase_, &QLineEdit::returnPressed, this, [this] {
    if (!backup_opened_) openBackup();
  });
  connect(passphrase_, &QLineEdit::returnPressed, this, [this] {
    if (storeExists() && !unlocked_) unlock();
  });
  connect(&watcher_, &QFutureWatcher<Outcome>::finished, this, &KeyStorePage::unlockFinished);
  connect(&backup_watcher_, &QFutureWatcher<BackupOutcome>::finished, this, &KeyStorePage::backupFinished);
}

KeyStorePage::~KeyStorePage() {
  watcher_.waitForFinished();
  backup_watcher_.waitForFinished();
}

void KeyStorePage::updateInstalled() {
  const QString dir = data_dir_->text().trimmed();
  if (dir == installed_for_) return;
  installed_for_ = dir;
  // Two small files, read without any passphrase.
  installed_ = dir.isEmpty() ? std::nullopt : setup::installed_ca(fromQ(dir));
  {
    const QSignalBlocker block(replace_installed_);
    replace_installed_->setChecked(false);  // a confirmation is for the CA it names
  }
  if (!installed_) {
    installed_label_->clear();
    installed_label_->setVisible(false);
    return;
  }
  const setup::InstalledCa& ca = *installed_;
  QStringList parts;
  parts << (ca.subject.empty() ? tr("a CA whose certificate (ca.pem) cannot be read") : tr("the CA %1").arg(toQ(ca.subject)));
  if (!ca.key_name.empty()) parts << tr("its key \"%1\"").arg(toQ(ca.key_name));
  if (!ca.fingerprint_hex.empty()) {
    // In groups of 16 hex digits, so that the line can wrap on a narrow window.
    QStringList groups;
    for (qsizetype i = 0; i < static_cast<qsizetype>(ca.fingerprint_hex.size()); i += 16) {
      groups << toQ(ca.fingerprint_hex.substr(static_cast<std::size_t>(i), 16));
    }
    parts << tr("key fingerprint SHA256:%1").arg(groups.join(QLatin1Char(' ')));
  }
  if (ca.not_after != decltype(ca.not_after){}) {
    parts << tr("valid until %1")
                 .arg(QDateTime::fromSecsSinceEpoch(
                          std::chrono::duration_cast<std::chrono::seconds>(ca.not_after.time_since_epoch()).count(), Qt::UTC)
                          .toString(QStringLiteral("yyyy-MM-dd")));
  }
  installed_label_->setText(tr("Installed here: %1.").arg(parts.join(QStringLiteral(", "))));
  installed_label_->setVisible(true);
  // The label above names it; a check box does not wrap, so its own text stays short.
  replace_installed_->setText(tr("Replace the &installed CA with the new one (its files are kept)"));
}

bool KeyStorePage::replacesInstalled() const {
  const setup::SetupPlan& plan = wizard_->plan();
  return installed_.has_value() && (plan.mode == setup::SetupMode::NewKey || plan.mode == setup::SetupMode::Subordinate);
}

bool KeyStorePage::needsExistingStore() const {
  const setup::SetupMode mode = wizard_->plan().mode;
  return mode == setup::SetupMode::ExistingKey || mode == setup::SetupMode::ExistingKeyAndCertificate;
}

bool KeyStorePage::storeExists() const {
  std::error_code ec;
  const std::filesystem::path dir = fromQ(data_dir_->text());
  return !dir.empty() && std::filesystem::exists(keystore::KeyStore::database_path(dir), ec);
}

void KeyStorePage::initializePage() {
  const setup::SetupPlan& plan = wizard_->plan();
  const bool restore = plan.mode == setup::SetupMode::RestoreThenReinstall;
  if (data_dir_->text().isEmpty()) data_dir_->setText(QString::fromStdString(plan.data_dir.string()));
  showRow({backup_file_label_, backup_file_, browse_backup_}, restore);
  showRow({backup_passphrase_label_, backup_passphrase_, open_backup_}, restore);
  refresh();
}

void KeyStorePage::refresh() {
  setup::SetupPlan& plan = wizard_->plan();
  plan.data_dir = fromQ(data_dir_->text().trimmed());
  plan.backup_file = fromQ(backup_file_->text().trimmed());
  updateInstalled();
  const bool replacing = replacesInstalled();
  replace_installed_->setVisible(replacing);
  plan.replace_installation = replacing && replace_installed_->isChecked();
  const bool exists = storeExists();
  const bool missing = needsExistingStore() && !exists;
  if (missing) {
    store_state_->setStyleSheet(QStringLiteral("QLabel { color: #b00020; }"));
    store_state_->setText(tr("There is no key store in %1. A reinstall reuses a key from an existing key store: "
                             "choose the directory that holds it (signet.db), or go Back and choose \"Install a "
                             "new CA\".")
                              .arg(data_dir_->text().trimmed()));
  } else {
    store_state_->setStyleSheet(QString());
    store_state_->setText(exists ? tr("A key store exists here: enter its passphrase and press Unlock.")
                                 : tr("There is no key store here yet: a new one will be created, protected by "
                                      "the passphrase you enter twice (at least %1 characters).")
                                       .arg(keystore::kMinPassphraseLength));
  }
  unlock_->setVisible(exists);
  unlock_->setEnabled(exists && !busy() && !passphrase_->text().isEmpty() && !unlocked_);
  showRow({confirm_label_, confirm_}, !exists && !missing);
  // Status lines take room only while they have something to say.
  status_->setVisible(!status_->text().isEmpty());
  backup_status_->setVisible(plan.mode == setup::SetupMode::RestoreThenReinstall && !backup_status_->text().isEmpty());
  open_backup_->setEnabled(!backup_busy_ && !backup_opened_ && !backup_passphrase_->text().isEmpty() &&
                           wizard_->problemsFor({"backup_file"}).isEmpty());

  QStringList problems = wizard_->problemsFor({"data_dir", "backup_file"});
  if (!exists && !missing && !passphrase_->text().isEmpty()) {
    if (static_cast<std::size_t>(passphrase_->text().toUtf8().size()) < keystore::kMinPassphraseLength) {
      problems << tr("the passphrase of a new key store needs at least %1 characters").arg(keystore::kMinPassphraseLength);
    } else if (!confirm_->text().isEmpty() && confirm_->text() != passphrase_->text()) {
      problems << tr("the two passphrases differ");
    }
  }
  showProblems(problems_, problems);
  emit completeChanged();
}

void KeyStorePage::unlock() {
  if (busy() || !storeExists()) return;
  unlocked_ = false;
  status_->setStyleSheet(QString());
  status_->setText(tr("Unlocking the key store…"));
  status_->setVisible(true);
  unlock_->setEnabled(false);
  busy_ = true;
  const std::filesystem::path dir = fromQ(data_dir_->text().trimmed());
  auto pass = std::make_shared<Passphrase>(passphraseOf(passphrase_->text()));
  watcher_.setFuture(QtConcurrent::run([dir, pass]() -> Outcome {
    Outcome out;
    try {
      out.contents = setup::inspect_store(dir, *pass);  // read-only: writes nothing
      out.ok = true;
    } catch (const std::exception& e) {
      out.message = e.what();
    }
    return out;
  }));
  emit completeChanged();
}

void KeyStorePage::unlockFinished() {
  Outcome outcome = watcher_.result();
  busy_ = false;
  unlocked_ = outcome.ok;
  if (outcome.ok) {
    store_contents_ = std::move(outcome.contents);
    const auto entries = static_cast<long long>(store_contents_.offered.size() + store_contents_.excluded.size());
    QString text = tr("Unlocked: the store holds %1.").arg(countOf(entries, tr("key entry"), tr("key entries")));
    if (!store_contents_.quarantined.empty()) {
      text += QLatin1Char(' ') + tr("Its quarantine holds %1 that a restore refused.")
                                     .arg(countOf(static_cast<long long>(store_contents_.quarantined.size()),
                                                  tr("entry"), tr("entries")));
    }
    status_->setStyleSheet(QString());
    status_->setText(text);
  } else {
    status_->setStyleSheet(QStringLiteral("QLabel { color: #b00020; }"));
    status_->setText(tr("Could not unlock the key store: %1").arg(displayText(outcome.message)));
  }
  refresh();
}

void KeyStorePage::backupChanged() {
  // Whatever was opened belongs to the old file or passphrase.
  backup_opened_ = false;
  backup_contents_ = {};
  if (backup_busy_) backup_stale_ = true;
  backup_status_->setStyleSheet(QString());
  backup_status_->clear();
  refresh();
}

void KeyStorePage::openBackup() {
  if (backup_busy_ || backup_passphrase_->text().isEmpty() || !wizard_->problemsFor({"backup_file"}).isEmpty()) return;
  backup_opened_ = false;
  backup_contents_ = {};
  backup_stale_ = false;
  backup_busy_ = true;
  backup_status_->setStyleSheet(QString());
  backup_status_->setText(tr("Opening the backup and checking every entry in it…"));
  const std::filesystem::path file = fromQ(backup_file_->text().trimmed());
  auto pass = std::make_shared<Passphrase>(passphraseOf(backup_passphrase_->text()));
  backup_watcher_.setFuture(QtConcurrent::run([file, pass]() -> BackupOutcome {
    BackupOutcome out;
    try {
      // Opened and checked in a private scratch directory; nothing is written in the data
      // directory. The engine opens the backup again itself when the plan is applied.
      out.contents = setup::inspect_backup(file, *pass);
      out.ok = true;
    } catch (const std::exception& e) {
      out.message = e.what();
    }
    return out;
  }));
  refresh();
}

void KeyStorePage::backupFinished() {
  BackupOutcome outcome = backup_watcher_.result();
  backup_busy_ = false;
  if (backup_stale_) {
    // The file or passphrase changed meanwhile: this outcome answers a question no longer asked.
    backup_stale_ = false;
    backup_status_->clear();
    refresh();
    return;
  }
  backup_opened_ = outcome.ok;
  if (outcome.ok) {
    const int total = static_cast<int>(outcome.contents.offered.size() + outcome.contents.excluded.size());
    backup_status_->setStyleSheet(QString());
    const std::size_t passed = outcome.contents.offered.size();
    const QString held = countOf(total, tr("key entry"), tr("key entries"));
    if (total == 1) {
      backup_status_->setText(passed == 1 ? tr("Opened: the backup holds %1, which passed the integrity check. "
                                               "Choose it as the CA key on the next page.")
                                                .arg(held)
                                          : tr("Opened: the backup holds %1, which failed the integrity check.")
                                                .arg(held));
    } else {
      backup_status_->setText(tr("Opened: the backup holds %1; %2 of them passed the integrity check. Choose the "
                                 "CA key among them on the next page.")
                                  .arg(held)
                                  .arg(passed));
    }
    backup_contents_ = std::move(outcome.contents);
  } else {
    backup_status_->setStyleSheet(QStringLiteral("QLabel { color: #b00020; }"));
    backup_status_->setText(tr("Could not open the backup: %1").arg(displayText(outcome.message)));
  }
  refresh();
}

bool KeyStorePage::isComplete() const {
  if (busy() || !wizard_->problemsFor({"data_dir", "backup_file"}).isEmpty()) return false;
  if (replacesInstalled() && !replace_installed_->isChecked()) return false;
  if (wizard_->plan().mode == setup::SetupMode::RestoreThenReinstall && (backup_busy_ || !backup_opened_)) return false;
  if (storeExists()) return unlocked_;
  if (needsExistingStore()) return false;
  return static_cast<std::size_t>(passphrase_->text().toUtf8().size()) >= keystore::kMinPassphraseLength &&
         confirm_->text() == passphrase_->text();
}

bool KeyStorePage::validatePage() {
  if (!isComplete()) return false;
  wizard_->setStorePassphrase(passphraseOf(passphrase_->text()));
  if (wizard_->plan().mode == setup::SetupMode::RestoreThenReinstall) {
    wizard_->setBackupPassphrase(passphraseOf(backup_passphrase_->text()));
  } else {
    wizard_->setBackupPassphrase(std::nullopt);
  }
  return true;
}

}  // namespace signet::gui
