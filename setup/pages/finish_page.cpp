#include "pages/finish_page.h"

#include <QTextBrowser>
#include <QVBoxLayout>

#include "pages/page_support.h"
#include "setup_wizard.h"

namespace signet::gui {
namespace {

QString li(const QString& text) { return QStringLiteral("<li>%1</li>").arg(text.toHtmlEscaped()); }
QString code(const QString& text) { return QStringLiteral("<pre>%1</pre>").arg(text.toHtmlEscaped()); }

}  // namespace

FinishPage::FinishPage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("Setup finished"));
  setFinalPage(true);
  report_ = new QTextBrowser(this);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(report_);
}

void FinishPage::initializePage() {
  const auto& result = wizard_->result();
  if (!result) {
    report_->setPlainText(tr("Nothing was done."));
    return;
  }
  const setup::InstallationFiles& f = result->files;
  QString html = QStringLiteral("<h3>%1</h3><ol>").arg(tr("What was done"));
  for (const std::string& a : result->actions) html += li(toQ(a));
  html += QStringLiteral("</ol>");
  html += QStringLiteral("<p>%1</p>").arg(tr("CA key: \"%1\", SHA256:%2")
                                              .arg(toQ(result->ca_key_name), toQ(result->ca_fingerprint_hex))
                                              .toHtmlEscaped());
  html += QStringLiteral("<h3>%1</h3><ul>").arg(tr("Files (mode 0600)"));
  html += li(tr("Key store: %1/signet.db").arg(toQ(wizard_->plan().data_dir.string())));
  if (result->pending_certificate) {
    html += li(tr("Certificate request: %1").arg(toQ(f.request.string())));
    html += QStringLiteral("</ul><h3>%1</h3>").arg(tr("Next steps"));
    html += QStringLiteral("<p>%1</p>").arg(
        tr("Have the parent CA sign the request, then install its certificate with:").toHtmlEscaped());
    html += code(QStringLiteral("signet --data-dir %1 setup --install-certificate FILE")
                     .arg(toQ(wizard_->plan().data_dir.string())));
    setSubTitle(tr("The subordinate CA waits for its certificate from the parent CA."));
  } else {
    html += li(tr("CA certificate: %1").arg(toQ(f.ca_certificate.string())));
    html += li(tr("Daemon configuration: %1").arg(toQ(f.configuration.string())));
    html += li(tr("Daemon TLS key and certificate: %1, %2").arg(toQ(f.tls_key.string()), toQ(f.tls_certificate.string())));
    html += QStringLiteral("</ul><h3>%1</h3>").arg(tr("Start the CA"));
    html += QStringLiteral("<p>%1</p>").arg(tr("Start the daemon with this configuration:").toHtmlEscaped());
    html += code(QStringLiteral("signetd --config %1").arg(toQ(f.configuration.string())));
    html += QStringLiteral("<p>%1</p>").arg(
        tr("Give clients the CA certificate %1 so that they trust what the CA issues.")
            .arg(toQ(f.ca_certificate.string()))
            .toHtmlEscaped());
    setSubTitle(tr("The CA is installed."));
  }
  report_->setHtml(html);
}

}  // namespace signet::gui
