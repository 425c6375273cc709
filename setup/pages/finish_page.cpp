#include "pages/finish_page.h"

#include <QTextBrowser>
#include <QVBoxLayout>

#include "pages/apply_page.h"
#include "pages/page_support.h"
#include "setup_wizard.h"

namespace signet::gui {
namespace {

QString li(const QString& text) { return QStringLiteral("<li>%1</li>").arg(text.toHtmlEscaped()); }
QString code(const QString& text) { return QStringLiteral("<pre>%1</pre>").arg(text.toHtmlEscaped()); }
QString para(const QString& text) { return QStringLiteral("<p>%1</p>").arg(text.toHtmlEscaped()); }
QString wrappedCode(const QString& text) {
  return QStringLiteral("<p style='font-family: monospace'>%1</p>").arg(text.toHtmlEscaped());
}
QString heading(const QString& text) { return QStringLiteral("<h3>%1</h3>").arg(text.toHtmlEscaped()); }

}  // namespace

FinishPage::FinishPage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("Setup finished"));
  setFinalPage(true);
  report_ = new QTextBrowser(this);
  report_->setMinimumHeight(120);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(report_);
}

void FinishPage::initializePage() {
  const auto& result = wizard_->result();
  if (!result) {
    // The commit page stopped with an error (or was never reached): say so, and what it reported.
    const ApplyPage* apply = wizard_->applyPage();
    setTitle(tr("Setup stopped"));
    setSubTitle(tr("The setup did not finish."));
    QString html = heading(tr("What happened"));
    html += para(apply->failed() ? apply->failureMessage() : tr("Nothing was done: the setup was not started."));
    const QStringList steps = apply->stepsReported();
    if (apply->failed()) {
      if (steps.isEmpty()) {
        html += para(tr("It stopped before its first step; nothing was changed."));
      } else {
        html += heading(tr("Steps reached before it stopped"));
        html += QStringLiteral("<ol>");
        for (const QString& s : steps) html += li(s);
        html += QStringLiteral("</ol>");
      }
      html += para(tr("Run signet-setup again to retry once the cause is fixed."));
    }
    report_->setHtml(html);
    return;
  }
  setTitle(tr("Setup finished"));
  const setup::InstallationFiles& f = result->files;
  QString html = heading(tr("What was done")) + QStringLiteral("<ol>");
  for (const std::string& a : result->actions) html += li(displayText(a));
  html += QStringLiteral("</ol>");
  html += para(tr("CA key: \"%1\", SHA256:%2").arg(toQ(result->ca_key_name), toQ(result->ca_fingerprint_hex)));
  if (result->ca_certificate) html += para(tr("CA subject: %1").arg(toQ(result->ca_certificate->subject())));
  html += heading(tr("Files (mode 0600)")) + QStringLiteral("<ul>");
  html += li(tr("Key store: %1/signet.db").arg(toQ(wizard_->plan().data_dir.string())));
  if (result->pending_certificate) {
    html += li(tr("Certificate request: %1").arg(toQ(f.request.string())));
    html += QStringLiteral("</ul>") + heading(tr("Next steps"));
    html += para(tr("Have the parent CA sign the request, then install its certificate with:"));
    html += code(QStringLiteral("signet --data-dir %1 setup --install-certificate FILE")
                     .arg(toQ(wizard_->plan().data_dir.string())));
    setSubTitle(tr("The subordinate CA waits for its certificate from the parent CA."));
  } else {
    html += li(tr("CA certificate: %1").arg(toQ(f.ca_certificate.string())));
    html += li(tr("Daemon configuration: %1").arg(toQ(f.configuration.string())));
    html += li(tr("Daemon TLS key and certificate: %1, %2").arg(toQ(f.tls_key.string()), toQ(f.tls_certificate.string())));
    if (wizard_->plan().passphrase_source == setup::PassphraseSource::StoredFile) {
      html += li(tr("Store passphrase, for unattended start: %1").arg(toQ((wizard_->plan().data_dir / "passphrase").string())));
    }
    html += QStringLiteral("</ul>") + heading(tr("Check"));
    // The engine's words, as they are (they name the checks and, on failure, start with "signetd
    // would refuse to start").
    html += para(displayText(result->check_message));
    if (!result->next_steps.empty()) {
      html += heading(tr("What you still have to do")) + QStringLiteral("<ol>");
      for (const std::string& step : result->next_steps) html += li(displayText(step));
      html += QStringLiteral("</ol>");
    }
    html += heading(tr("Start the CA"));
    html += para(tr("Start the daemon with:"));
    html += code(result->start_command.empty() ? QStringLiteral("signetd --config %1").arg(toQ(f.configuration.string()))
                                               : displayText(result->start_command));
    html += para(tr("Give clients the CA certificate %1 so that they trust what the CA issues.")
                     .arg(toQ(f.ca_certificate.string())));
    if (!result->acme_directory_url.empty()) {
      html += heading(tr("ACME"));
      html += para(tr("ACME clients (certbot, lego, ...) request certificates from the directory:"));
      html += code(toQ(result->acme_directory_url));
      html += para(tr("For example:"));
      // Long command lines wrap here (a <pre> would need scrolling sideways).
      for (const std::string& e : result->acme_examples) html += wrappedCode(toQ(e));
    }
    setSubTitle(result->check_passed ? tr("The CA is installed.")
                                     : tr("The CA is installed, but signetd would not start yet: see Check."));
  }
  report_->setHtml(html);
}

}  // namespace signet::gui
