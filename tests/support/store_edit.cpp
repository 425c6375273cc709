#include "support/store_edit.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "signet/keystore/store.h"

namespace signet::test {

namespace {

// Column names are spliced into SQL, so only known ones are accepted.
std::string checked_column(std::string_view column) {
  constexpr std::array<std::string_view, 7> kColumns = {
      "public_key", "fingerprint", "encrypted_private_key", "algorithm", "name",
      "source",     "comment"};
  if (std::find(kColumns.begin(), kColumns.end(), column) == kColumns.end()) {
    throw std::invalid_argument("StoreEditor: unknown keys column " + std::string(column));
  }
  return std::string(column);
}

}  // namespace

StoreEditor::StoreEditor(const std::filesystem::path& store_dir)
    : db_(db::Database::open(keystore::KeyStore::database_path(store_dir),
                             db::OpenMode::ReadWrite)) {}

std::int64_t StoreEditor::key_id(const std::string& name) {
  db::Statement s = db_.prepare("SELECT id FROM keys WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) throw std::runtime_error("StoreEditor: no key named " + name);
  return s.int64(0);
}

std::vector<std::string> StoreEditor::key_names() {
  std::vector<std::string> out;
  db::Statement s = db_.prepare("SELECT name FROM keys ORDER BY name");
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::optional<Bytes> StoreEditor::key_blob(const std::string& name, std::string_view column) {
  db::Statement s = db_.prepare("SELECT " + checked_column(column) + " FROM keys WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) throw std::runtime_error("StoreEditor: no key named " + name);
  return s.optional_blob(0);
}

void StoreEditor::set_key_blob(const std::string& name, std::string_view column,
                               const std::optional<Bytes>& value) {
  db::Statement s =
      db_.prepare("UPDATE keys SET " + checked_column(column) + " = ? WHERE name = ?");
  if (value) {
    s.bind(1, ByteView(*value));
  } else {
    s.bind_null(1);
  }
  s.bind(2, name).run();
  if (db_.changes() != 1) throw std::runtime_error("StoreEditor: no key named " + name);
}

void StoreEditor::set_key_text(const std::string& name, std::string_view column,
                               std::string_view value) {
  db::Statement s =
      db_.prepare("UPDATE keys SET " + checked_column(column) + " = ? WHERE name = ?");
  s.bind(1, value).bind(2, name).run();
  if (db_.changes() != 1) throw std::runtime_error("StoreEditor: no key named " + name);
}

void StoreEditor::flip_key_byte(const std::string& name, std::string_view column, std::size_t index,
                                std::uint8_t mask) {
  if (mask == 0) throw std::invalid_argument("StoreEditor: a zero mask changes nothing");
  std::optional<Bytes> value = key_blob(name, column);
  if (!value || index >= value->size()) {
    throw std::out_of_range("StoreEditor: byte " + std::to_string(index) + " of " +
                            std::string(column) + " of " + name + " does not exist");
  }
  (*value)[index] ^= mask;
  set_key_blob(name, column, value);
}

void StoreEditor::swap_key_blobs(const std::string& a, const std::string& b,
                                 std::string_view column) {
  const std::optional<Bytes> va = key_blob(a, column);
  const std::optional<Bytes> vb = key_blob(b, column);
  set_key_blob(a, column, vb);
  set_key_blob(b, column, va);
}

std::vector<StoreEditor::CertificateRow> StoreEditor::certificates(const std::string& name) {
  std::vector<CertificateRow> out;
  db::Statement s = db_.prepare(
      "SELECT id, role, der FROM key_certificates WHERE key_id = ? ORDER BY position, id");
  s.bind(1, key_id(name));
  while (s.step()) out.push_back(CertificateRow{s.int64(0), s.text(1), s.blob(2)});
  return out;
}

void StoreEditor::insert_certificate(const std::string& name, std::string_view role,
                                     std::int64_t position, const Bytes& der) {
  db_.prepare(
         "INSERT INTO key_certificates (key_id, role, position, der, added_at) "
         "VALUES (?, ?, ?, ?, 0)")
      .bind(1, key_id(name))
      .bind(2, role)
      .bind(3, position)
      .bind(4, ByteView(der))
      .run();
}

void StoreEditor::set_certificate_der(std::int64_t certificate_row, const Bytes& der) {
  db_.prepare("UPDATE key_certificates SET der = ? WHERE id = ?")
      .bind(1, ByteView(der))
      .bind(2, certificate_row)
      .run();
  if (db_.changes() != 1) throw std::runtime_error("StoreEditor: no such certificate row");
}

void StoreEditor::set_certificate_role(std::int64_t certificate_row, std::string_view role) {
  db_.prepare("UPDATE key_certificates SET role = ? WHERE id = ?")
      .bind(1, role)
      .bind(2, certificate_row)
      .run();
  if (db_.changes() != 1) throw std::runtime_error("StoreEditor: no such certificate row");
}

std::vector<Bytes> StoreEditor::requests(const std::string& name) {
  std::vector<Bytes> out;
  db::Statement s = db_.prepare("SELECT der FROM key_requests WHERE key_id = ? ORDER BY id");
  s.bind(1, key_id(name));
  while (s.step()) out.push_back(s.blob(0));
  return out;
}

void StoreEditor::insert_request(const std::string& name, const Bytes& der) {
  db_.prepare("INSERT INTO key_requests (key_id, der, added_at) VALUES (?, ?, 0)")
      .bind(1, key_id(name))
      .bind(2, ByteView(der))
      .run();
}

void StoreEditor::set_requests_der(const std::string& name, const Bytes& der) {
  db_.prepare("UPDATE key_requests SET der = ? WHERE key_id = ?")
      .bind(1, ByteView(der))
      .bind(2, key_id(name))
      .run();
  if (db_.changes() < 1) throw std::runtime_error("StoreEditor: " + name + " has no request");
}

}  // namespace signet::test
