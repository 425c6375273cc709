// signet-setup: installs or reinstalls a Signet CA (see setup_wizard.h).
#include <QApplication>

#include "setup_wizard.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("signet-setup"));
  signet::gui::SetupWizard wizard;
  wizard.show();
  return QApplication::exec();
}
