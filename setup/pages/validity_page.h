// ValidityPage: how long a new CA certificate is valid (SetupPlan::validity_days) and its path
// length constraint (SetupPlan::path_length).
// Thread-safety: GUI thread only.
#pragma once

#include <QWizardPage>

class QCheckBox;
class QLabel;
class QSpinBox;

namespace signet::gui {

class SetupWizard;

class ValidityPage : public QWizardPage {
  Q_OBJECT

 public:
  explicit ValidityPage(SetupWizard* wizard);

  [[nodiscard]] QSpinBox* validityDaysSpin() const noexcept { return days_; }
  [[nodiscard]] QCheckBox* limitPathBox() const noexcept { return limit_path_; }
  [[nodiscard]] QSpinBox* pathLengthSpin() const noexcept { return path_length_; }
  [[nodiscard]] QLabel* problemLabel() const noexcept { return problems_; }

  void initializePage() override;
  [[nodiscard]] bool isComplete() const override;

 private:
  void refresh();

  SetupWizard* wizard_;
  QLabel* note_;
  QSpinBox* days_;
  QLabel* years_;
  QCheckBox* limit_path_;
  QSpinBox* path_length_;
  QLabel* problems_;
  bool loading_ = false;
};

}  // namespace signet::gui
