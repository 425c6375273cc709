// signet-setup: installs or reinstalls a Signet CA (see setup_wizard.h). --help and --version print
// and exit before any GUI is set up, so they work without a display.
#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QStringList>
#include <cstdio>

#include "setup_wizard.h"
#include "signet/core/version.h"

#ifndef SIGNET_VERSION
#error "SIGNET_VERSION must be defined (setup/CMakeLists.txt)"
#endif

namespace {

void describe(QCommandLineParser& parser) {
  parser.setApplicationDescription(QStringLiteral(
      "Installs or reinstalls a Signet certificate authority: a new CA, a reinstall with a key from the key\n"
      "store, a restore of a backup followed by a reinstall, or a subordinate CA. Nothing is written before\n"
      "the summary page is confirmed. On a server without a display, use `signet setup --answers FILE`\n"
      "instead; it applies the same plan through the same engine.")
      .remove(QLatin1Char('`')));
}

}  // namespace

int main(int argc, char** argv) {
  QCoreApplication::setApplicationName(QStringLiteral("signet-setup"));
  QCoreApplication::setApplicationVersion(QStringLiteral(SIGNET_VERSION));
  {
    // Before QApplication: it would need a display (or abort without one) just to print help.
    QStringList arguments;
    for (int i = 0; i < argc; ++i) arguments << QString::fromLocal8Bit(argv[i]);
    QCommandLineParser parser;
    describe(parser);
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    (void)parser.parse(arguments);  // Qt's own options (-platform, -style, ...) are checked below
    if (parser.isSet(help) || parser.isSet(QStringLiteral("help-all"))) {
      // Without a QCoreApplication, Qt cannot name the program itself.
      QString text = parser.helpText();
      text.replace(QStringLiteral("<executable_name>"), QStringLiteral("signet-setup"));
      std::fputs(qPrintable(text), stdout);
      std::fputs("\nQt's options for GUI programs (-platform, -style, ...) are accepted too.\n", stdout);
      return 0;
    }
    if (parser.isSet(version)) {
      std::printf("%s\n", signet::version_text("signet-setup").c_str());
      return 0;
    }
  }
  QApplication app(argc, argv);
  {
    // QApplication took its own options out of argv; anything left must be ours.
    QCommandLineParser parser;
    describe(parser);
    parser.addHelpOption();
    parser.addVersionOption();
    parser.process(app);  // an unknown option: prints the error and exits with 1
    if (!parser.positionalArguments().isEmpty()) {
      std::fprintf(stderr, "signet-setup: unexpected argument \"%s\" (see --help)\n",
                   qPrintable(parser.positionalArguments().front()));
      return 2;
    }
  }
  signet::gui::SetupWizard wizard;
  wizard.show();
  return QApplication::exec();
}
