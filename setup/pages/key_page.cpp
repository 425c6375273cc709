#include "pages/key_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QGridLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMetaObject>
#include <QPointer>
#include <QProgressBar>
#include <QRadioButton>
#include <QSignalBlocker>
#include <QTableView>
#include <QTimer>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <chrono>
#include <filesystem>
#include <memory>

#include "pages/key_store_page.h"
#include "pages/page_support.h"
#include "setup_wizard.h"
#include "signet/setup/inspect.h"

namespace signet::gui {
namespace {

QString esc(const QString& s) { return s.toHtmlEscaped(); }

QString date(std::int64_t seconds) {
  return QDateTime::fromSecsSinceEpoch(seconds, Qt::UTC).toString(QStringLiteral("yyyy-MM-dd HH:mm 'UTC'"));
}

QString findingItem(const keystore::Finding& f) {
  return QStringLiteral("<li>%1<br/><i>%2</i> %3</li>")
      .arg(esc(displayText(f.message)), QObject::tr("Fix:"), esc(displayText(f.fix)));
}

QString findingsHtml(const std::vector<keystore::KeyVerdict>& excluded) {
  QString html;
  for (const keystore::KeyVerdict& v : excluded) {
    html += QStringLiteral("<p><b>%1</b> (%2%3)<ul>")
                .arg(esc(toQ(v.name)), esc(toQ(v.algorithm)),
                     v.fingerprint_hex.empty() ? QString() : QStringLiteral(", SHA256:") + esc(toQ(v.fingerprint_hex)));
    for (const keystore::Finding& f : v.findings) {
      if (f.severity == keystore::Severity::Error) html += findingItem(f);
    }
    html += QStringLiteral("</ul></p>");
  }
  return html;
}

// The selected key in full: identity, fingerprint, every certificate, every finding.
QString detailsHtml(const PickerKey& key) {
  const keystore::KeyVerdict& v = key.verdict;
  QString html = QStringLiteral("<p><b>%1</b> (%2)</p>").arg(esc(toQ(v.name)), esc(toQ(v.algorithm)));
  html += QStringLiteral("<table>");
  const auto row = [&html](const QString& name, const QString& value) {
    html += QStringLiteral("<tr><td style='padding-right:10px'>%1</td><td>%2</td></tr>").arg(esc(name), esc(value));
  };
  row(QObject::tr("SHA-256 fingerprint"), toQ(v.fingerprint_hex));
  row(QObject::tr("Created"), date(v.created_at));
  if (!v.source.empty()) row(QObject::tr("Source"), toQ(v.source));
  if (!v.comment.empty()) row(QObject::tr("Comment"), toQ(v.comment));
  if (key.ca_certificate) row(QObject::tr("CA certificate"), toQ(key.ca_certificate->subject()));
  html += QStringLiteral("</table>");
  if (v.certificates.empty()) {
    html += QStringLiteral("<p>%1</p>").arg(esc(QObject::tr("No certificate is attached to this key.")));
  } else {
    html += QStringLiteral("<p>%1</p><ul>")
                .arg(esc(countOf(static_cast<long long>(v.certificates.size()), QObject::tr("attached certificate:"),
                                 QObject::tr("attached certificates:"))));
    for (const keystore::CertificateSummary& c : v.certificates) {
      if (c.subject.empty()) {
        html += QStringLiteral("<li>%1: %2</li>").arg(esc(toQ(c.role)), esc(QObject::tr("does not parse")));
        continue;
      }
      html += QStringLiteral("<li>%1: <b>%2</b><br/>%3<br/>%4<br/>%5</li>")
                  .arg(esc(toQ(c.role)), esc(toQ(c.subject)),
                       esc(QObject::tr("issued by %1").arg(toQ(c.issuer))),
                       esc(QObject::tr("valid from %1 to %2").arg(date(c.not_before), date(c.not_after))),
                       esc(QObject::tr("serial %1").arg(toQ(c.serial_hex))));
    }
    html += QStringLiteral("</ul>");
  }
  if (v.request_count > 0) {
    html += QStringLiteral("<p>%1</p>")
                .arg(esc(QObject::tr("Certificate requests attached: %1").arg(static_cast<qulonglong>(v.request_count))));
  }
  if (v.findings.empty()) {
    html += QStringLiteral("<p>%1</p>").arg(esc(QObject::tr("It passed every integrity rule just now, with no warning.")));
  } else {
    html += QStringLiteral("<p>%1</p><ul>").arg(esc(QObject::tr("Warnings (the key may still be used):")));
    for (const keystore::Finding& f : v.findings) html += findingItem(f);
    html += QStringLiteral("</ul>");
  }
  return html;
}

bool expired(const PickerKey& key) {
  return key.ca_certificate && key.ca_certificate->not_after() < std::chrono::system_clock::now();
}

}  // namespace

KeyPage::KeyPage(SetupWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
  setTitle(tr("CA key"));

  generate_ = new QRadioButton(tr("&Generate a new key"), this);
  existing_ = new QRadioButton(tr("&Use a key from the key store"), this);
  generate_->setChecked(true);

  generate_box_ = new QWidget(this);
  name_ = new QLineEdit(generate_box_);
  algorithm_ = new QComboBox(generate_box_);
  for (crypto::KeyAlgorithm a : crypto::all_algorithms()) {
    algorithm_->addItem(QString::fromUtf8(crypto::to_string(a).data(), static_cast<qsizetype>(crypto::to_string(a).size())),
                        static_cast<int>(a));
  }
  // A grid, not a QFormLayout (Qt 6.4's QFormLayout::heightForWidth overran its row table while a
  // page holding it was shown; valgrind).
  auto* gen_form = new QGridLayout(generate_box_);
  gen_form->setContentsMargins(24, 0, 0, 0);
  gen_form->setColumnStretch(1, 1);
  auto* name_label = new QLabel(tr("Key na&me:"), generate_box_);
  name_label->setBuddy(name_);
  gen_form->addWidget(name_label, 0, 0);
  gen_form->addWidget(name_, 0, 1);
  algorithm_label_ = new QLabel(tr("&Algorithm:"), generate_box_);
  algorithm_label_->setBuddy(algorithm_);
  gen_form->addWidget(algorithm_label_, 1, 0);
  gen_form->addWidget(algorithm_, 1, 1);

  existing_box_ = new QWidget(this);
  check_status_ = new QLabel(existing_box_);
  check_status_->setWordWrap(true);
  check_status_->setTextFormat(Qt::PlainText);
  check_progress_ = new QProgressBar(existing_box_);
  check_progress_->setRange(0, 0);  // busy: check_all() reports no steps
  check_progress_->setVisible(false);
  model_ = new KeyPickerModel(this);
  view_ = new QTableView(existing_box_);
  view_->setModel(model_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->setTabKeyNavigation(false);
  view_->verticalHeader()->setVisible(false);
  // Every column fits: the short ones take what their contents need (up to a bound), the subject
  // and the notes share the rest, and long text wraps in its row instead of running off the page.
  QHeaderView* header = view_->horizontalHeader();
  header->setMaximumSectionSize(220);
  for (int c : {KeyPickerModel::NameColumn, KeyPickerModel::AlgorithmColumn, KeyPickerModel::FingerprintColumn,
                KeyPickerModel::ExpiresColumn}) {
    header->setSectionResizeMode(c, QHeaderView::ResizeToContents);
  }
  header->setSectionResizeMode(KeyPickerModel::SubjectColumn, QHeaderView::Stretch);
  header->setSectionResizeMode(KeyPickerModel::NotesColumn, QHeaderView::Stretch);
  view_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  view_->setWordWrap(true);
  view_->setTextElideMode(Qt::ElideRight);
  view_->setMinimumHeight(110);
  details_label_ = new QLabel(tr("Selected key:"), existing_box_);
  details_ = new QTextBrowser(existing_box_);
  details_->setMinimumHeight(110);
  details_->setOpenLinks(false);
  excluded_label_ = new QLabel(existing_box_);
  excluded_label_->setWordWrap(true);
  excluded_label_->setTextFormat(Qt::PlainText);
  excluded_details_ = new QTextBrowser(existing_box_);
  excluded_details_->setMinimumHeight(90);
  excluded_details_->setOpenLinks(false);
  keep_certificate_ = new QCheckBox(tr("&Keep the key's CA certificate (otherwise a new one is made for it)"), existing_box_);
  keep_certificate_->setChecked(true);
  replace_installed_ = new QCheckBox(existing_box_);
  replace_installed_->setVisible(false);
  auto* ex_layout = new QVBoxLayout(existing_box_);
  ex_layout->setContentsMargins(24, 0, 0, 0);
  ex_layout->addWidget(check_status_);
  ex_layout->addWidget(check_progress_);
  ex_layout->addWidget(view_, 2);
  ex_layout->addWidget(keep_certificate_);
  ex_layout->addWidget(replace_installed_);
  ex_layout->addWidget(details_label_);
  ex_layout->addWidget(details_, 3);
  ex_layout->addWidget(excluded_label_);
  ex_layout->addWidget(excluded_details_, 2);

  problems_ = makeProblemLabel(this);
  auto* layout = scrollingPageLayout(this);
  layout->addWidget(generate_);
  layout->addWidget(generate_box_);
  layout->addWidget(existing_);
  layout->addWidget(existing_box_, 1);
  layout->addWidget(problems_);

  setTabOrder(generate_, name_);
  setTabOrder(name_, algorithm_);
  setTabOrder(algorithm_, existing_);
  setTabOrder(existing_, view_);
  setTabOrder(view_, keep_certificate_);
  setTabOrder(keep_certificate_, replace_installed_);
  setTabOrder(replace_installed_, details_);
  setTabOrder(details_, excluded_details_);

  connect(generate_, &QRadioButton::toggled, this, [this] { refresh(); });
  connect(name_, &QLineEdit::textChanged, this, [this] { refresh(); });
  connect(algorithm_, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
  connect(keep_certificate_, &QCheckBox::toggled, this, [this] { refresh(); });
  connect(replace_installed_, &QCheckBox::toggled, this, [this] { refresh(); });
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
    // A newly chosen key keeps its certificate by default when it has a current one; the key
    // chosen before (selected again on coming back) keeps the choice made for it.
    const int row = selectedRow();
    if (row >= 0 && model_->key(row).verdict.name != chosen_name_) {
      const PickerKey& key = model_->key(row);
      const QSignalBlocker block(keep_certificate_);
      keep_certificate_->setChecked(key.ca_certificate && !expired(key));
    }
    showDetails(row);
    refresh();
  });
  connect(&watcher_, &QFutureWatcher<CheckOutcome>::finished, this, &KeyPage::checkFinished);
}

KeyPage::~KeyPage() { watcher_.waitForFinished(); }

void KeyPage::initializePage() {
  const setup::SetupPlan& plan = wizard_->plan();
  const bool subordinate = plan.mode == setup::SetupMode::Subordinate;
  const bool restore = plan.mode == setup::SetupMode::RestoreThenReinstall;
  const bool reinstall = plan.mode == setup::SetupMode::ExistingKey ||
                         plan.mode == setup::SetupMode::ExistingKeyAndCertificate;
  const bool store_exists = wizard_->keyStorePage()->storeExists();

  if (restore) {
    setSubTitle(tr("Choose the key from the backup that becomes the CA key. Only the backup's keys that passed "
                   "the full integrity check are listed; nothing is restored before you confirm the summary."));
  } else if (reinstall) {
    setSubTitle(tr("Choose the CA key. Only keys that passed the full integrity check just now are listed."));
  } else if (subordinate) {
    setSubTitle(tr("Generate the subordinate CA's key, or reuse a key from the store."));
  } else {
    setSubTitle(tr("The CA key is generated in the key store and never leaves it unencrypted."));
  }
  generate_->setVisible(subordinate);
  existing_->setVisible(subordinate);
  existing_->setEnabled(store_exists);
  if (reinstall || restore) existing_->setChecked(true);
  if (plan.mode == setup::SetupMode::NewKey || (subordinate && !store_exists)) generate_->setChecked(true);
  if (subordinate && store_exists && plan.subordinate_existing_key) existing_->setChecked(true);
  algorithm_->setVisible(!restore);
  algorithm_label_->setVisible(!restore);
  if (name_->text().isEmpty()) name_->setText(toQ(plan.key_name));
  algorithm_->setCurrentIndex(algorithm_->findData(static_cast<int>(plan.algorithm)));

  if (restore) {
    // The key store page opened and checked the backup; its verdicts are shown here as they are.
    const KeyStorePage::BackupContents& contents = wizard_->keyStorePage()->backupContents();
    checked_ = false;
    model_->clear();
    excluded_names_.clear();
    check_progress_->setVisible(false);
    showOutcome({contents.offered, contents.excluded, {}, {}}, true);
  } else if ((reinstall || subordinate) && store_exists) {
    startCheck();
  } else if (reinstall) {
    // The key store page does not let a reinstall on without a store; should the store have gone
    // meanwhile, say so here rather than show an empty list.
    checked_ = true;
    model_->clear();
    excluded_names_.clear();
    excluded_label_->clear();
    excluded_details_->clear();
    check_progress_->setVisible(false);
    setStatus(tr("There is no key store in %1, so there is no key to reuse. Go Back and choose another data "
                 "directory, or choose \"Install a new CA\" on the first page.")
                  .arg(toQ(plan.data_dir.string())),
              true);
  }
  refresh();
  // The picker, or the new key's name, has the focus (after QWizard has given it to the page).
  QTimer::singleShot(0, this, [this] {
    if (wizard_->currentPage() != this) return;
    if (existing_box_->isVisible()) {
      view_->setFocus(Qt::OtherFocusReason);
    } else if (name_->isVisible()) {
      name_->setFocus(Qt::OtherFocusReason);
    }
  });
}

void KeyPage::setStatus(const QString& text, bool problem) {
  check_status_->setStyleSheet(problem ? QStringLiteral("QLabel { color: #b00020; }") : QString());
  check_status_->setText(text);
}

void KeyPage::showDetails(int row) {
  if (row < 0) {
    details_->setPlainText(model_->rowCount() > 0 ? tr("Select a key above to see its details.") : QString());
    return;
  }
  details_->setHtml(detailsHtml(model_->key(row)));
}

void KeyPage::startCheck() {
  if (watcher_.isRunning()) {
    recheck_ = true;  // the store or passphrase may have changed: check again when this one ends
    return;
  }
  checked_ = false;
  model_->clear();
  excluded_names_.clear();
  excluded_label_->clear();
  excluded_details_->clear();
  setStatus(tr("Unlocking the key store…"), false);
  check_progress_->setVisible(true);
  const std::filesystem::path dir = wizard_->plan().data_dir;
  auto pass = std::make_shared<Passphrase>(wizard_->storePassphrase().clone());
  QPointer<KeyPage> self(this);
  watcher_.setFuture(QtConcurrent::run([dir, pass, self]() -> CheckOutcome {
    CheckOutcome out;
    try {
      // Read-only: unlocking the store to look at it writes nothing.
      setup::StoreContents contents = setup::inspect_store(dir, *pass, [self](std::size_t entries) {
        const int count = static_cast<int>(entries);
        QMetaObject::invokeMethod(self.data(), [self, count] { if (self) self->checkProgress(count); },
                                  Qt::QueuedConnection);
      });
      out.offered = std::move(contents.offered);
      out.excluded = std::move(contents.excluded);
      out.quarantined = std::move(contents.quarantined);
    } catch (const std::exception& e) {
      out.error = e.what();
    }
    return out;
  }));
  emit completeChanged();
}

void KeyPage::checkProgress(int key_count) {
  if (!watcher_.isRunning()) return;
  setStatus(tr("Checking %1: decrypting each one, comparing it with its public key and certificates, and "
               "signing a test message…")
                .arg(countOf(key_count, tr("key entry"), tr("key entries"))),
            false);
}

void KeyPage::checkFinished() {
  CheckOutcome outcome = watcher_.result();
  if (wizard_->plan().mode == setup::SetupMode::RestoreThenReinstall) {
    // A check of the store started before the operator chose restore mode: not what is shown now.
    recheck_ = false;
    refresh();  // checking() has changed
    return;
  }
  if (recheck_) {
    recheck_ = false;
    startCheck();
    return;
  }
  showOutcome(std::move(outcome), false);
}

void KeyPage::showOutcome(CheckOutcome outcome, bool from_backup) {
  checked_ = true;
  check_progress_->setVisible(false);
  if (!outcome.error.empty()) {
    setStatus(tr("The key store could not be checked: %1").arg(displayText(outcome.error)), true);
    refresh();
    return;
  }
  const long long offered = static_cast<long long>(outcome.offered.size());
  if (offered == 0) {
    setStatus(from_backup ? tr("No key in the backup passed the integrity check, so none can become the CA key. Go "
                               "Back and open another backup (the reasons for each entry are below).")
                          : tr("No key in the store passed the integrity check, so none can be reused. Go Back and "
                               "choose another data directory, or choose \"Install a new CA\" on the first page "
                               "(the reasons for each entry are below)."),
              true);
  } else if (from_backup) {
    setStatus(tr("%1 in the backup passed the full integrity check:").arg(countOf(offered, tr("key"), tr("keys"))),
              false);
  } else {
    setStatus(tr("%1 passed the full integrity check just now:").arg(countOf(offered, tr("key"), tr("keys"))), false);
  }
  for (const keystore::KeyVerdict& v : outcome.excluded) excluded_names_.push_back(v.name);
  quarantined_names_.clear();
  for (const keystore::QuarantineEntry& q : outcome.quarantined) quarantined_names_.push_back(q.name);
  const long long excluded = static_cast<long long>(outcome.excluded.size());
  const long long quarantined = static_cast<long long>(outcome.quarantined.size());
  QString text;
  if (excluded == 0 && quarantined == 0) {
    text = from_backup ? tr("Every entry in the backup is offered.") : tr("Every entry in the store is offered.");
  } else {
    QStringList parts;
    if (excluded == 1) {
      parts << (from_backup ? tr("1 entry is not offered; it failed the integrity check and a restore puts it in "
                                 "the quarantine.")
                            : tr("1 entry is not offered; it failed the integrity check."));
    } else if (excluded > 1) {
      parts << (from_backup ? tr("%1 entries are not offered; they failed the integrity check and a restore puts "
                                 "them in the quarantine.")
                                  .arg(excluded)
                            : tr("%1 entries are not offered; they failed the integrity check.").arg(excluded));
    }
    if (quarantined > 0) {
      parts << tr("The store's quarantine holds %1 that a restore refused; %2 never offered.")
                   .arg(countOf(quarantined, tr("entry"), tr("entries")),
                        quarantined == 1 ? tr("it is") : tr("they are"));
    }
    text = parts.join(QLatin1Char(' ')) + tr(" The reasons and fixes:");
  }
  excluded_label_->setText(text);
  QString html = findingsHtml(outcome.excluded);
  for (const keystore::QuarantineEntry& q : outcome.quarantined) {
    html += QStringLiteral("<p><b>%1</b> (%2, %3%4)<ul>")
                .arg(esc(toQ(q.name)), esc(tr("quarantined")), esc(toQ(q.algorithm)),
                     q.fingerprint_hex.empty() ? QString() : QStringLiteral(", SHA256:") + esc(toQ(q.fingerprint_hex)));
    for (const keystore::Finding& f : q.findings) html += findingItem(f);
    html += QStringLiteral("</ul></p>");
  }
  excluded_details_->setHtml(html);
  excluded_details_->setVisible(excluded > 0 || quarantined > 0);
  model_->setKeys(std::move(outcome.offered));
  showDetails(-1);
  // Coming back to this page: select the key chosen before, if it is still offered. On the first
  // visit nothing is selected, so the operator chooses.
  if (const int row = model_->rowOf(chosen_name_); row >= 0 && !generate_->isChecked()) view_->selectRow(row);
  refresh();
}

bool KeyPage::selectKey(const std::string& name) {
  const int row = model_->rowOf(name);
  if (row < 0) return false;
  existing_->setChecked(true);
  view_->selectRow(row);
  return true;
}

const PickerKey* KeyPage::chosenKey() const {
  if (!wizard_->reusesKey() && wizard_->plan().mode != setup::SetupMode::RestoreThenReinstall) {
    return nullptr;
  }
  const int row = selectedRow();
  return row < 0 ? nullptr : &model_->key(row);
}

bool KeyPage::replacesInstalled() const {
  const auto& installed = wizard_->keyStorePage()->installedCa();
  const int row = selectedRow();
  if (wizard_->plan().mode == setup::SetupMode::Subordinate) return false;  // the key store page asks
  if (!installed || installed->fingerprint_hex.empty() || row < 0 || !existing_box_->isVisibleTo(this)) return false;
  return model_->key(row).verdict.fingerprint_hex != installed->fingerprint_hex;
}

int KeyPage::selectedRow() const {
  const QModelIndexList rows = view_->selectionModel()->selectedRows();
  return rows.isEmpty() ? -1 : rows.front().row();
}

void KeyPage::refresh() {
  setup::SetupPlan& plan = wizard_->plan();
  const bool reinstall = plan.mode == setup::SetupMode::ExistingKey ||
                         plan.mode == setup::SetupMode::ExistingKeyAndCertificate;
  const bool restore = plan.mode == setup::SetupMode::RestoreThenReinstall;
  const bool use_existing =
      reinstall || restore || (plan.mode == setup::SetupMode::Subordinate && existing_->isChecked());
  // Only a restore can be told to make a new certificate for a key whose certificate is kept
  // otherwise; a reinstall says so through its mode.
  if (!restore) plan.replace_ca_certificate = false;
  generate_box_->setVisible(!use_existing);
  existing_box_->setVisible(use_existing);
  if (plan.mode == setup::SetupMode::Subordinate) plan.subordinate_existing_key = use_existing;

  QStringList problems;
  if (use_existing) {
    const int row = selectedRow();
    if (row >= 0) {
      const PickerKey& key = model_->key(row);
      plan.key_name = key.verdict.name;
      chosen_name_ = key.verdict.name;
      wizard_->setChosenCertificate(key.ca_certificate);
      const bool can_keep = key.ca_certificate && !expired(key);
      keep_certificate_->setEnabled(can_keep);
      if (reinstall) {
        plan.mode = can_keep && keep_certificate_->isChecked() ? setup::SetupMode::ExistingKeyAndCertificate
                                                               : setup::SetupMode::ExistingKey;
      }
      if (restore) plan.replace_ca_certificate = !(can_keep && keep_certificate_->isChecked());
      if ((reinstall || restore) && !can_keep) {
        keep_certificate_->setText(key.ca_certificate
                                       ? tr("Its CA certificate has expired: a new CA certificate will be made "
                                            "for this key")
                                       : tr("It has no CA certificate: a new one will be made for it"));
      } else {
        keep_certificate_->setText(tr("&Keep the key's CA certificate (otherwise a new one is made for it)"));
      }
    } else {
      wizard_->setChosenCertificate(std::nullopt);
      // Nothing chosen: no name typed or chosen earlier may stand for a key of the backup.
      if (restore) plan.key_name.clear();
    }
    // The choice about the certificate belongs to a chosen key: shown once one is selected.
    keep_certificate_->setVisible((reinstall || restore) && row >= 0);
    // Another key than the installed CA's replaces the installation: only when confirmed.
    const bool replaces = replacesInstalled();
    if (replaces) {
      const setup::InstalledCa& ca = *wizard_->keyStorePage()->installedCa();
      // Short enough not to widen the page (a check box does not wrap); the subject is in its tool tip.
      replace_installed_->setText(tr("&Replace the installed CA (key \"%1\") with this key").arg(toQ(ca.key_name)));
      replace_installed_->setToolTip(tr("Installed now: %1. Its files are kept beside the new ones.")
                                         .arg(ca.subject.empty() ? tr("a CA without a readable ca.pem")
                                                                 : toQ(ca.subject)));
    }
    replace_installed_->setVisible(replaces);
    // (A new CA or a subordinate CA is confirmed on the key store page.)
    if (reinstall || restore) plan.replace_installation = replaces && replace_installed_->isChecked();
    // Nothing to choose from: the message above says why; no empty table.
    const bool any = model_->rowCount() > 0 || !checked_;
    view_->setVisible(any);
    details_label_->setVisible(model_->rowCount() > 0);
    details_->setVisible(model_->rowCount() > 0);
  } else {
    plan.key_name = fromQ(name_->text().trimmed());
    if (const QVariant a = algorithm_->currentData(); a.isValid()) {
      plan.algorithm = static_cast<crypto::KeyAlgorithm>(a.toInt());
    }
    wizard_->setChosenCertificate(std::nullopt);
    problems = wizard_->problemsFor({"key_name"});
  }
  showProblems(problems_, problems);
  emit completeChanged();
}

bool KeyPage::isComplete() const {
  const setup::SetupPlan& plan = wizard_->plan();
  const bool reinstall = plan.mode == setup::SetupMode::ExistingKey ||
                         plan.mode == setup::SetupMode::ExistingKeyAndCertificate;
  if (reinstall || plan.mode == setup::SetupMode::RestoreThenReinstall ||
      (plan.mode == setup::SetupMode::Subordinate && existing_->isChecked())) {
    return !checking() && checked_ && selectedRow() >= 0 && (!replacesInstalled() || replace_installed_->isChecked());
  }
  return wizard_->problemsFor({"key_name"}).isEmpty();
}

bool KeyPage::validatePage() {
  refresh();
  return isComplete();
}

}  // namespace signet::gui
