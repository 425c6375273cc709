// DaemonPage: what signetd listens on and calls itself (SetupPlan::daemon), how it gets the store
// passphrase when it starts (SetupPlan::passphrase_source, passphrase_file), and, for a reinstall,
// whether the current configuration is replaced (SetupPlan::replace_configuration). In restore
// mode the settings are pre-filled from the installation the backup carries; a public base URL on
// a loopback address draws a warning on the page. ACME (SetupPlan::daemon.acme) is off by default;
// checked, the http-01 validation port and an optional DNS resolver are shown, with the directory
// URL clients will use.
// Thread-safety: GUI thread only.
#pragma once

#include <QWizardPage>
#include <string>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QSpinBox;

namespace signet::gui {

class SetupWizard;

class DaemonPage : public QWizardPage {
  Q_OBJECT

 public:
  explicit DaemonPage(SetupWizard* wizard);

  [[nodiscard]] QLineEdit* httpsAddressEdit() const noexcept { return https_address_; }
  [[nodiscard]] QSpinBox* httpsPortSpin() const noexcept { return https_port_; }
  [[nodiscard]] QLineEdit* httpAddressEdit() const noexcept { return http_address_; }
  [[nodiscard]] QSpinBox* httpPortSpin() const noexcept { return http_port_; }
  // Comma-separated DNS names and IP addresses.
  [[nodiscard]] QLineEdit* tlsNamesEdit() const noexcept { return tls_names_; }
  [[nodiscard]] QLineEdit* publicBaseUrlEdit() const noexcept { return base_url_; }
  // Shown for a reinstall when the data directory holds a configuration to replace.
  [[nodiscard]] QCheckBox* replaceConfigurationBox() const noexcept { return replace_; }
  [[nodiscard]] QLabel* problemLabel() const noexcept { return problems_; }
  // "The public base URL points to this machine only ...", visible while it does.
  [[nodiscard]] QLabel* loopbackWarning() const noexcept { return loopback_; }
  // How signetd gets the passphrase: a systemd credential, a file setup writes, or the operator's file.
  [[nodiscard]] QRadioButton* credentialButton() const noexcept { return credential_; }
  [[nodiscard]] QRadioButton* storedFileButton() const noexcept { return stored_file_; }
  [[nodiscard]] QRadioButton* operatorFileButton() const noexcept { return operator_file_; }
  [[nodiscard]] QLineEdit* passphraseFileEdit() const noexcept { return passphrase_file_; }
  // "Let ACME clients (certbot, lego, ...) request certificates", and what it shows while checked.
  [[nodiscard]] QCheckBox* acmeBox() const noexcept { return acme_; }
  [[nodiscard]] QWidget* acmeFields() const noexcept { return acme_fields_; }
  [[nodiscard]] QSpinBox* http01PortSpin() const noexcept { return http01_port_; }
  [[nodiscard]] QLineEdit* resolverEdit() const noexcept { return resolver_; }
  // "ACME clients will use https://HOST:PORT/acme/directory".
  [[nodiscard]] QLabel* acmeDirectoryLabel() const noexcept { return acme_url_; }

  void initializePage() override;
  [[nodiscard]] bool isComplete() const override;

 private:
  void refresh();

  SetupWizard* wizard_;
  QLineEdit* https_address_;
  QSpinBox* https_port_;
  QLineEdit* http_address_;
  QSpinBox* http_port_;
  QLineEdit* tls_names_;
  QLineEdit* base_url_;
  QCheckBox* replace_;
  QLabel* loopback_;
  QRadioButton* credential_;
  QRadioButton* stored_file_;
  QLabel* stored_file_note_;
  QRadioButton* operator_file_;
  QLineEdit* passphrase_file_;
  QPushButton* choose_file_;
  QCheckBox* acme_;
  QWidget* acme_fields_;
  QSpinBox* http01_port_;
  QLineEdit* resolver_;
  QLabel* acme_url_;
  QLabel* problems_;
  std::string prefilled_from_;  // the backup whose installation last filled the fields
  bool loading_ = false;
  bool offer_replace_ = false;  // a reinstall over a data directory that holds signetd.toml
};

}  // namespace signet::gui
