#include "setup_wizard.h"

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
