#include "signet/backup/backup.h"

#include <unistd.h>

#include <unordered_map>
#include <utility>

#include "../keystore/records.h"
#include "signet/backup/container.h"
#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/crypto/primitives.h"
#include "signet/db/migrations.h"
#include "signet/keystore/key_file.h"

namespace signet::backup {

namespace fs = std::filesystem;

namespace {

// What is wrong with a manifest's shape ("" when nothing): an object whose members, where present,
// have the types Signet writes, so that no reader of it meets a surprise.
std::string manifest_problem(const nlohmann::json& m) {
  if (!m.is_object()) return "it is not a JSON object";
  for (const char* key : {"backup_id", "created", "tool_version", "store_id"}) {
    if (const auto it = m.find(key); it != m.end() && !it->is_string()) return std::string(key) + " is not a string";
  }
  if (const auto it = m.find("ca_name"); it != m.end() && !it->is_string() && !it->is_null()) {
    return "ca_name is not a string";
  }
  if (const auto it = m.find("schema_version"); it != m.end() && !it->is_number_unsigned()) {
    return "schema_version is not a whole number";
  }
  if (const auto it = m.find("counts"); it != m.end()) {
    if (!it->is_object()) return "counts is not an object";
    for (const auto& [name, value] : it->items()) {
      if (!value.is_number_unsigned()) return "counts." + name + " is not a whole number";
    }
  }
  if (const auto it = m.find("installation"); it != m.end() && !it->is_object() && !it->is_null()) {
    return "installation is not an object";
  }
  return "";
}

void remove_scratch(const fs::path& p) {
  if (p.empty()) return;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((p.string() + suffix).c_str());
}

// A file that is not a backup: say what it is, so that the Q174781 case gets its real answer.
[[noreturn]] void explain_not_a_backup(const fs::path& file) {
  Bytes contents;
  try {
    contents = file::read(file, 1u << 20);
  } catch (const Error& e) {
    // Missing, unreadable: that error says it best. Too large for a key file, a request or a
    // certificate: it is simply not a backup (say, a damaged one, or the store's own signet.db).
    if (e.code() != "file-too-large") throw;
    throw Error(ErrorKind::Malformed, "not-a-backup",
                file.string() + " is not a Signet backup (backups are made with `signet backup "
                                "create`). Nothing was restored.");
  }
  try {
    (void)keystore::parse_key_file(contents, file.string(), nullptr);
  } catch (const Error& e) {
    if (e.code() == "private-key-missing") {
      throw Error(ErrorKind::Malformed, "private-key-missing",
                  file.string() + " is not a backup: it holds a certificate request or certificate "
                                  "but no private key, and a key cannot be rebuilt from those. "
                                  "Restore a full backup made with `signet backup create`, or "
                                  "import the private key itself with `signet keys import`. "
                                  "Nothing was restored.");
    }
    if (e.code() == "import-passphrase-required" || e.code() == "wrong-import-passphrase") {
      throw Error(ErrorKind::Malformed, "not-a-backup",
                  file.string() + " is an encrypted key file, not a Signet backup: import it with "
                                  "`signet keys import`. Nothing was restored.");
    }
    throw Error(ErrorKind::Malformed, "not-a-backup",
                file.string() + " is not a Signet backup (backups are made with `signet backup "
                                "create`). Nothing was restored.");
  }
  throw Error(ErrorKind::Malformed, "not-a-backup",
              file.string() + " is a key file, not a Signet backup: import it with `signet keys "
                              "import`. Nothing was restored.");
}

void put_blob(Bytes& out, const std::optional<Bytes>& b) {
  const std::uint64_t n = b ? b->size() : ~std::uint64_t{0};
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(n >> s));
  if (b) out.insert(out.end(), b->begin(), b->end());
}

}  // namespace

Bytes entry_digest(const keystore::KeyRecord& r) {
  Bytes data;
  auto text = [&data](const std::string& s) { put_blob(data, Bytes(s.begin(), s.end())); };
  text(r.name);
  text(r.algorithm);
  put_blob(data, r.public_key);
  put_blob(data, r.fingerprint);
  put_blob(data, r.encrypted_private_key);
  for (const auto& c : r.certificates) {
    text(c.role);
    put_blob(data, c.der);
  }
  for (const auto& q : r.requests) put_blob(data, q.der);
  return crypto::sha256(data);
}

OpenedBackup::OpenedBackup(OpenedBackup&& other) noexcept { *this = std::move(other); }

OpenedBackup& OpenedBackup::operator=(OpenedBackup&& other) noexcept {
  if (this == &other) return *this;
  // The scratch database this object held belongs to no one after the move: remove it now. The
  // moved-from object must not remove the one it handed over.
  db_.reset();
  remove_scratch(scratch_);
  manifest_ = std::move(other.manifest_);
  store_id_ = std::move(other.store_id_);
  backup_id_ = std::move(other.backup_id_);
  data_key_ = std::move(other.data_key_);
  scratch_ = std::exchange(other.scratch_, fs::path());
  db_ = std::move(other.db_);
  other.db_.reset();
  records_ = std::move(other.records_);
  verdicts_ = std::move(other.verdicts_);
  return *this;
}

OpenedBackup::~OpenedBackup() {
  db_.reset();
  remove_scratch(scratch_);
}

void check_is_backup(const fs::path& file) {
  if (!fs::exists(file)) {
    throw Error(ErrorKind::NotFound, "file-not-found", file.string() + " does not exist");
  }
  if (!looks_like_backup(file)) explain_not_a_backup(file);
}

OpenedBackup OpenedBackup::open(const fs::path& file, const Passphrase& passphrase,
                                const fs::path& scratch_dir, TimePoint now) {
  check_is_backup(file);
  // The scratch copy goes into the target's directory: say plainly when that is not writable.
  file::require_writable_directory(scratch_dir);

  OpenedBackup out;
  out.scratch_ = scratch_dir / (".restore-" + to_hex(crypto::random_bytes(8)) + ".db");
  try {
    OpenedContainer container = read_container(file, passphrase, out.scratch_);
    try {
      out.manifest_ = nlohmann::json::parse(container.manifest_json);
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::Integrity, "backup-corrupt",
                  file.string() + " has an unreadable manifest although it authenticated: it was "
                                  "not written by Signet. Nothing was restored");
    }
    if (const std::string problem = manifest_problem(out.manifest_); !problem.empty()) {
      throw Error(ErrorKind::Integrity, "backup-corrupt",
                  file.string() + " has a manifest that Signet did not write (" + problem +
                      "), although it authenticated. Nothing was restored");
    }
    if (container.secrets.size() != crypto::kAeadKeySize) {
      throw Error(ErrorKind::Integrity, "backup-corrupt",
                  file.string() + " does not hold a data key. Nothing was restored");
    }
    out.data_key_ = std::move(container.secrets);
    out.backup_id_ = [&] {
      const auto id = out.manifest_.value("backup_id", std::string());
      return Bytes(id.begin(), id.end());
    }();

    // The inner database: it authenticated, but check it as carefully as a store on disk.
    out.db_.emplace(db::Database::open(out.scratch_, db::OpenMode::ReadWrite));
    db::Database& db = *out.db_;
    std::string problems;
    if (!db::has_whole_pages(out.scratch_)) problems = "the file is not a whole number of pages: it was cut short";
    if (problems.empty()) {
      try {
        db.exec("PRAGMA journal_mode = DELETE");
        problems = db.quick_check();
      } catch (const Error& e) {
        problems = e.what();
      }
    }
    if (!problems.empty()) {
      throw Error(ErrorKind::Integrity, "backup-database-corrupt",
                  "the database inside " + file.string() + " is damaged (" + problems +
                      "); the backup was made from a damaged store. Use another backup. Nothing "
                      "was restored");
    }
    try {
      db::migrate(db, keystore::schema_migrations());
    } catch (const Error& e) {
      if (e.code() == "schema-too-new") {
        throw Error(ErrorKind::Unsupported, "schema-too-new",
                    file.string() + " was made by a newer Signet (its store schema is newer than "
                                    "this build knows): upgrade signet to restore it. Nothing was "
                                    "restored");
      }
      throw;
    }
    db::Statement meta = db.prepare("SELECT store_id FROM store_meta WHERE singleton = 1");
    if (!meta.step()) {
      throw Error(ErrorKind::Integrity, "backup-database-corrupt",
                  "the database inside " + file.string() + " has no store metadata. Nothing was restored");
    }
    out.store_id_ = meta.blob(0);
    meta = db.prepare("SELECT 1");

    out.records_ = keystore::load_key_records(db, nullptr);
    // Check on all cores, then put the verdicts back in record order.
    keystore::IntegrityReport report = keystore::check_keys(out.context(), out.records_, now);
    std::unordered_map<std::int64_t, keystore::KeyVerdict> by_id;
    for (auto* list : {&report.reusable, &report.excluded}) {
      for (auto& v : *list) by_id.emplace(v.id.value, std::move(v));
    }
    for (const auto& r : out.records_) {
      keystore::KeyVerdict v = std::move(by_id.at(r.id.value));
      // A damaged copy inside a backup: the local entry's fix ("restore a backup") would send the
      // operator in a circle.
      if (!v.reusable()) {
        for (keystore::Finding& f : v.findings) {
          if (f.severity == keystore::Severity::Error) f.fix = keystore::backup_copy_fix(f.code);
        }
      }
      out.verdicts_.push_back(std::move(v));
    }
  } catch (...) {
    out.db_.reset();
    remove_scratch(out.scratch_);
    out.scratch_.clear();
    throw;
  }
  return out;
}

}  // namespace signet::backup
