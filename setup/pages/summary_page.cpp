#include "pages/summary_page.h"

#include <QDateTime>
#include <QLabel>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <filesystem>
#include <set>
#include <system_error>

#include "pages/key_page.h"
#include "pages/key_store_page.h"
#include "pages/page_support.h"
#include "setup_wizard.h"
#include "signet/setup/engine.h"
#include "signet/setup/inspect.h"

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
  return QStringLiteral("<tr><td style='padding-right:12px; vertical-align:top'><b>%1</b></td><td>%2</td></tr>")
      .arg(name.toHtmlEscaped(), value.toHtmlEscaped());
}

// "a, b and c" of the names, or `none`.
QString names(const QStringList& list, const QString& none) {
  if (list.isEmpty()) return none;
  if (list.size() == 1) return list.front();
  return QObject::tr("%1 and %2").arg(list.mid(0, list.size() - 1).join(QStringLiteral(", ")), list.back());
}

QString quoted(const std::string& name) { return QStringLiteral("\"%1\"").arg(toQ(name)); }

bool fileExists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

}  // namespace

SummaryPage::SummaryPage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("Summary"));
  setSubTitle(tr("Check the plan. Nothing has been written yet; \"Install\" applies it."));
  setButtonText(QWizard::NextButton, tr("&Install"));
  summary_ = new QTextBrowser(this);
  summary_->setMinimumHeight(120);
  problems_ = makeProblemLabel(this);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(summary_, 1);
  layout->addWidget(problems_);
}

void SummaryPage::initializePage() {
  const setup::SetupPlan& p = wizard_->plan();
  const bool generate = p.mode == setup::SetupMode::NewKey ||
                        (p.mode == setup::SetupMode::Subordinate && !p.subordinate_existing_key);
  const bool restore = p.mode == setup::SetupMode::RestoreThenReinstall;
  const PickerKey* chosen = wizard_->keyPage()->chosenKey();
  QString html = QStringLiteral("<table>");
  html += row(tr("What"), modeText(p.mode));
  html += row(tr("Data directory"), toQ(p.data_dir.string()));
  if (restore) {
    html += row(tr("Backup"), toQ(p.backup_file.string()));
    const KeyStorePage::BackupContents& contents = wizard_->keyStorePage()->backupContents();
    // A key the store already holds (same fingerprint) is skipped, not added again.
    std::set<std::string> present;
    const setup::StoreContents& store = wizard_->keyStorePage()->storeContents();
    for (const PickerKey& k : store.offered) present.insert(k.verdict.fingerprint_hex);
    for (const keystore::KeyVerdict& v : store.excluded) present.insert(v.fingerprint_hex);
    QStringList restored;
    QStringList skipped;
    for (const PickerKey& k : contents.offered) {
      (present.count(k.verdict.fingerprint_hex) > 0 ? skipped : restored) << quoted(k.verdict.name);
    }
    QStringList quarantined;
    for (const keystore::KeyVerdict& v : contents.excluded) quarantined << quoted(v.name);
    html += row(tr("Restored"),
                (restored.size() == 1
                     ? tr("%1: %2, with its certificates, and the backup's certificates, revocations and API clients")
                     : tr("%1: %2, with their certificates, and the backup's certificates, revocations and API "
                          "clients"))
                    .arg(countOf(restored.size(), tr("valid key"), tr("valid keys")), names(restored, tr("none"))));
    html += row(tr("Skipped"), skipped.isEmpty() ? tr("nothing: the store holds none of the backup's keys yet")
                                                 : tr("%1 the store already holds (same fingerprint): %2")
                                                       .arg(countOf(skipped.size(), tr("key"), tr("keys")),
                                                            names(skipped, QString())));
    html += row(tr("Quarantined"),
                quarantined.isEmpty()
                    ? tr("nothing: every entry of the backup passed the integrity check")
                    : tr("%1 that failed the integrity check: %2 (kept aside, never offered)")
                          .arg(countOf(quarantined.size(), tr("entry"), tr("entries")), names(quarantined, QString())));
  }
  if (generate) {
    html += row(tr("CA key"), tr("new %1 key \"%2\"")
                                  .arg(QString::fromUtf8(crypto::to_string(p.algorithm).data(),
                                                         static_cast<qsizetype>(crypto::to_string(p.algorithm).size())),
                                       toQ(p.key_name)));
    html += row(tr("Key fingerprint"), tr("known once the key is generated; the finish page shows it"));
  } else {
    html += row(tr("CA key"), tr("\"%1\" (checked again, in full, before it is used)").arg(toQ(p.key_name)));
    if (chosen != nullptr) html += row(tr("Key fingerprint"), QStringLiteral("SHA256:") + toQ(chosen->verdict.fingerprint_hex));
  }
  const auto& kept = wizard_->chosenCertificate();
  if (wizard_->keepsCertificate() && kept) {
    html += row(tr("CA subject"), toQ(kept->subject()));
    html += row(tr("CA certificate"), tr("the existing one is kept (valid until %1)")
                                          .arg(QDateTime::fromSecsSinceEpoch(
                                                   std::chrono::duration_cast<std::chrono::seconds>(
                                                       kept->not_after().time_since_epoch())
                                                       .count(),
                                                   Qt::UTC)
                                                   .toString(QStringLiteral("yyyy-MM-dd"))));
  } else if (wizard_->keepsCertificate()) {
    html += row(tr("CA certificate"), tr("the existing one is kept"));
  } else {
    html += row(p.mode == setup::SetupMode::Subordinate ? tr("Request subject") : tr("CA subject"), subjectOf(p.identity));
    if (p.mode != setup::SetupMode::Subordinate) {
      html += row(tr("CA certificate"), tr("a new self-signed one"));
      html += row(tr("Validity"), countOf(p.validity_days, tr("day"), tr("days")));
      html += row(tr("Path length"), p.path_length ? QString::number(*p.path_length) : tr("unlimited"));
    }
  }
  html += row(tr("HTTPS (REST, ACME)"), tr("%1:%2").arg(toQ(p.daemon.https_address)).arg(p.daemon.https_port));
  html += row(tr("HTTP (CRL, OCSP)"), tr("%1:%2").arg(toQ(p.daemon.http_address)).arg(p.daemon.http_port));
  QStringList tls;
  for (const std::string& n : p.daemon.tls_names) tls << toQ(n);
  html += row(tr("TLS names"), tls.join(QStringLiteral(", ")));
  html += row(tr("Public base URL"), toQ(p.daemon.public_base_url));
  if (setup::is_loopback_url(p.daemon.public_base_url)) {
    html += row(tr("Warning"), tr("the public base URL is a loopback address: no other machine can reach the CRL "
                                  "and OCSP links in the certificates"));
  }
  const setup::AcmeSettings& acme = p.daemon.acme;
  html += row(tr("ACME"), acme.enabled ? tr("on, at %1; http-01 validated on port %2, names looked up with %3")
                                             .arg(toQ(setup::acme_directory_url(p.daemon)))
                                             .arg(acme.http01_port)
                                             .arg(acme.resolver.empty() ? tr("the system's resolver")
                                                                        : toQ(acme.resolver))
                                       : tr("off"));
  switch (p.passphrase_source) {
    case setup::PassphraseSource::SystemdCredential:
      html += row(tr("Passphrase at start"), tr("a systemd credential (LoadCredential=passphrase:/etc/signet/passphrase)"));
      break;
    case setup::PassphraseSource::StoredFile:
      html += row(tr("Passphrase at start"), tr("stored in %1 (mode 0600): whoever can read it can unlock the CA key")
                                                 .arg(toQ((p.data_dir / "passphrase").string())));
      break;
    case setup::PassphraseSource::OperatorFile:
      html += row(tr("Passphrase at start"), tr("read from %1").arg(toQ(p.passphrase_file.string())));
      break;
  }

  // What is in the data directory now and would change.
  const setup::InstallationFiles files = setup::InstallationFiles::in(p.data_dir);
  QStringList present;
  for (const std::filesystem::path& f : {files.ca_certificate, files.configuration, files.tls_key, files.tls_certificate}) {
    if (fileExists(f)) present << toQ(f.filename().string());
  }
  if (restore && (p.replace_configuration || !fileExists(files.configuration))) {
    // The daemon settings above are written over the backup's own signetd.toml.
    const auto& carried = wizard_->keyStorePage()->backupContents().installation.configuration;
    html += row(tr("Configuration"),
                p.configuration_from_backup && carried
                    ? tr("the backup's signetd.toml (profiles, CRL, OCSP, server and log settings), with the "
                         "settings above and this data directory's paths")
                    : tr("the defaults, with the settings above (the backup carries no configuration)"));
  }
  const auto& installed = wizard_->keyStorePage()->installedCa();
  if (p.replace_installation && installed) {
    html += row(tr("Replaced"), tr("the installed CA %1 (key \"%2\"); its files are kept beside the new ones")
                                    .arg(toQ(installed->subject), toQ(installed->key_name)));
  } else if (present.isEmpty()) {
    html += row(tr("Replaced"), tr("nothing: there is no installation in the data directory yet"));
  } else if (p.mode == setup::SetupMode::NewKey || p.mode == setup::SetupMode::Subordinate) {
    html += row(tr("Replaced"), tr("the installation in the data directory (%1)").arg(present.join(QStringLiteral(", "))));
  } else {
    QStringList replaced;
    if (!wizard_->keepsCertificate()) replaced << tr("the CA certificate (ca.pem)");
    if (p.replace_configuration) replaced << tr("the configuration and TLS files (signetd.toml, tls-key.pem, tls-cert.pem)");
    html += row(tr("Replaced"), replaced.isEmpty() ? tr("nothing: the CA certificate and the configuration are kept")
                                                   : names(replaced, QString()));
    if (!p.replace_configuration) html += row(tr("Configuration"), tr("the current signetd.toml is kept"));
  }
  html += QStringLiteral("</table>");
  summary_->setHtml(html);
  showProblems(problems_, wizard_->problemsFor({""}));
  emit completeChanged();
}

bool SummaryPage::isComplete() const { return wizard_->problemsFor({""}).isEmpty(); }

}  // namespace signet::gui
