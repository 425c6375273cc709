// Small helpers shared by the wizard's pages: the label that shows the engine's problems for a
// page's fields, and conversions between Qt and standard strings.
// Thread-safety: GUI thread only.
#pragma once

#include <QLabel>
#include <QString>
#include <QStringList>
#include <string>

#include "signet/core/bytes.h"

namespace signet::gui {

// A word-wrapped label in the error colour, hidden while it has nothing to say.
[[nodiscard]] QLabel* makeProblemLabel(QWidget* parent);
// Shows `problems` (one per line) in a label made by makeProblemLabel; hides it when empty.
void showProblems(QLabel* label, const QStringList& problems);

[[nodiscard]] inline QString toQ(const std::string& s) { return QString::fromStdString(s); }
[[nodiscard]] inline std::string fromQ(const QString& s) { return s.toStdString(); }
// The UTF-8 bytes of `text` as a passphrase; the intermediate buffer is wiped.
[[nodiscard]] Passphrase passphraseOf(const QString& text);

}  // namespace signet::gui
