// SetupWizard: the signet-setup wizard. It owns the SetupPlan that its pages fill through typed
// accessors, the passphrases (never in the plan), and what the engine returned. Pages show what
// setup::validate() says about their own fields; setup::apply() runs on the commit page, off the
// GUI thread. No page does crypto, SQL or file writing (README, "The setup wizard").
//
// Once the commit page has started writing, no close path (Cancel, Esc, closing the window) leaves
// the wizard before its outcome is shown: while apply() runs they are refused (Cancel is disabled,
// the commit page says why), and afterwards they lead to the finish page, which says what was done
// or that the setup stopped. The window keeps within the screen's available area; pages taller than
// it scroll (scrollingPageLayout).
//
// Thread-safety: GUI thread only. Work handed to worker threads gets copies, never the wizard.
#pragma once

#include <QWizard>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "signet/core/bytes.h"
#include "signet/crypto/certificate.h"
#include "signet/setup/engine.h"
#include "signet/setup/plan.h"

namespace signet::gui {

class WelcomePage;
class KeyStorePage;
class KeyPage;
class IdentityPage;
class ValidityPage;
class DaemonPage;
class SummaryPage;
class ApplyPage;
class FinishPage;

class SetupWizard : public QWizard {
  Q_OBJECT

 public:
  enum PageId { WelcomeId, KeyStoreId, KeyId, IdentityId, ValidityId, DaemonId, SummaryId, ApplyId, FinishId };

  explicit SetupWizard(QWidget* parent = nullptr);
  ~SetupWizard() override;

  [[nodiscard]] setup::SetupPlan& plan() noexcept { return plan_; }
  [[nodiscard]] const setup::SetupPlan& plan() const noexcept { return plan_; }

  [[nodiscard]] const Passphrase& storePassphrase() const noexcept { return store_passphrase_; }
  void setStorePassphrase(Passphrase passphrase) { store_passphrase_ = std::move(passphrase); }
  [[nodiscard]] const std::optional<Passphrase>& backupPassphrase() const noexcept { return backup_passphrase_; }
  void setBackupPassphrase(std::optional<Passphrase> passphrase) { backup_passphrase_ = std::move(passphrase); }

  // The CA certificate attached to the key chosen in the picker (to pre-fill the identity);
  // std::nullopt for a new key or a key without one.
  [[nodiscard]] const std::optional<crypto::Certificate>& chosenCertificate() const noexcept { return chosen_certificate_; }
  void setChosenCertificate(std::optional<crypto::Certificate> certificate) { chosen_certificate_ = std::move(certificate); }

  // What apply() returned; set by the commit page.
  [[nodiscard]] const std::optional<setup::SetupResult>& result() const noexcept { return result_; }
  void setResult(setup::SetupResult result) { result_ = std::move(result); }

  // True when the plan reuses a key from the store (the picker is shown).
  [[nodiscard]] bool reusesKey() const noexcept;
  // True when the plan keeps the chosen key's existing CA certificate.
  [[nodiscard]] bool keepsCertificate() const noexcept;

  // The messages of setup::validate(plan()) whose field starts with one of `prefixes`.
  [[nodiscard]] QStringList problemsFor(std::initializer_list<std::string_view> prefixes) const;

  [[nodiscard]] WelcomePage* welcomePage() const noexcept { return welcome_; }
  [[nodiscard]] KeyStorePage* keyStorePage() const noexcept { return key_store_; }
  [[nodiscard]] KeyPage* keyPage() const noexcept { return key_; }
  [[nodiscard]] IdentityPage* identityPage() const noexcept { return identity_; }
  [[nodiscard]] ValidityPage* validityPage() const noexcept { return validity_; }
  [[nodiscard]] DaemonPage* daemonPage() const noexcept { return daemon_; }
  [[nodiscard]] SummaryPage* summaryPage() const noexcept { return summary_; }
  [[nodiscard]] ApplyPage* applyPage() const noexcept { return apply_; }
  [[nodiscard]] FinishPage* finishPage() const noexcept { return finish_; }

  // Cancel, Esc and closing the window: see the class comment.
  void reject() override;

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  // Bounds the window by the available geometry of its screen (frame included) and moves it onto
  // that screen.
  void fitToScreen();

  setup::SetupPlan plan_;
  Passphrase store_passphrase_;
  std::optional<Passphrase> backup_passphrase_;
  std::optional<crypto::Certificate> chosen_certificate_;
  std::optional<setup::SetupResult> result_;
  WelcomePage* welcome_ = nullptr;
  KeyStorePage* key_store_ = nullptr;
  KeyPage* key_ = nullptr;
  IdentityPage* identity_ = nullptr;
  ValidityPage* validity_ = nullptr;
  DaemonPage* daemon_ = nullptr;
  SummaryPage* summary_ = nullptr;
  ApplyPage* apply_ = nullptr;
  FinishPage* finish_ = nullptr;
};

}  // namespace signet::gui
