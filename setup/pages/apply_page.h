// ApplyPage: the commit page. Entering it starts setup::apply() on a worker thread; its Progress
// callback is marshalled to the GUI thread (queued) and drives the progress bar. Back and Cancel
// are disabled while it runs and after it succeeded (then the only way on is Next, to the finish
// page); Esc and closing the window are refused while it runs (SetupWizard::reject), with a note on
// this page. After a failure the message says what went wrong; Back leads to the page to fix, and
// Cancel to the finish page, which says that the setup stopped.
// Thread-safety: GUI thread only.
#pragma once

#include <QFutureWatcher>
#include <QStringList>
#include <QWizardPage>
#include <functional>
#include <optional>
#include <string>

#include "signet/setup/engine.h"

class QLabel;
class QListWidget;
class QProgressBar;

namespace signet::gui {

class SetupWizard;

class ApplyPage : public QWizardPage {
  Q_OBJECT

 public:
  // What runs on the worker thread: setup::apply unless replaced (tests hold it at a gate).
  using ApplyFunction =
      std::function<setup::SetupResult(const setup::SetupPlan&, const setup::SetupSecrets&, const setup::Progress&)>;

  explicit ApplyPage(SetupWizard* wizard);
  ~ApplyPage() override;

  void setApplyFunction(ApplyFunction function) { apply_ = std::move(function); }

  [[nodiscard]] QProgressBar* progressBar() const noexcept { return progress_; }
  [[nodiscard]] QLabel* stepLabel() const noexcept { return step_; }
  [[nodiscard]] QLabel* errorLabel() const noexcept { return error_; }
  // True from entering the page until apply()'s outcome is shown.
  [[nodiscard]] bool running() const noexcept { return running_; }
  [[nodiscard]] bool succeeded() const noexcept { return succeeded_; }
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  // Why the setup stopped (empty unless failed()), and the steps it reported before, in order.
  [[nodiscard]] const QString& failureMessage() const noexcept { return failure_; }
  [[nodiscard]] QStringList stepsReported() const;
  // "The setup cannot be stopped while it writes": shown when Cancel, Esc or closing the window
  // is refused while apply() runs.
  [[nodiscard]] QLabel* refusedLabel() const noexcept { return refused_; }
  void refuseToStop();

  void initializePage() override;
  void cleanupPage() override;
  [[nodiscard]] bool isComplete() const override;

 signals:
  // Emitted when apply() returned or threw.
  void finished(bool ok);

 private:
  struct Outcome {
    std::optional<setup::SetupResult> result;
    std::string error;
  };
  void progressed(int percent, const QString& step);
  void applyFinished();
  void updateButtons();

  SetupWizard* wizard_;
  ApplyFunction apply_;
  QProgressBar* progress_;
  QLabel* step_;
  QListWidget* log_;
  QLabel* error_;
  QLabel* refused_;
  QString failure_;
  QFutureWatcher<Outcome> watcher_;
  bool running_ = false;
  bool succeeded_ = false;
  bool failed_ = false;
};

}  // namespace signet::gui
