// SummaryPage: the whole plan in an operator's words, and every problem setup::validate() still
// finds. Next ("Install") leads to the commit page, which applies the plan.
// Thread-safety: GUI thread only.
#pragma once

#include <QWizardPage>

class QLabel;
class QTextBrowser;

namespace signet::gui {

class SetupWizard;

class SummaryPage : public QWizardPage {
  Q_OBJECT

 public:
  explicit SummaryPage(SetupWizard* wizard);

  [[nodiscard]] QTextBrowser* summaryView() const noexcept { return summary_; }
  [[nodiscard]] QLabel* problemLabel() const noexcept { return problems_; }

  void initializePage() override;
  [[nodiscard]] bool isComplete() const override;

 private:
  SetupWizard* wizard_;
  QTextBrowser* summary_;
  QLabel* problems_;
};

}  // namespace signet::gui
