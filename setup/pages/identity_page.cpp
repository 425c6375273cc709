#include "pages/identity_page.h"

#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QVBoxLayout>

#include "pages/page_support.h"
#include "setup_wizard.h"

namespace signet::gui {

IdentityPage::IdentityPage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("CA identity"));
  note_ = new QLabel(this);
  note_->setWordWrap(true);
  common_name_ = new QLineEdit(this);
  common_name_->setPlaceholderText(tr("Example Corp Root CA"));
  organization_ = new QLineEdit(this);
  unit_ = new QLineEdit(this);
  country_ = new QLineEdit(this);
  country_->setMaxLength(2);
  country_->setPlaceholderText(tr("two capital letters, e.g. DE"));
  state_ = new QLineEdit(this);
  locality_ = new QLineEdit(this);
  problems_ = makeProblemLabel(this);

  auto* form = new QFormLayout;
  form->addRow(tr("&Common name (required):"), common_name_);
  form->addRow(tr("&Organization:"), organization_);
  form->addRow(tr("Organizational &unit:"), unit_);
  form->addRow(tr("Coun&try:"), country_);
  form->addRow(tr("&State or province:"), state_);
  form->addRow(tr("&Locality:"), locality_);
  auto* layout = scrollingPageLayout(this);
  layout->addWidget(note_);
  layout->addLayout(form);
  layout->addWidget(problems_);
  layout->addStretch();

  for (QLineEdit* e : {common_name_, organization_, unit_, country_, state_, locality_}) {
    connect(e, &QLineEdit::textChanged, this, [this] { refresh(); });
  }
}

void IdentityPage::initializePage() {
  setup::SetupPlan& plan = wizard_->plan();
  const auto& cert = wizard_->chosenCertificate();
  const bool keep = wizard_->keepsCertificate();
  if (cert && (keep || prefilled_from_ != plan.key_name)) {
    plan.identity = setup::identity_of(*cert);
    prefilled_from_ = plan.key_name;
  }
  loading_ = true;
  common_name_->setText(toQ(plan.identity.common_name));
  organization_->setText(toQ(plan.identity.organization));
  unit_->setText(toQ(plan.identity.organizational_unit));
  country_->setText(toQ(plan.identity.country));
  state_->setText(toQ(plan.identity.state));
  locality_->setText(toQ(plan.identity.locality));
  loading_ = false;
  // A kept certificate's subject is shown, not edited: read-only and greyed, without hints.
  for (QLineEdit* e : {common_name_, organization_, unit_, country_, state_, locality_}) {
    e->setReadOnly(keep);
    e->setEnabled(!keep);
  }
  common_name_->setPlaceholderText(keep ? QString() : tr("Example Corp Root CA"));
  country_->setPlaceholderText(keep ? QString() : tr("two capital letters, e.g. DE"));

  if (plan.mode == setup::SetupMode::RestoreThenReinstall && keep) {
    setSubTitle(tr("The CA certificate restored from the backup is kept; its subject decides the CA's name."));
    note_->setText(tr("To change the name, go back and clear \"Keep the key's CA certificate\"; a new CA "
                      "certificate is then made for the restored key."));
  } else if (keep) {
    setSubTitle(tr("The existing CA certificate of \"%1\" is kept, so its subject stays as shown.")
                    .arg(toQ(plan.key_name)));
    note_->setText(tr("To change the name, go back and clear \"Keep the key's CA certificate\"."));
  } else if (cert) {
    setSubTitle(tr("Filled in from the certificate of \"%1\"; a new CA certificate is made with this subject.")
                    .arg(toQ(plan.key_name)));
    note_->clear();
  } else if (plan.mode == setup::SetupMode::Subordinate) {
    setSubTitle(tr("The subject of the certificate request sent to the parent CA."));
    note_->clear();
  } else {
    setSubTitle(tr("The subject of the new self-signed CA certificate. Only the common name is required."));
    note_->clear();
  }
  note_->setVisible(!note_->text().isEmpty());
  refresh();
}

void IdentityPage::refresh() {
  if (loading_) return;
  setup::CaIdentity& id = wizard_->plan().identity;
  id.common_name = fromQ(common_name_->text());
  id.organization = fromQ(organization_->text());
  id.organizational_unit = fromQ(unit_->text());
  id.country = fromQ(country_->text());
  id.state = fromQ(state_->text());
  id.locality = fromQ(locality_->text());
  showProblems(problems_, wizard_->problemsFor({"identity."}));
  emit completeChanged();
}

bool IdentityPage::isComplete() const { return wizard_->problemsFor({"identity."}).isEmpty(); }

}  // namespace signet::gui
