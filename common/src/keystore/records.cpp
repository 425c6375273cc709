#include "records.h"

#include <unordered_map>

namespace signet::keystore {

std::vector<KeyRecord> load_key_records(db::Database& db, const std::string* only_name) {
  std::vector<KeyRecord> out;
  std::unordered_map<std::int64_t, std::size_t> index;
  {
    db::Statement s = db.prepare(
        only_name != nullptr
            ? "SELECT id, name, algorithm, public_key, fingerprint, encrypted_private_key, source, "
              "created_at, comment FROM keys WHERE name = ?"
            : "SELECT id, name, algorithm, public_key, fingerprint, encrypted_private_key, source, "
              "created_at, comment FROM keys ORDER BY name");
    if (only_name != nullptr) s.bind(1, *only_name);
    while (s.step()) {
      KeyRecord r;
      r.id = KeyId{s.int64(0)};
      r.name = s.text(1);
      r.algorithm = s.text(2);
      r.public_key = s.optional_blob(3);
      r.fingerprint = s.optional_blob(4);
      r.encrypted_private_key = s.optional_blob(5);
      r.source = s.text(6);
      r.created_at = s.int64(7);
      r.comment = s.text(8);
      index.emplace(r.id.value, out.size());
      out.push_back(std::move(r));
    }
  }
  if (out.empty()) return out;
  const std::string filter = only_name != nullptr ? " WHERE key_id = ?" : "";
  {
    db::Statement s = db.prepare(
        "SELECT key_id, id, role, position, der, added_at FROM key_certificates" + filter +
        " ORDER BY key_id, position, id");
    if (only_name != nullptr) s.bind(1, out.front().id.value);
    while (s.step()) {
      const auto it = index.find(s.int64(0));
      if (it == index.end()) continue;  // foreign keys keep this from happening
      out[it->second].certificates.push_back(
          AttachedCertificate{s.int64(1), s.text(2), s.int64(3), s.blob(4), s.int64(5)});
    }
  }
  {
    db::Statement s = db.prepare("SELECT key_id, id, der, added_at FROM key_requests" +
                                         filter + " ORDER BY key_id, id");
    if (only_name != nullptr) s.bind(1, out.front().id.value);
    while (s.step()) {
      const auto it = index.find(s.int64(0));
      if (it == index.end()) continue;
      out[it->second].requests.push_back(AttachedRequest{s.int64(1), s.blob(2), s.int64(3)});
    }
  }
  return out;
}

}  // namespace signet::keystore
