#include "pages/validity_page.h"

#include <QCheckBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

#include "pages/page_support.h"
#include "setup_wizard.h"

namespace signet::gui {

ValidityPage::ValidityPage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("Validity"));
  setSubTitle(tr("How long the new CA certificate is valid, and how many CA levels may sit below it."));
  note_ = new QLabel(this);
  note_->setWordWrap(true);
  days_ = new QSpinBox(this);
  days_->setRange(0, 99999);  // the engine says what is allowed (1 to 36525)
  days_->setSuffix(tr(" days"));
  years_ = new QLabel(this);
  auto* days_row = new QHBoxLayout;
  days_row->addWidget(days_);
  days_row->addWidget(years_, 1);
  limit_path_ = new QCheckBox(tr("&Limit the number of subordinate CA levels below this CA"), this);
  path_length_ = new QSpinBox(this);
  path_length_->setRange(0, 99);
  problems_ = makeProblemLabel(this);

  auto* form = new QFormLayout;
  auto* days_label = new QLabel(tr("&Validity:"), this);
  days_label->setBuddy(days_);
  form->addRow(days_label, days_row);
  form->addRow(QString(), limit_path_);
  auto* path_label = new QLabel(tr("&Path length:"), this);
  path_label->setBuddy(path_length_);
  form->addRow(path_label, path_length_);
  auto* layout = scrollingPageLayout(this);
  layout->addWidget(note_);
  layout->addLayout(form);
  layout->addWidget(problems_);
  layout->addStretch();

  connect(days_, &QSpinBox::valueChanged, this, [this] { refresh(); });
  connect(limit_path_, &QCheckBox::toggled, this, [this] { refresh(); });
  connect(path_length_, &QSpinBox::valueChanged, this, [this] { refresh(); });
}

void ValidityPage::initializePage() {
  const setup::SetupPlan& plan = wizard_->plan();
  loading_ = true;
  days_->setValue(static_cast<int>(plan.validity_days));
  limit_path_->setChecked(plan.path_length.has_value());
  path_length_->setValue(plan.path_length.value_or(0));
  loading_ = false;
  if (wizard_->keepsCertificate()) {
    note_->setText(tr("The existing CA certificate is kept, so these settings are not used now. They are recorded "
                      "for a later reinstall that makes a new CA certificate."));
  } else if (plan.mode == setup::SetupMode::Subordinate) {
    note_->setText(tr("A subordinate CA's certificate is made by its parent CA, which decides its validity."));
  } else {
    note_->clear();
  }
  note_->setVisible(!note_->text().isEmpty());
  refresh();
}

void ValidityPage::refresh() {
  if (loading_) return;
  setup::SetupPlan& plan = wizard_->plan();
  plan.validity_days = days_->value();
  plan.path_length = limit_path_->isChecked() ? std::optional<int>(path_length_->value()) : std::nullopt;
  path_length_->setEnabled(limit_path_->isChecked());
  years_->setText(tr("(about %1 years)").arg(static_cast<double>(plan.validity_days) / 365.25, 0, 'f', 1));
  showProblems(problems_, wizard_->problemsFor({"validity_days", "path_length"}));
  emit completeChanged();
}

bool ValidityPage::isComplete() const { return wizard_->problemsFor({"validity_days", "path_length"}).isEmpty(); }

}  // namespace signet::gui
