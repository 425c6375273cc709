#include "pages/welcome_page.h"

#include <QLabel>
#include <QRadioButton>
#include <QVBoxLayout>

#include "pages/page_support.h"
#include "setup_wizard.h"

namespace signet::gui {
namespace {

QLabel* note(const QString& text, QWidget* parent) {
  auto* label = new QLabel(text, parent);
  label->setWordWrap(true);
  label->setIndent(24);
  return label;
}

}  // namespace

WelcomePage::WelcomePage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("Set up a Signet certificate authority"));
  setSubTitle(tr("Choose what this setup should do. Nothing is written until you confirm the summary."));
  install_ = new QRadioButton(tr("&Install a new CA (new key, new self-signed CA certificate)"), this);
  reinstall_ = new QRadioButton(tr("&Reinstall with a key from the key store"), this);
  restore_ = new QRadioButton(tr("Re&store a backup, then reinstall with one of its keys"), this);
  subordinate_ = new QRadioButton(tr("Set up a s&ubordinate CA (writes a request for the parent CA)"), this);
  install_->setChecked(true);

  auto* layout = scrollingPageLayout(this);
  layout->addWidget(install_);
  layout->addWidget(note(tr("For a first installation. The key store is created if there is none."), this));
  layout->addWidget(reinstall_);
  layout->addWidget(note(tr("Only keys that pass a full integrity check right now are offered; every other "
                            "entry is listed with the reason."), this));
  layout->addWidget(restore_);
  layout->addWidget(note(tr("Restores keys, certificates and the database from a Signet backup file."), this));
  layout->addWidget(subordinate_);
  layout->addWidget(note(tr("The CA certificate is signed later by the parent CA; install it with "
                            "signet setup --install-certificate FILE."), this));
  layout->addStretch();
}

setup::SetupMode WelcomePage::mode() const {
  if (reinstall_->isChecked()) return setup::SetupMode::ExistingKey;
  if (restore_->isChecked()) return setup::SetupMode::RestoreThenReinstall;
  if (subordinate_->isChecked()) return setup::SetupMode::Subordinate;
  return setup::SetupMode::NewKey;
}

void WelcomePage::setMode(setup::SetupMode mode) {
  switch (mode) {
    case setup::SetupMode::NewKey: install_->setChecked(true); break;
    case setup::SetupMode::ExistingKey:
    case setup::SetupMode::ExistingKeyAndCertificate: reinstall_->setChecked(true); break;
    case setup::SetupMode::RestoreThenReinstall: restore_->setChecked(true); break;
    case setup::SetupMode::Subordinate: subordinate_->setChecked(true); break;
  }
}

void WelcomePage::initializePage() { setMode(wizard_->plan().mode); }

bool WelcomePage::validatePage() {
  const setup::SetupMode chosen = mode();
  setup::SetupPlan& plan = wizard_->plan();
  // Keep a refinement made on the key page when the choice did not change.
  const bool same = chosen == plan.mode || (chosen == setup::SetupMode::ExistingKey &&
                                            plan.mode == setup::SetupMode::ExistingKeyAndCertificate);
  if (!same) plan.mode = chosen;
  return true;
}

}  // namespace signet::gui
