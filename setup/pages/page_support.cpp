#include "pages/page_support.h"

#include <QByteArray>
#include <QFrame>
#include <QScrollArea>
#include <QVBoxLayout>
#include <QWizardPage>
#include <utility>
#include <vector>

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
  for (const QString& p : problems) lines << QStringLiteral("• ") + displayText(p);
  label->setText(lines.join(QLatin1Char('\n')));
  label->setVisible(!problems.isEmpty());
}

QVBoxLayout* scrollingPageLayout(QWizardPage* page) {
  auto* scroll = new QScrollArea(page);
  scroll->setObjectName(QStringLiteral("pageScrollArea"));
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setWidgetResizable(true);
  scroll->setFocusPolicy(Qt::NoFocus);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
  scroll->setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
  auto* body = new QWidget(scroll);
  body->setObjectName(QStringLiteral("pageBody"));
  scroll->setWidget(body);
  // The page's own background shows through (ModernStyle paints pages white).
  scroll->viewport()->setAutoFillBackground(false);
  body->setAutoFillBackground(false);
  auto* outer = new QVBoxLayout(page);
  outer->setContentsMargins(0, 0, 0, 0);
  outer->addWidget(scroll);
  auto* layout = new QVBoxLayout(body);
  layout->setContentsMargins(0, 0, 0, 0);
  return layout;
}

QString displayText(const QString& s) {
  QString out = s;
  out.remove(QLatin1Char('`'));
  return out;
}

QString displayText(const std::string& s) { return displayText(QString::fromStdString(s)); }

QString countOf(long long n, const QString& one, const QString& many) {
  return QString::number(n) + QLatin1Char(' ') + (n == 1 ? one : many);
}

namespace {

// RFC 4514, section 2.4, as OpenSSL's XN_FLAG_RFC2253 (without escaping non-ASCII characters).
QString escapeValue(const QString& value) {
  QString out;
  for (qsizetype i = 0; i < value.size(); ++i) {
    const QChar c = value[i];
    const bool special = c == QLatin1Char(',') || c == QLatin1Char('+') || c == QLatin1Char('"') ||
                         c == QLatin1Char('\\') || c == QLatin1Char('<') || c == QLatin1Char('>') ||
                         c == QLatin1Char(';');
    const bool leading = i == 0 && (c == QLatin1Char('#') || c == QLatin1Char(' '));
    const bool trailing = i == value.size() - 1 && c == QLatin1Char(' ');
    if (special || leading || trailing) out += QLatin1Char('\\');
    out += c;
  }
  return out;
}

}  // namespace

QString subjectOf(const setup::CaIdentity& identity) {
  // The engine writes the name C, ST, L, O, OU, CN (X.500 order); RFC 4514 reads it backwards.
  const std::vector<std::pair<const char*, const std::string*>> rdns = {
      {"CN", &identity.common_name}, {"OU", &identity.organizational_unit}, {"O", &identity.organization},
      {"L", &identity.locality},     {"ST", &identity.state},               {"C", &identity.country}};
  QStringList parts;
  for (const auto& [attribute, value] : rdns) {
    if (!value->empty()) parts << QLatin1String(attribute) + QLatin1Char('=') + escapeValue(toQ(*value));
  }
  return parts.join(QLatin1Char(','));
}

Passphrase passphraseOf(const QString& text) {
  QByteArray utf8 = text.toUtf8();
  Passphrase out(ByteView(reinterpret_cast<const std::uint8_t*>(utf8.constData()), static_cast<std::size_t>(utf8.size())));
  OPENSSL_cleanse(utf8.data(), static_cast<std::size_t>(utf8.size()));
  return out;
}

}  // namespace signet::gui
