#include "pages/page_support.h"

#include <QByteArray>

#include <openssl/crypto.h>

namespace signet::gui {

QLabel* makeProblemLabel(QWidget* parent) {
  auto* label = new QLabel(parent);
  label->setWordWrap(true);
  label->setTextFormat(Qt::PlainText);
  label->setStyleSheet(QStringLiteral("QLabel { color: #b00020; }"));
  label->setTextInteractionFlags(Qt::TextSelectableByMouse);
  label->setVisible(false);
  return label;
}

void showProblems(QLabel* label, const QStringList& problems) {
  QStringList lines;
  for (const QString& p : problems) lines << QStringLiteral("• ") + p;
  label->setText(lines.join(QLatin1Char('\n')));
  label->setVisible(!problems.isEmpty());
}

Passphrase passphraseOf(const QString& text) {
  QByteArray utf8 = text.toUtf8();
  Passphrase out(ByteView(reinterpret_cast<const std::uint8_t*>(utf8.constData()), static_cast<std::size_t>(utf8.size())));
  OPENSSL_cleanse(utf8.data(), static_cast<std::size_t>(utf8.size()));
  return out;
}

}  // namespace signet::gui
