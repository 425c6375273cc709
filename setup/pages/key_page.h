// KeyPage: the CA key. Either a new key (its name and algorithm) or THE PICKER: a table of the
// store's keys that passed the full integrity check just now (KeyStore::check_all on a worker
// thread, through setup::inspect_store, which writes nothing), and beside it every entry that is
// not offered, with its findings and their fixes, and the entries the store's quarantine holds.
// In restore mode the picker offers the backup's keys that passed the integrity check when the
// key store page opened the backup. Next stays disabled until a new key is named or an offered
// key is selected. The picker fits the page (no horizontal scrolling at the default size) and has
// the focus; a details pane shows the selected key in full (fingerprint, every certificate,
// warnings). When there is no store, or no key passed the check, the page says so and how to go
// on.
// Thread-safety: GUI thread only.
#pragma once

#include <QFutureWatcher>
#include <QWizardPage>
#include <string>
#include <vector>

#include "key_picker_model.h"
#include "signet/crypto/key.h"
#include "signet/keystore/store.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QRadioButton;
class QTableView;
class QTextBrowser;

namespace signet::gui {

class SetupWizard;

class KeyPage : public QWizardPage {
  Q_OBJECT

 public:
  explicit KeyPage(SetupWizard* wizard);
  ~KeyPage() override;

  [[nodiscard]] QRadioButton* generateButton() const noexcept { return generate_; }
  [[nodiscard]] QRadioButton* existingButton() const noexcept { return existing_; }
  [[nodiscard]] QLineEdit* keyNameEdit() const noexcept { return name_; }
  [[nodiscard]] QComboBox* algorithmCombo() const noexcept { return algorithm_; }
  [[nodiscard]] QTableView* pickerView() const noexcept { return view_; }
  [[nodiscard]] KeyPickerModel* pickerModel() const noexcept { return model_; }
  // "N entries are not offered".
  [[nodiscard]] QLabel* excludedLabel() const noexcept { return excluded_label_; }
  // Each excluded entry with its findings and fixes.
  [[nodiscard]] QTextBrowser* excludedDetails() const noexcept { return excluded_details_; }
  [[nodiscard]] QCheckBox* keepCertificateBox() const noexcept { return keep_certificate_; }
  // "Replace the installed CA ...": shown when the chosen key is not the installed CA's key.
  [[nodiscard]] QCheckBox* replaceInstalledBox() const noexcept { return replace_installed_; }
  // What the check found, or why there is nothing to choose and what to do then.
  [[nodiscard]] QLabel* checkStatusLabel() const noexcept { return check_status_; }
  // The selected key in full; empty while nothing is selected.
  [[nodiscard]] QTextBrowser* detailsView() const noexcept { return details_; }
  [[nodiscard]] QLabel* problemLabel() const noexcept { return problems_; }

  // The names of the quarantined entries the last check listed.
  [[nodiscard]] const std::vector<std::string>& quarantinedNames() const noexcept { return quarantined_names_; }
  // The names of the entries the last check excluded.
  [[nodiscard]] const std::vector<std::string>& excludedNames() const noexcept { return excluded_names_; }
  // True from the start of a check until its outcome is shown.
  [[nodiscard]] bool checking() const noexcept { return watcher_.isRunning() || !checked_; }
  // True once a check has finished (successfully or not) since the page was entered.
  [[nodiscard]] bool checked() const noexcept { return checked_; }
  // The key selected in the picker when the plan reuses one; nullptr otherwise.
  [[nodiscard]] const PickerKey* chosenKey() const;
  // Selects the offered key named `name`; false when it is not offered.
  bool selectKey(const std::string& name);

  void initializePage() override;
  [[nodiscard]] bool isComplete() const override;
  bool validatePage() override;

 private:
  struct CheckOutcome {
    std::vector<PickerKey> offered;
    std::vector<keystore::KeyVerdict> excluded;
    std::vector<keystore::QuarantineEntry> quarantined;
    std::string error;
  };
  void startCheck();
  void checkFinished();
  // Shows what a check found: the offered keys in the picker, the others beside it.
  void showOutcome(CheckOutcome outcome, bool from_backup);
  void checkProgress(int key_count);
  void refresh();
  void showDetails(int row);
  // Shows `text` as the check's status, in the error colour when `problem`.
  void setStatus(const QString& text, bool problem);
  [[nodiscard]] int selectedRow() const;
  // True when the key selected now would replace the CA installed in the data directory.
  [[nodiscard]] bool replacesInstalled() const;

  SetupWizard* wizard_;
  QRadioButton* generate_;
  QLineEdit* name_;
  QComboBox* algorithm_;
  QLabel* algorithm_label_;
  QRadioButton* existing_;
  QWidget* generate_box_;
  QWidget* existing_box_;
  QLabel* check_status_;
  QProgressBar* check_progress_;
  QTableView* view_;
  KeyPickerModel* model_;
  QLabel* details_label_;
  QTextBrowser* details_;
  QLabel* excluded_label_;
  QTextBrowser* excluded_details_;
  QCheckBox* keep_certificate_;
  QCheckBox* replace_installed_;
  QLabel* problems_;
  QFutureWatcher<CheckOutcome> watcher_;
  std::vector<std::string> excluded_names_;
  std::vector<std::string> quarantined_names_;
  std::string chosen_name_;  // the key last selected in the picker
  bool checked_ = false;
  bool recheck_ = false;
};

}  // namespace signet::gui
