// KeyStorePage: where the CA lives (SetupPlan::data_dir) and the key store's passphrase. An
// existing store is unlocked here, off the GUI thread, so that a wrong passphrase is reported on
// this page (nothing is written); a new store is created by apply() with the passphrase given
// twice. In restore mode it also asks for the backup file and its passphrase.
// Thread-safety: GUI thread only.
#pragma once

#include <QFutureWatcher>
#include <QWizardPage>
#include <string>

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
  // What the last unlock attempt said (its error, or how many keys the store holds).
  [[nodiscard]] QLabel* statusLabel() const noexcept { return status_; }
  [[nodiscard]] QLabel* problemLabel() const noexcept { return problems_; }

  // True when a store exists in the data directory (it is unlocked, not created).
  [[nodiscard]] bool storeExists() const;
  [[nodiscard]] bool unlocked() const noexcept { return unlocked_; }
  // True from unlock() until its outcome is shown.
  [[nodiscard]] bool busy() const noexcept { return busy_; }
  // Starts unlocking the store in the background; statusLabel() and unlocked() tell the outcome.
  void unlock();

  void initializePage() override;
  [[nodiscard]] bool isComplete() const override;
  bool validatePage() override;

 private:
  struct Outcome {
    bool ok = false;
    std::size_t key_count = 0;
    std::string message;
  };
  void refresh();
  void unlockFinished();

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
  QLabel* problems_;
  QFutureWatcher<Outcome> watcher_;
  bool unlocked_ = false;
  bool busy_ = false;
};

}  // namespace signet::gui
