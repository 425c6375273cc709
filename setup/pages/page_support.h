// Small helpers shared by the wizard's pages: the label that shows the engine's problems for a
// page's fields, the scrolling body every page lays its widgets out in, conversions between Qt and
// standard strings, and the wording rules (no Markdown, counted nouns, one subject order).
// Thread-safety: GUI thread only.
#pragma once

#include <QLabel>
#include <QString>
#include <QStringList>
#include <string>

#include "signet/core/bytes.h"
#include "signet/setup/plan.h"

class QVBoxLayout;
class QWizardPage;

namespace signet::gui {

// A word-wrapped label in the error colour, hidden while it has nothing to say.
[[nodiscard]] QLabel* makeProblemLabel(QWidget* parent);
// Shows `problems` (one per line) in a label made by makeProblemLabel; hides it when empty.
void showProblems(QLabel* label, const QStringList& problems);

// The layout of `page`'s body: a vertical layout inside a frameless scroll area that fills the
// page, so that a page taller than the window scrolls instead of growing the window past the
// screen (the wizard keeps its size within the screen, see SetupWizard). The scroll area takes no
// focus of its own.
[[nodiscard]] QVBoxLayout* scrollingPageLayout(QWizardPage* page);

[[nodiscard]] inline QString toQ(const std::string& s) { return QString::fromStdString(s); }
[[nodiscard]] inline std::string fromQ(const QString& s) { return s.toStdString(); }
// Text from common/ (errors, findings, fixes, actions, next steps) as the GUI shows it: without the
// Markdown backticks the CLI's messages use around commands and file names.
[[nodiscard]] QString displayText(const std::string& s);
[[nodiscard]] QString displayText(const QString& s);
// "1 key entry", "2 key entries", "0 key entries": the count with the right form of the noun.
// (Qt's tr("%n ...") chooses a plural form only through a translator; without one it would say
// "1 key entries".)
[[nodiscard]] QString countOf(long long n, const QString& one, const QString& many);
// The subject a CA certificate made from `identity` carries, written as Certificate::subject()
// writes subjects (RFC 4514: the most specific attribute first, "CN=..,OU=..,O=..,L=..,ST=..,C=..",
// special characters escaped), so that the same name always reads the same.
[[nodiscard]] QString subjectOf(const setup::CaIdentity& identity);
// The UTF-8 bytes of `text` as a passphrase; the intermediate buffer is wiped.
[[nodiscard]] Passphrase passphraseOf(const QString& text);

}  // namespace signet::gui
