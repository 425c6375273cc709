#include "setup_wizard.h"

#include <QAbstractButton>
#include <QScreen>
#include <QShowEvent>
#include <QWindow>

#include <algorithm>

#include "pages/apply_page.h"
#include "pages/daemon_page.h"
#include "pages/finish_page.h"
#include "pages/identity_page.h"
#include "pages/key_page.h"
#include "pages/key_store_page.h"
#include "pages/summary_page.h"
#include "pages/validity_page.h"
#include "pages/welcome_page.h"

namespace signet::gui {

SetupWizard::SetupWizard(QWidget* parent) : QWizard(parent) {
  setWindowTitle(tr("Signet setup"));
  setWizardStyle(QWizard::ModernStyle);
  setOption(QWizard::NoBackButtonOnStartPage, true);
  setOption(QWizard::NoCancelButtonOnLastPage, true);
  // Qt's own texts, spelt out: the pages' mnemonics avoid B, N and F (and I on the summary page,
  // whose Next is "&Install").
  setButtonText(QWizard::BackButton, tr("< &Back"));
  setButtonText(QWizard::NextButton, tr("&Next >"));
  setButtonText(QWizard::FinishButton, tr("&Finish"));
  setButtonText(QWizard::CancelButton, tr("Cancel"));
  welcome_ = new WelcomePage(this);
  key_store_ = new KeyStorePage(this);
  key_ = new KeyPage(this);
  identity_ = new IdentityPage(this);
  validity_ = new ValidityPage(this);
  daemon_ = new DaemonPage(this);
  summary_ = new SummaryPage(this);
  apply_ = new ApplyPage(this);
  finish_ = new FinishPage(this);
  setPage(WelcomeId, welcome_);
  setPage(KeyStoreId, key_store_);
  setPage(KeyId, key_);
  setPage(IdentityId, identity_);
  setPage(ValidityId, validity_);
  setPage(DaemonId, daemon_);
  setPage(SummaryId, summary_);
  setPage(ApplyId, apply_);
  setPage(FinishId, finish_);
  setStartId(WelcomeId);
  resize(820, 640);
}

SetupWizard::~SetupWizard() = default;

void SetupWizard::reject() {
  if (currentId() == ApplyId) {
    if (apply_->running()) {
      // Stopping now would leave the installation half-seen: refuse, and say so on the page.
      apply_->refuseToStop();
      return;
    }
    // The outcome is known: the finish page says what was done, or that the setup stopped.
    next();
    return;
  }
  QWizard::reject();
}

void SetupWizard::showEvent(QShowEvent* event) {
  QWizard::showEvent(event);
  if (!event->spontaneous()) fitToScreen();
}

void SetupWizard::fitToScreen() {
  const QScreen* s = screen();
  if (s == nullptr) return;
  const QRect available = s->availableGeometry();
  QMargins frame;
  if (const QWindow* window = windowHandle()) frame = window->frameMargins();
  const QSize room(available.width() - frame.left() - frame.right(),
                   available.height() - frame.top() - frame.bottom());
  setMaximumSize(room);
  if (width() > room.width() || height() > room.height()) resize(size().boundedTo(room));
  // Keep the whole window, frame included, on the screen.
  const QRect outer = geometry().marginsAdded(frame);
  if (!available.contains(outer)) {
    const int x = std::clamp(outer.left(), available.left(), std::max(available.left(), available.right() - outer.width() + 1));
    const int y = std::clamp(outer.top(), available.top(), std::max(available.top(), available.bottom() - outer.height() + 1));
    move(x, y);
  }
}

bool SetupWizard::reusesKey() const noexcept {
  switch (plan_.mode) {
    case setup::SetupMode::ExistingKey:
    case setup::SetupMode::ExistingKeyAndCertificate:
      return true;
    case setup::SetupMode::Subordinate:
      return plan_.subordinate_existing_key;
    case setup::SetupMode::NewKey:
    case setup::SetupMode::RestoreThenReinstall:
      return false;
  }
  return false;
}

bool SetupWizard::keepsCertificate() const noexcept {
  return !plan_.replace_ca_certificate && (plan_.mode == setup::SetupMode::ExistingKeyAndCertificate ||
                                           plan_.mode == setup::SetupMode::RestoreThenReinstall);
}

QStringList SetupWizard::problemsFor(std::initializer_list<std::string_view> prefixes) const {
  QStringList out;
  for (const setup::PlanProblem& p : setup::validate(plan_)) {
    for (std::string_view prefix : prefixes) {
      if (std::string_view(p.field).substr(0, prefix.size()) == prefix) {
        out << QString::fromStdString(p.message);
        break;
      }
    }
  }
  return out;
}

}  // namespace signet::gui
