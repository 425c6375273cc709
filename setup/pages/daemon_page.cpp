#include "pages/daemon_page.h"

#include <QButtonGroup>
#include <QCheckBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QPushButton>
#include <QRadioButton>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>
#include <filesystem>
#include <system_error>

#include "pages/key_store_page.h"
#include "pages/page_support.h"
#include "setup_wizard.h"
#include "signet/setup/daemon_config.h"
#include "signet/setup/engine.h"
#include "signet/setup/inspect.h"

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
  loopback_ = new QLabel(this);
  loopback_->setWordWrap(true);
  loopback_->setTextFormat(Qt::PlainText);
  loopback_->setStyleSheet(QStringLiteral("QLabel { color: #8a4b00; }"));
  loopback_->setVisible(false);

  // How signetd gets the store passphrase when it starts.
  auto* start = new QGroupBox(tr("Store passphrase when signetd starts"), this);
  credential_ = new QRadioButton(tr("Provide it as a systemd &credential (LoadCredential=passphrase:/etc/signet/"
                                    "passphrase)"),
                                 start);
  stored_file_ = new QRadioButton(start);
  stored_file_note_ = new QLabel(start);
  stored_file_note_->setWordWrap(true);
  stored_file_note_->setTextFormat(Qt::PlainText);
  stored_file_note_->setIndent(24);
  operator_file_ = new QRadioButton(tr("Use an &existing passphrase file:"), start);
  passphrase_file_ = new QLineEdit(start);
  passphrase_file_->setPlaceholderText(tr("/etc/signet/passphrase"));
  choose_file_ = new QPushButton(tr("Choose fi&le…"), start);
  auto* group = new QButtonGroup(this);
  group->addButton(credential_);
  group->addButton(stored_file_);
  group->addButton(operator_file_);
  credential_->setChecked(true);
  auto* file_row = new QHBoxLayout;
  file_row->setContentsMargins(24, 0, 0, 0);
  file_row->addWidget(passphrase_file_);
  file_row->addWidget(choose_file_);
  auto* start_layout = new QVBoxLayout(start);
  start_layout->addWidget(credential_);
  start_layout->addWidget(stored_file_);
  start_layout->addWidget(stored_file_note_);
  start_layout->addWidget(operator_file_);
  start_layout->addLayout(file_row);
  problems_ = makeProblemLabel(this);

  // ACME: off unless asked for; its few settings are shown only while it is on.
  acme_ = new QCheckBox(tr("Let AC&ME clients (certbot, lego, ...) request certificates"), this);
  acme_fields_ = new QWidget(this);
  http01_port_ = new QSpinBox(acme_fields_);
  http01_port_->setRange(1, 65535);
  http01_port_->setValue(80);
  resolver_ = new QLineEdit(acme_fields_);
  resolver_->setPlaceholderText(tr("the system's resolver; or 192.0.2.53:53"));
  acme_url_ = new QLabel(acme_fields_);
  acme_url_->setTextFormat(Qt::PlainText);
  acme_url_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* acme_form = new QFormLayout;
  acme_form->addRow(tr("http-01 &validation port:"), http01_port_);
  acme_form->addRow(tr("DNS resolver (&IP[:port], optional):"), resolver_);
  auto* acme_layout = new QVBoxLayout(acme_fields_);
  acme_layout->setContentsMargins(24, 0, 0, 0);
  acme_layout->addLayout(acme_form);
  // Outside the form, as the loopback warning is.
  acme_layout->addWidget(acme_url_);
  acme_fields_->setVisible(false);

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
  // Outside the form: a word-wrapped label that comes and goes inside a QFormLayout made Qt 6.4's
  // QFormLayout::heightForWidth write past its row table (valgrind).
  layout->addWidget(loopback_);
  layout->addWidget(acme_);
  layout->addWidget(acme_fields_);
  layout->addWidget(start);
  layout->addWidget(problems_);
  layout->addStretch();

  for (QLineEdit* e : {https_address_, http_address_, tls_names_, base_url_}) {
    connect(e, &QLineEdit::textChanged, this, [this] { refresh(); });
  }
  connect(https_port_, &QSpinBox::valueChanged, this, [this] { refresh(); });
  connect(http_port_, &QSpinBox::valueChanged, this, [this] { refresh(); });
  connect(replace_, &QCheckBox::toggled, this, [this] { refresh(); });
  connect(acme_, &QCheckBox::toggled, this, [this] { refresh(); });
  connect(http01_port_, &QSpinBox::valueChanged, this, [this] { refresh(); });
  connect(resolver_, &QLineEdit::textChanged, this, [this] { refresh(); });
  for (QRadioButton* b : {credential_, stored_file_, operator_file_}) {
    connect(b, &QRadioButton::toggled, this, [this] { refresh(); });
  }
  connect(passphrase_file_, &QLineEdit::textChanged, this, [this] { refresh(); });
  connect(choose_file_, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getOpenFileName(this, tr("Passphrase file"), passphrase_file_->text());
    if (!file.isEmpty()) passphrase_file_->setText(file);
  });
}

void DaemonPage::initializePage() {
  setup::SetupPlan& plan = wizard_->plan();
  // A restore carries on as the backed-up CA: its listeners, names and URL, unless changed here.
  if (plan.mode == setup::SetupMode::RestoreThenReinstall) {
    const auto& installation = wizard_->keyStorePage()->backupContents().installation;
    const std::string from = plan.backup_file.string();
    if (installation.answers && prefilled_from_ != from) {
      plan.daemon = installation.answers->daemon;
      // ACME as that server ran it: its signetd.toml, which may have been edited since setup.
      if (installation.configuration) {
        try {
          plan.daemon.acme =
              setup::acme_settings_of(daemon::parse_config(*installation.configuration, plan.backup_file));
        } catch (const std::exception&) {
          // not readable: the answers' settings
        }
      }
      prefilled_from_ = from;
    }
  }
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
  acme_->setChecked(d.acme.enabled);
  http01_port_->setValue(d.acme.http01_port == 0 ? 80 : d.acme.http01_port);
  resolver_->setText(toQ(d.acme.resolver));
  switch (plan.passphrase_source) {
    case setup::PassphraseSource::SystemdCredential: credential_->setChecked(true); break;
    case setup::PassphraseSource::StoredFile: stored_file_->setChecked(true); break;
    case setup::PassphraseSource::OperatorFile: operator_file_->setChecked(true); break;
  }
  passphrase_file_->setText(toQ(plan.passphrase_file.string()));
  const QString stored = toQ((plan.data_dir / "passphrase").string());
  stored_file_->setText(tr("&Store the passphrase in %1 (mode 0600) for unattended start").arg(stored));
  stored_file_note_->setText(tr("Whoever can read that file (root, or the service user) can unlock the CA key "
                                "without you, and it travels with every copy or backup of the data directory."));
  loading_ = false;
  // Only a configuration that is there can be replaced: on a data directory without signetd.toml
  // (a restore onto a new server) these settings are written in any case.
  std::error_code ec;
  offer_replace_ = plan.mode != setup::SetupMode::NewKey &&
                   std::filesystem::exists(setup::InstallationFiles::in(plan.data_dir).configuration, ec);
  replace_->setVisible(offer_replace_);
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
  d.acme.enabled = acme_->isChecked();
  d.acme.http01_port = static_cast<std::uint16_t>(http01_port_->value());
  d.acme.resolver = fromQ(resolver_->text().trimmed());
  acme_fields_->setVisible(d.acme.enabled);
  acme_url_->setText(d.acme.enabled ? tr("ACME clients will use %1").arg(toQ(setup::acme_directory_url(d)))
                                    : QString());
  plan.replace_configuration = offer_replace_ && replace_->isChecked();
  plan.passphrase_source = operator_file_->isChecked() ? setup::PassphraseSource::OperatorFile
                           : stored_file_->isChecked() ? setup::PassphraseSource::StoredFile
                                                       : setup::PassphraseSource::SystemdCredential;
  plan.passphrase_file = operator_file_->isChecked() ? fromQ(passphrase_file_->text().trimmed()) : std::string();
  passphrase_file_->setEnabled(operator_file_->isChecked());
  choose_file_->setEnabled(operator_file_->isChecked());
  const bool loopback = setup::is_loopback_url(d.public_base_url);
  loopback_->setText(loopback ? tr("The public base URL points to this machine only: every certificate the CA "
                                   "issues will carry CRL and OCSP links that no other machine can reach. Use a "
                                   "name or address that clients can reach, such as http://ca.example.com:%1.")
                                    .arg(d.http_port)
                              : QString());
  loopback_->setVisible(loopback);
  showProblems(problems_, wizard_->problemsFor({"daemon.", "passphrase_"}));
  emit completeChanged();
}

bool DaemonPage::isComplete() const { return wizard_->problemsFor({"daemon.", "passphrase_"}).isEmpty(); }

}  // namespace signet::gui
