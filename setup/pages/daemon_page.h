// DaemonPage: what signetd listens on and calls itself (SetupPlan::daemon), and, for a
// reinstall, whether the current configuration is replaced (SetupPlan::replace_configuration).
// Thread-safety: GUI thread only.
#pragma once

#include <QWizardPage>

class QCheckBox;
class QLabel;
class QLineEdit;
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
  [[nodiscard]] QCheckBox* replaceConfigurationBox() const noexcept { return replace_; }
  [[nodiscard]] QLabel* problemLabel() const noexcept { return problems_; }

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
  QLabel* problems_;
  bool loading_ = false;
};

}  // namespace signet::gui
