// KeyPickerModel: the keys of the store that passed the full integrity check just now, as the
// key page's picker shows them (README, section What "valid" means). It holds only reusable
// verdicts: setKeys() drops nothing silently but refuses anything else, so an invalid key can
// never be offered. Excluded entries are shown beside it by the page, never in it.
//
// Thread-safety: GUI thread only (it is a Qt model).
#pragma once

#include <QAbstractTableModel>
#include <optional>
#include <vector>

#include "signet/crypto/certificate.h"
#include "signet/keystore/integrity.h"
#include "signet/setup/inspect.h"

namespace signet::gui {

// One offered key as setup::inspect_store / inspect_backup report it: its verdict (reusable,
// possibly with warnings), its CA certificate (setup::choose_ca_certificate) and every attached
// certificate.
using PickerKey = setup::OfferedKey;

// The warnings of a verdict (findings of severity Warning), one message each.
[[nodiscard]] QStringList warningsOf(const keystore::KeyVerdict& verdict);

class KeyPickerModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  // The table fits the page without horizontal scrolling: the creation date and the full
  // fingerprint are in the key page's details pane; Notes (the warnings) is always on screen.
  enum Column { NameColumn, AlgorithmColumn, FingerprintColumn, SubjectColumn, ExpiresColumn, NotesColumn,
                ColumnCount };

  explicit KeyPickerModel(QObject* parent = nullptr);

  // Replaces the rows. Throws std::invalid_argument if any verdict is not reusable: the caller
  // must pass IntegrityReport::reusable only.
  void setKeys(std::vector<PickerKey> keys);
  void clear();

  [[nodiscard]] const PickerKey& key(int row) const { return keys_.at(static_cast<std::size_t>(row)); }
  [[nodiscard]] std::vector<std::string> names() const;
  // The row of the key named `name`; -1 when it is not offered.
  [[nodiscard]] int rowOf(const std::string& name) const;

  [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
  [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
  [[nodiscard]] QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                    int role = Qt::DisplayRole) const override;

 private:
  std::vector<PickerKey> keys_;
};

}  // namespace signet::gui
