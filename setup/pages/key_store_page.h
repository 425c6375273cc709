// KeyStorePage: where the CA lives (SetupPlan::data_dir) and the key store's passphrase. An
// existing store is unlocked here (setup::inspect_store, read-only, off the GUI thread), so that a
// wrong passphrase is reported on this page (nothing is written); a new store is created by apply()
// with the passphrase given twice. It says what is installed in the directory
// (setup::installed_ca), and a new CA replaces it only when "Replace the installed CA" is ticked
// (SetupPlan::replace_installation). In restore mode it also asks for the backup file and its
// passphrase, and opens the backup (setup::inspect_backup, off the GUI thread, in a private
// scratch directory) so that a wrong passphrase or a file that is no backup is reported on this
// page, with nothing written; the backup's entries and their verdicts feed the key page's picker,
// its installation the daemon page.
// Thread-safety: GUI thread only.
#pragma once

#include <QFutureWatcher>
#include <QWizardPage>
#include <optional>
#include <string>
#include <vector>

#include "key_picker_model.h"
#include "signet/setup/inspect.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace signet::gui {

class SetupWizard;

class KeyStorePage : public QWizardPage {
  Q_OBJECT

 public:
  explicit KeyStorePage(SetupWizard* wizard);
  ~KeyStorePage() override;

  [[nodiscard]] QLineEdit* dataDirEdit() const noexcept { return data_dir_; }
  [[nodiscard]] QLineEdit* passphraseEdit() const noexcept { return passphrase_; }
  [[nodiscard]] QLineEdit* confirmEdit() const noexcept { return confirm_; }
  [[nodiscard]] QLineEdit* backupFileEdit() const noexcept { return backup_file_; }
  [[nodiscard]] QLineEdit* backupPassphraseEdit() const noexcept { return backup_passphrase_; }
  [[nodiscard]] QPushButton* unlockButton() const noexcept { return unlock_; }
  [[nodiscard]] QPushButton* openBackupButton() const noexcept { return open_backup_; }
  // What the last attempt to open the backup said (its error, or what the backup holds).
  [[nodiscard]] QLabel* backupStatusLabel() const noexcept { return backup_status_; }
  // What the last unlock attempt said (its error, or how many keys the store holds).
  [[nodiscard]] QLabel* statusLabel() const noexcept { return status_; }
  [[nodiscard]] QLabel* problemLabel() const noexcept { return problems_; }

  // True when a store exists in the data directory (it is unlocked, not created).
  [[nodiscard]] bool storeExists() const;
  // True when the mode reuses a key from a store that must already exist (a reinstall): without
  // one the page says so and Next stays disabled.
  [[nodiscard]] bool needsExistingStore() const;
  // What the page says about the data directory (a store exists, will be created, or is missing).
  [[nodiscard]] QLabel* storeStateLabel() const noexcept { return store_state_; }
  [[nodiscard]] bool unlocked() const noexcept { return unlocked_; }
  // True from unlock() until its outcome is shown.
  [[nodiscard]] bool busy() const noexcept { return busy_; }
  // Starts unlocking the store in the background; statusLabel() and unlocked() tell the outcome.
  void unlock();

  // What an opened backup holds: the entries that passed the integrity check (with their CA
  // certificates), every other entry with its verdict, and the installation it carries.
  using BackupContents = setup::BackupContents;
  // What the unlocked store holds (empty until unlocked).
  [[nodiscard]] const setup::StoreContents& storeContents() const noexcept { return store_contents_; }
  // What is installed in the data directory (ca.pem, signetd.toml); std::nullopt when nothing.
  [[nodiscard]] const std::optional<setup::InstalledCa>& installedCa() const noexcept { return installed_; }
  // "Installed here: ..." (hidden when nothing is installed).
  [[nodiscard]] QLabel* installedLabel() const noexcept { return installed_label_; }
  // "Replace the installed CA ...": shown when this mode would make a new CA over an installed one.
  [[nodiscard]] QCheckBox* replaceInstalledBox() const noexcept { return replace_installed_; }
  // True when the backup named on this page was opened with the passphrase given here.
  [[nodiscard]] bool backupOpened() const noexcept { return backup_opened_; }
  // True from openBackup() until its outcome is shown.
  [[nodiscard]] bool backupBusy() const noexcept { return backup_busy_; }
  // Starts opening and checking the backup in the background; backupStatusLabel() and
  // backupOpened() tell the outcome.
  void openBackup();
  // The contents of the backup last opened successfully (empty until then).
  [[nodiscard]] const BackupContents& backupContents() const noexcept { return backup_contents_; }

  void initializePage() override;
  [[nodiscard]] bool isComplete() const override;
  bool validatePage() override;

 private:
  struct Outcome {
    bool ok = false;
    setup::StoreContents contents;
    std::string message;
  };
  struct BackupOutcome {
    bool ok = false;
    std::string message;
    BackupContents contents;
  };
  void refresh();
  void unlockFinished();
  void backupFinished();
  void backupChanged();
  // Reads what is installed in the data directory when it changed.
  void updateInstalled();
  // True when this mode makes a new CA that would replace an installed one.
  [[nodiscard]] bool replacesInstalled() const;

  SetupWizard* wizard_;
  QLineEdit* data_dir_;
  QLabel* store_state_;
  QLabel* installed_label_;
  QCheckBox* replace_installed_;
  std::optional<setup::InstalledCa> installed_;
  QString installed_for_;  // the directory installed_ describes
  setup::StoreContents store_contents_;
  QLineEdit* passphrase_;
  QLabel* confirm_label_;
  QLineEdit* confirm_;
  QPushButton* unlock_;
  QLabel* status_;
  QLabel* backup_file_label_;
  QLineEdit* backup_file_;
  QPushButton* browse_backup_;
  QLabel* backup_passphrase_label_;
  QLineEdit* backup_passphrase_;
  QPushButton* open_backup_;
  QLabel* backup_status_;
  QLabel* problems_;
  QFutureWatcher<Outcome> watcher_;
  QFutureWatcher<BackupOutcome> backup_watcher_;
  BackupContents backup_contents_;
  bool unlocked_ = false;
  bool busy_ = false;
  bool backup_opened_ = false;
  bool backup_busy_ = false;
  bool backup_stale_ = false;  // the file or passphrase changed while the backup was being opened
};

}  // namespace signet::gui
