// FinishPage: what setup did (SetupResult::actions), where the files are, and how to start
// signetd (or, for a subordinate CA, what to do with the request).
// Thread-safety: GUI thread only.
#pragma once

#include <QWizardPage>

class QTextBrowser;

namespace signet::gui {

class SetupWizard;

class FinishPage : public QWizardPage {
  Q_OBJECT

 public:
  explicit FinishPage(SetupWizard* wizard);

  [[nodiscard]] QTextBrowser* reportView() const noexcept { return report_; }

  void initializePage() override;

 private:
  SetupWizard* wizard_;
  QTextBrowser* report_;
};

}  // namespace signet::gui
