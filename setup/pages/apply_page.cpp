#include "pages/apply_page.h"

#include <QAbstractButton>
#include <QLabel>
#include <QListWidget>
#include <QMetaObject>
#include <QPointer>
#include <QProgressBar>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <memory>

#include "pages/page_support.h"
#include "setup_wizard.h"

namespace signet::gui {

ApplyPage::ApplyPage(SetupWizard* wizard)
    : QWizardPage(wizard), wizard_(wizard), apply_([](const setup::SetupPlan& plan, const setup::SetupSecrets& secrets,
                                                      const setup::Progress& progress) {
        return setup::apply(plan, secrets, progress);
      }) {
  setTitle(tr("Applying the setup"));
  setSubTitle(tr("The CA key is checked again in full, then the store, the certificates and the configuration "
                 "are written."));
  setCommitPage(true);
  setButtonText(QWizard::CommitButton, tr("&Next >"));
  progress_ = new QProgressBar(this);
  progress_->setRange(0, 100);
  step_ = new QLabel(this);
  step_->setWordWrap(true);
  step_->setTextFormat(Qt::PlainText);
  log_ = new QListWidget(this);
  log_->setFocusPolicy(Qt::NoFocus);
  log_->setMinimumHeight(80);
  refused_ = new QLabel(this);
  refused_->setWordWrap(true);
  refused_->setTextFormat(Qt::PlainText);
  refused_->setVisible(false);
  error_ = makeProblemLabel(this);
  auto* layout = scrollingPageLayout(this);
  layout->addWidget(step_);
  layout->addWidget(progress_);
  layout->addWidget(log_, 1);
  layout->addWidget(refused_);
  layout->addWidget(error_);
  connect(&watcher_, &QFutureWatcher<Outcome>::finished, this, &ApplyPage::applyFinished);
}

ApplyPage::~ApplyPage() { watcher_.waitForFinished(); }

void ApplyPage::initializePage() {
  succeeded_ = false;
  failed_ = false;
  running_ = true;
  failure_.clear();
  progress_->setValue(0);
  log_->clear();
  showProblems(error_, {});
  refused_->setVisible(false);
  step_->setText(tr("Starting…"));

  auto secrets = std::make_shared<setup::SetupSecrets>();
  secrets->store_passphrase = wizard_->storePassphrase().clone();
  if (const auto& b = wizard_->backupPassphrase()) secrets->backup_passphrase = b->clone();
  const setup::SetupPlan plan = wizard_->plan();
  QPointer<ApplyPage> self(this);
  const ApplyFunction apply = apply_;
  watcher_.setFuture(QtConcurrent::run([plan, secrets, self, apply]() -> Outcome {
    Outcome out;
    try {
      out.result = apply(plan, *secrets, [self](int percent, const std::string& step) {
        const QString text = displayText(step);
        QMetaObject::invokeMethod(self.data(), [self, percent, text] { if (self) self->progressed(percent, text); },
                                  Qt::QueuedConnection);
      });
    } catch (const std::exception& e) {
      out.error = e.what();
    }
    return out;
  }));
  updateButtons();
  // QWizard sets Back's state after initializePage(); take it away once it has.
  QTimer::singleShot(0, this, [this] { updateButtons(); });
}

void ApplyPage::cleanupPage() {
  // Back is only possible after a failure, when nothing runs.
  watcher_.waitForFinished();
  if (QAbstractButton* cancel = wizard_->button(QWizard::CancelButton)) cancel->setEnabled(true);
  QWizardPage::cleanupPage();
}

void ApplyPage::progressed(int percent, const QString& step) {
  progress_->setValue(percent);
  step_->setText(step);
  if (log_->count() == 0 || log_->item(log_->count() - 1)->text() != step) log_->addItem(step);
}

QStringList ApplyPage::stepsReported() const {
  QStringList out;
  for (int i = 0; i < log_->count(); ++i) out << log_->item(i)->text();
  return out;
}

void ApplyPage::refuseToStop() {
  if (!running_) return;
  refused_->setText(tr("The setup is writing now and cannot be stopped part-way. Wait until it ends: this page "
                       "then says whether it succeeded, and Next shows what was done."));
  refused_->setVisible(true);
}

void ApplyPage::applyFinished() {
  Outcome outcome = watcher_.result();
  running_ = false;
  refused_->setVisible(false);
  if (outcome.result) {
    succeeded_ = true;
    progress_->setValue(100);
    step_->setText(tr("Done. Press Next to see what was done and how to start signetd."));
    wizard_->setResult(std::move(*outcome.result));
  } else {
    failed_ = true;
    failure_ = displayText(outcome.error);
    step_->setText(tr("The setup stopped."));
    showProblems(error_, {failure_, tr("Go Back to change the plan, then Install again; or Cancel to see what "
                                       "was done.")});
  }
  emit completeChanged();
  updateButtons();
  emit finished(succeeded_);
}

void ApplyPage::updateButtons() {
  if (wizard_->currentPage() != this) return;
  if (QAbstractButton* back = wizard_->button(QWizard::BackButton)) back->setEnabled(failed_);
  // While it writes nothing may stop it; after success the only way on is Next.
  if (QAbstractButton* cancel = wizard_->button(QWizard::CancelButton)) cancel->setEnabled(failed_);
}

bool ApplyPage::isComplete() const { return succeeded_; }

}  // namespace signet::gui
