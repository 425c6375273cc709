// KeyStorePage: where the CA lives (SetupPlan::data_dir) and the key store's passphrase. An
// existing store is unlocked here, off the GUI thread, so that a wrong passphrase is reported on
// this page (nothing is written); a new store is created by apply() with the passphrase given
// twice. In restore mode it also asks for the backup file and its passphrase, and opens the
// backup (OpenedBackup::open, off the GUI thread, into a private scratch directory that is removed
// again) so that a wrong passphrase or a file that is no backup is reported on this page, with
// nothing written; the backup's entries and their integrity verdicts feed the key page's picker.
// Thread-safety: GUI thread only.
#pragma once

#include <QFutureWatcher>
#include <QWizardPage>
#include <string>
#include <vector>

#include "key_picker_model.h"

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
  // certificates) and every other entry with its verdict.
  struct BackupContents {
    std::vector<PickerKey> offered;
    std::vector<keystore::KeyVerdict> excluded;
  };
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
    std::size_t key_count = 0;
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

  SetupWizard* wizard_;
  QLineEdit* data_dir_;
  QLabel* store_state_;
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
