#include "key_picker_model.h"

#include <QDateTime>
#include <QStringList>
#include <chrono>
#include <stdexcept>

namespace signet::gui {
namespace {

QString date(std::int64_t seconds) {
  return QDateTime::fromSecsSinceEpoch(seconds, Qt::UTC).toString(QStringLiteral("yyyy-MM-dd"));
}

}  // namespace

QStringList warningsOf(const keystore::KeyVerdict& verdict) {
  QStringList out;
  for (const keystore::Finding& f : verdict.findings) {
    if (f.severity == keystore::Severity::Warning) out << QString::fromStdString(f.message).remove(QLatin1Char('`'));
  }
  return out;
}

KeyPickerModel::KeyPickerModel(QObject* parent) : QAbstractTableModel(parent) {}

void KeyPickerModel::setKeys(std::vector<PickerKey> keys) {
  for (const PickerKey& k : keys) {
    if (!k.verdict.reusable()) {
      throw std::invalid_argument("the key picker offers only keys that passed the integrity check; \"" +
                                  k.verdict.name + "\" did not");
    }
  }
  beginResetModel();
  keys_ = std::move(keys);
  endResetModel();
}

void KeyPickerModel::clear() {
  beginResetModel();
  keys_.clear();
  endResetModel();
}

std::vector<std::string> KeyPickerModel::names() const {
  std::vector<std::string> out;
  for (const PickerKey& k : keys_) out.push_back(k.verdict.name);
  return out;
}

int KeyPickerModel::rowOf(const std::string& name) const {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].verdict.name == name) return static_cast<int>(i);
  }
  return -1;
}

int KeyPickerModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(keys_.size());
}

int KeyPickerModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant KeyPickerModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const PickerKey& k = keys_[static_cast<std::size_t>(index.row())];
  const keystore::KeyVerdict& v = k.verdict;
  // "The" CA certificate is k.ca_certificate (setup::choose_ca_certificate, the one rule); a key
  // without one shows its first certificate, if any.
  const auto* cert = v.certificates.empty() ? nullptr : &v.certificates.front();
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case NameColumn: return QString::fromStdString(v.name);
      case AlgorithmColumn: return QString::fromStdString(v.algorithm);
      // The start of the fingerprint tells keys apart; all of it is in the details pane.
      case FingerprintColumn: return QString::fromStdString(v.fingerprint_hex.substr(0, 12)) + QStringLiteral("…");
      case SubjectColumn:
        if (k.ca_certificate) return QString::fromStdString(k.ca_certificate->subject());
        return cert ? QString::fromStdString(cert->subject) : tr("(no certificate)");
      case ExpiresColumn:
        if (k.ca_certificate) {
          return date(std::chrono::duration_cast<std::chrono::seconds>(k.ca_certificate->not_after().time_since_epoch()).count());
        }
        return cert ? date(cert->not_after) : QString();
      case NotesColumn: {
        const QStringList w = warningsOf(v);
        return w.isEmpty() ? QString() : QStringLiteral("⚠ ") + w.join(QStringLiteral("; "));
      }
      default: return {};
    }
  }
  if (role == Qt::ToolTipRole) {
    if (index.column() == FingerprintColumn) return QStringLiteral("SHA256:") + QString::fromStdString(v.fingerprint_hex);
    if (index.column() == NotesColumn || index.column() == ExpiresColumn) {
      QStringList lines;
      for (const keystore::Finding& f : v.findings) {
        QString line = QString::fromStdString(f.message) + QStringLiteral(" ") + QString::fromStdString(f.fix);
        lines << line.remove(QLatin1Char('`'));
      }
      return lines.isEmpty() ? QVariant() : QVariant(lines.join(QLatin1Char('\n')));
    }
  }
  return {};
}

QVariant KeyPickerModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case NameColumn: return tr("Name");
    case AlgorithmColumn: return tr("Algorithm");
    case FingerprintColumn: return tr("SHA-256");
    case SubjectColumn: return tr("Certificate subject");
    case ExpiresColumn: return tr("Expires");
    case NotesColumn: return tr("Notes");
    default: return {};
  }
}

}  // namespace signet::gui
