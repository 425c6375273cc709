// WelcomePage: what this setup is to do (SetupPlan::mode).
// Thread-safety: GUI thread only.
#pragma once

#include <QWizardPage>

#include "signet/setup/plan.h"

class QRadioButton;

namespace signet::gui {

class SetupWizard;

class WelcomePage : public QWizardPage {
  Q_OBJECT

 public:
  explicit WelcomePage(SetupWizard* wizard);

  // The mode chosen here; a reinstall is refined to ExistingKeyAndCertificate on the key page.
  [[nodiscard]] setup::SetupMode mode() const;
  void setMode(setup::SetupMode mode);

  void initializePage() override;
  bool validatePage() override;

 private:
  SetupWizard* wizard_;
  QRadioButton* install_;
  QRadioButton* reinstall_;
  QRadioButton* restore_;
  QRadioButton* subordinate_;
};

}  // namespace signet::gui
