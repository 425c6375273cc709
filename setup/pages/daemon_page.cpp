#include "pages/daemon_page.h"

#include <QCheckBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>

#include "pages/page_support.h"
#include "setup_wizard.h"

namespace signet::gui {

DaemonPage::DaemonPage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("Daemon settings"));
  setSubTitle(tr("Where signetd listens. These settings are written to signetd.toml in the data directory."));
  https_address_ = new QLineEdit(this);
  https_port_ = new QSpinBox(this);
  https_port_->setRange(0, 65535);
  http_address_ = new QLineEdit(this);
  http_port_ = new QSpinBox(this);
  http_port_->setRange(0, 65535);
  tls_names_ = new QLineEdit(this);
  tls_names_->setPlaceholderText(tr("ca.example.com, 192.0.2.10"));
  base_url_ = new QLineEdit(this);
  base_url_->setPlaceholderText(tr("http://ca.example.com"));
  replace_ = new QCheckBox(tr("&Replace the current configuration and TLS files with these settings"), this);
  problems_ = makeProblemLabel(this);

  auto* form = new QFormLayout;
  form->addRow(tr("HTTPS &address (REST, ACME):"), https_address_);
  form->addRow(tr("HTTPS p&ort:"), https_port_);
  form->addRow(tr("HTTP a&ddress (CRL, OCSP):"), http_address_);
  form->addRow(tr("HTTP &port:"), http_port_);
  form->addRow(tr("&TLS names (comma-separated):"), tls_names_);
  form->addRow(tr("Public base &URL:"), base_url_);
  form->addRow(QString(), replace_);
  auto* layout = scrollingPageLayout(this);
  layout->addLayout(form);
  layout->addWidget(problems_);
  layout->addStretch();

  for (QLineEdit* e : {https_address_, http_address_, tls_names_, base_url_}) {
    connect(e, &QLineEdit::textChanged, this, [this] { refresh(); });
  }
  connect(https_port_, &QSpinBox::valueChanged, this, [this] { refresh(); });
  connect(http_port_, &QSpinBox::valueChanged, this, [this] { refresh(); });
  connect(replace_, &QCheckBox::toggled, this, [this] { refresh(); });
}

void DaemonPage::initializePage() {
  const setup::SetupPlan& plan = wizard_->plan();
  const setup::DaemonSettings& d = plan.daemon;
  loading_ = true;
  https_address_->setText(toQ(d.https_address));
  https_port_->setValue(d.https_port);
  http_address_->setText(toQ(d.http_address));
  http_port_->setValue(d.http_port);
  QStringList names;
  for (const std::string& n : d.tls_names) names << toQ(n);
  tls_names_->setText(names.join(QStringLiteral(", ")));
  base_url_->setText(toQ(d.public_base_url));
  replace_->setChecked(plan.replace_configuration);
  loading_ = false;
  const bool reinstall = plan.mode != setup::SetupMode::NewKey;
  replace_->setVisible(reinstall);
  refresh();
}

void DaemonPage::refresh() {
  if (loading_) return;
  setup::SetupPlan& plan = wizard_->plan();
  setup::DaemonSettings& d = plan.daemon;
  d.https_address = fromQ(https_address_->text().trimmed());
  d.https_port = static_cast<std::uint16_t>(https_port_->value());
  d.http_address = fromQ(http_address_->text().trimmed());
  d.http_port = static_cast<std::uint16_t>(http_port_->value());
  d.tls_names.clear();
  for (const QString& n : tls_names_->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    if (const QString t = n.trimmed(); !t.isEmpty()) d.tls_names.push_back(fromQ(t));
  }
  d.public_base_url = fromQ(base_url_->text().trimmed());
  plan.replace_configuration = plan.mode != setup::SetupMode::NewKey && replace_->isChecked();
  showProblems(problems_, wizard_->problemsFor({"daemon."}));
  emit completeChanged();
}

bool DaemonPage::isComplete() const { return wizard_->problemsFor({"daemon."}).isEmpty(); }

}  // namespace signet::gui
