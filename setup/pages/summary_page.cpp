#include "pages/summary_page.h"

#include <QLabel>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "pages/page_support.h"
#include "setup_wizard.h"

namespace signet::gui {
namespace {

QString modeText(setup::SetupMode mode) {
  switch (mode) {
    case setup::SetupMode::NewKey: return QObject::tr("Install a new CA with a new key");
    case setup::SetupMode::ExistingKey: return QObject::tr("Reinstall with a key from the store and a new CA certificate");
    case setup::SetupMode::ExistingKeyAndCertificate:
      return QObject::tr("Reinstall with a key from the store and its existing CA certificate");
    case setup::SetupMode::RestoreThenReinstall: return QObject::tr("Restore a backup, then reinstall");
    case setup::SetupMode::Subordinate: return QObject::tr("Set up a subordinate CA (writes a certificate request)");
  }
  return {};
}

QString row(const QString& name, const QString& value) {
  return QStringLiteral("<tr><td style='padding-right:12px'><b>%1</b></td><td>%2</td></tr>")
      .arg(name.toHtmlEscaped(), value.toHtmlEscaped());
}

}  // namespace

SummaryPage::SummaryPage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("Summary"));
  setSubTitle(tr("Check the plan. Nothing has been written yet; \"Install\" applies it."));
  setButtonText(QWizard::NextButton, tr("&Install"));
  summary_ = new QTextBrowser(this);
  problems_ = makeProblemLabel(this);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(summary_);
  layout->addWidget(problems_);
}

void SummaryPage::initializePage() {
  const setup::SetupPlan& p = wizard_->plan();
  const bool generate = p.mode == setup::SetupMode::NewKey ||
                        (p.mode == setup::SetupMode::Subordinate && !p.subordinate_existing_key);
  QString html = QStringLiteral("<table>");
  html += row(tr("What"), modeText(p.mode));
  html += row(tr("Data directory"), toQ(p.data_dir.string()));
  if (p.mode == setup::SetupMode::RestoreThenReinstall) html += row(tr("Backup"), toQ(p.backup_file.string()));
  html += row(tr("CA key"), generate ? tr("new %1 key \"%2\"")
                                           .arg(QString::fromUtf8(crypto::to_string(p.algorithm).data(),
                                                                  static_cast<qsizetype>(crypto::to_string(p.algorithm).size())),
                                                toQ(p.key_name))
                                     : tr("\"%1\" (checked again, in full, before it is used)").arg(toQ(p.key_name)));
  if (wizard_->keepsCertificate()) {
    html += row(tr("CA certificate"), tr("the existing one is kept"));
  } else {
    QString subject = tr("CN=%1").arg(toQ(p.identity.common_name));
    if (!p.identity.organization.empty()) subject += tr(", O=%1").arg(toQ(p.identity.organization));
    if (!p.identity.country.empty()) subject += tr(", C=%1").arg(toQ(p.identity.country));
    html += row(p.mode == setup::SetupMode::Subordinate ? tr("Request subject") : tr("CA subject"), subject);
    if (p.mode != setup::SetupMode::Subordinate) {
      html += row(tr("Validity"), tr("%1 days").arg(p.validity_days));
      html += row(tr("Path length"), p.path_length ? QString::number(*p.path_length) : tr("unlimited"));
    }
  }
  html += row(tr("HTTPS (REST, ACME)"), tr("%1:%2").arg(toQ(p.daemon.https_address)).arg(p.daemon.https_port));
  html += row(tr("HTTP (CRL, OCSP)"), tr("%1:%2").arg(toQ(p.daemon.http_address)).arg(p.daemon.http_port));
  QStringList names;
  for (const std::string& n : p.daemon.tls_names) names << toQ(n);
  html += row(tr("TLS names"), names.join(QStringLiteral(", ")));
  html += row(tr("Public base URL"), toQ(p.daemon.public_base_url));
  if (p.mode != setup::SetupMode::NewKey) {
    html += row(tr("Configuration"), p.replace_configuration ? tr("replaced with these settings")
                                                             : tr("the current signetd.toml is kept if there is one"));
  }
  html += QStringLiteral("</table>");
  summary_->setHtml(html);
  showProblems(problems_, wizard_->problemsFor({""}));
  emit completeChanged();
}

bool SummaryPage::isComplete() const { return wizard_->problemsFor({""}).isEmpty(); }

}  // namespace signet::gui
