// ApplyPage: the commit page. Entering it starts setup::apply() on a worker thread; its Progress
// callback is marshalled to the GUI thread (queued) and drives the progress bar. Back is disabled
// while it runs and after it succeeded; after a failure the message says what went wrong and Back
// leads to the page to fix.
// Thread-safety: GUI thread only.
#pragma once

#include <QFutureWatcher>
#include <QWizardPage>
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
  explicit ApplyPage(SetupWizard* wizard);
  ~ApplyPage() override;

  [[nodiscard]] QProgressBar* progressBar() const noexcept { return progress_; }
  [[nodiscard]] QLabel* stepLabel() const noexcept { return step_; }
  [[nodiscard]] QLabel* errorLabel() const noexcept { return error_; }
  // True from entering the page until apply()'s outcome is shown.
  [[nodiscard]] bool running() const noexcept { return running_; }
  [[nodiscard]] bool succeeded() const noexcept { return succeeded_; }
  [[nodiscard]] bool failed() const noexcept { return failed_; }

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
  void updateBackButton();

  SetupWizard* wizard_;
  QProgressBar* progress_;
  QLabel* step_;
  QListWidget* log_;
  QLabel* error_;
  QFutureWatcher<Outcome> watcher_;
  bool running_ = false;
  bool succeeded_ = false;
  bool failed_ = false;
};

}  // namespace signet::gui
