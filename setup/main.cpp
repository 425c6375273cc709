// signet-setup: installs or reinstalls a Signet CA (see setup_wizard.h). The command line is checked,
// and --help and --version print and exit, before any GUI is set up: all of that works without a
// display. Without one, it says so and exits with 1 instead of letting Qt abort.
#include <QApplication>
#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QStringList>
#include <QtGlobal>
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

// Qt's own options for GUI programs, which QApplication and its platform plugin (xcb) take out of
// the command line themselves (Qt 6: qguiapplication.cpp, qapplication.cpp, qxcbintegration.cpp).
// The check before QApplication accepts them, hidden from --help, with the value they take.
void accept_qt_options(QCommandLineParser& parser) {
  const auto add = [&parser](const char* name, bool takes_value) {
    QCommandLineOption option(QString::fromLatin1(name), QStringLiteral("Qt's option"),
                              takes_value ? QStringLiteral("value") : QString());
    option.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOption(option);
  };
  for (const char* name : {"platform", "platformpluginpath", "platformtheme", "plugin", "qwindowgeometry", "geometry",
                           "qwindowtitle", "title", "qwindowicon", "icon", "session", "style", "stylesheet",
                           "display", "name", "visual", "qmljsdebugger"})
    add(name, true);
  for (const char* name : {"reverse", "testability", "widgetcount", "nograb", "dograb"}) add(name, false);
}

// An unknown option (or one without its value): 1, as QCommandLineParser::process() exits; an
// argument that is not an option: 2. 0 when the command line is right.
int check_command_line(const QCommandLineParser& parser, bool parsed) {
  if (!parsed) {
    std::fprintf(stderr, "signet-setup: %s\n", qPrintable(parser.errorText()));
    return 1;
  }
  if (!parser.positionalArguments().isEmpty()) {
    std::fprintf(stderr, "signet-setup: unexpected argument \"%s\" (see --help)\n",
                 qPrintable(parser.positionalArguments().front()));
    return 2;
  }
  return 0;
}

bool environment_set(const char* name) { return !qEnvironmentVariableIsEmpty(name); }

// Whether Qt takes "-name value" (or "--name value") from argv: only that form, not "-name=value".
bool qt_option_given(int argc, char** argv, const char* name) {
  const QString single = QLatin1Char('-') + QLatin1String(name);
  for (int i = 1; i + 1 < argc; ++i) {
    const QString arg = QString::fromLocal8Bit(argv[i]);
    if (arg == single || arg == QLatin1Char('-') + single) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  QCoreApplication::setApplicationName(QStringLiteral("signet-setup"));
  QCoreApplication::setApplicationVersion(QStringLiteral(SIGNET_VERSION));
  {
    // Before QApplication: it would need a display (or abort without one) just to print help or
    // to report a wrong command line.
    QStringList arguments;
    for (int i = 0; i < argc; ++i) arguments << QString::fromLocal8Bit(argv[i]);
    QCommandLineParser parser;
    // Qt's options are single words after one dash (-platform offscreen), not compacted letters.
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    describe(parser);
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    accept_qt_options(parser);
    const bool parsed = parser.parse(arguments);
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
    if (const int status = check_command_line(parser, parsed); status != 0) return status;
#if defined(Q_OS_UNIX) && !defined(Q_OS_DARWIN)
    // Qt's xcb and wayland plugins find the display through these; without any, QApplication
    // aborts (SIGABRT) with a hint to reinstall. A platform chosen explicitly (QT_QPA_PLATFORM,
    // -platform offscreen) or an X display given with -display is left to Qt.
    if (!environment_set("DISPLAY") && !environment_set("WAYLAND_DISPLAY") && !environment_set("QT_QPA_PLATFORM") &&
        !qt_option_given(argc, argv, "platform") && !qt_option_given(argc, argv, "display")) {
      std::fputs("signet-setup: no display (DISPLAY and WAYLAND_DISPLAY are unset): run it in a graphical "
                 "session, or use `signet setup --answers FILE` on a server without one\n",
                 stderr);
      return 1;
    }
#endif
  }
  QApplication app(argc, argv);
  {
    // QApplication took its own options out of argv; anything left must be ours (this catches a
    // form of a Qt option that the check above accepted but Qt did not take, like -title on
    // another platform than xcb).
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    describe(parser);
    parser.addHelpOption();
    parser.addVersionOption();
    const bool parsed = parser.parse(QCoreApplication::arguments());
    if (const int status = check_command_line(parser, parsed); status != 0) return status;
  }
  signet::gui::SetupWizard wizard;
  wizard.show();
  return QApplication::exec();
}
