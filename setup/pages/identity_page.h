// IdentityPage: the CA's distinguished name (SetupPlan::identity). When a key with a CA
// certificate is reused, the fields are pre-filled from that certificate (setup::identity_of);
// when that certificate is kept, they are shown read-only.
// Thread-safety: GUI thread only.
#pragma once

#include <QWizardPage>
#include <string>

class QLabel;
class QLineEdit;

namespace signet::gui {

class SetupWizard;

class IdentityPage : public QWizardPage {
  Q_OBJECT

 public:
  explicit IdentityPage(SetupWizard* wizard);

  [[nodiscard]] QLineEdit* commonNameEdit() const noexcept { return common_name_; }
  [[nodiscard]] QLineEdit* organizationEdit() const noexcept { return organization_; }
  [[nodiscard]] QLineEdit* organizationalUnitEdit() const noexcept { return unit_; }
  [[nodiscard]] QLineEdit* countryEdit() const noexcept { return country_; }
  [[nodiscard]] QLineEdit* stateEdit() const noexcept { return state_; }
  [[nodiscard]] QLineEdit* localityEdit() const noexcept { return locality_; }
  [[nodiscard]] QLabel* problemLabel() const noexcept { return problems_; }

  void initializePage() override;
  [[nodiscard]] bool isComplete() const override;

 private:
  void refresh();

  SetupWizard* wizard_;
  QLabel* note_;
  QLineEdit* common_name_;
  QLineEdit* organization_;
  QLineEdit* unit_;
  QLineEdit* country_;
  QLineEdit* state_;
  QLineEdit* locality_;
  QLabel* problems_;
  std::string prefilled_from_;  // the key whose certificate last filled the fields
  bool loading_ = false;
};

}  // namespace signet::gui
