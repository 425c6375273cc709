#include "signet/keystore/store.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <unordered_map>

#include "signet/core/error.h"
#include "signet/core/file.h"
#include "signet/core/time_format.h"
#include "signet/crypto/handles.h"
#include "signet/db/migrations.h"
#include "signet/keystore/upgrade_copy.h"
#include "records.h"
#include "store_state.h"

namespace signet::keystore {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kStoreIdSize = 16;
constexpr std::size_t kSaltSize = 32;
constexpr std::string_view kSqliteMagic{"SQLite format 3\0", 16};

Bytes data_key_aad(ByteView store_id) {
  const std::string_view label = "signet/data-key/v1";
  Bytes aad(label.size() + store_id.size());
  std::copy(label.begin(), label.end(), aad.begin());
  std::copy(store_id.begin(), store_id.end(), aad.begin() + static_cast<std::ptrdiff_t>(label.size()));
  return aad;
}

// True when the file starts with SQLite's 16-byte magic. Reads only those bytes.
bool has_sqlite_header(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char head[16] = {};
  const ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  return n == static_cast<ssize_t>(kSqliteMagic.size()) &&
         std::string_view(head, sizeof head) == kSqliteMagic;
}

void require_passphrase_strength(const Passphrase& passphrase) {
  if (passphrase.size() < kMinPassphraseLength) {
    throw Error(ErrorKind::PolicyDenied, "passphrase-too-short",
                "the passphrase is " + std::to_string(passphrase.size()) +
                    " characters long; a key store passphrase needs at least " +
                    std::to_string(kMinPassphraseLength) +
                    " (generate one with `openssl rand -base64 32`)");
  }
}

void configure(db::Database& db) {
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA synchronous = FULL");
}

void fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw Error(ErrorKind::Storage, "io-error",
                "cannot sync " + path.string() + ": " + std::strerror(err), err);
  }
  ::close(fd);
}

void write_audit(db::Database& db, const Clock& clock, std::string_view actor, std::string_view action,
                 std::string_view subject, std::string_view detail) {
  db.prepare("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)")
      .bind(1, clock.unix_seconds())
      .bind(2, actor)
      .bind(3, action)
      .bind(4, subject)
      .bind(5, detail)
      .run();
}

[[noreturn]] void throw_first_error(const KeyVerdict& verdict, std::string_view what) {
  for (const Finding& f : verdict.findings) {
    if (f.severity != Severity::Error) continue;
    const ErrorKind kind = f.code == FindingCode::CertificateKeyMismatch ||
                                   f.code == FindingCode::RequestKeyMismatch ||
                                   f.code == FindingCode::ChainCertificateUnrelated ||
                                   f.code == FindingCode::CaCertificateNotCa
                               ? ErrorKind::Malformed
                               : ErrorKind::Integrity;
    throw Error(kind, std::string(f.code_name()),
                std::string(what) + ": " + f.message + " " + f.fix + " Nothing was written.");
  }
  throw Error(ErrorKind::Internal, "internal", "integrity check failed without a finding");
}

std::string findings_text(const KeyVerdict& verdict) {
  std::string out;
  for (const Finding& f : verdict.findings) {
    if (f.severity != Severity::Error) continue;
    if (!out.empty()) out += "; ";
    std::string message = f.message;
    if (!message.empty() && message.back() == '.') message.pop_back();
    out += std::string(f.code_name()) + ": " + message;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The copy made before a migration (upgrade_copy.h).

namespace {

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// Every table of the database (sqlite_sequence included) with its number of rows, by name.
std::vector<std::pair<std::string, std::int64_t>> table_row_counts(db::Database& db) {
  std::vector<std::string> names;
  {
    db::Statement s = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    while (s.step()) names.push_back(s.text(0));
  }
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const std::string& name : names) {
    db::Statement s = db.prepare("SELECT count(*) FROM " + quote_identifier(name));
    out.emplace_back(name, s.step() ? s.int64(0) : -1);
  }
  return out;
}

Bytes store_id_of(db::Database& db) {
  db::Statement s = db.prepare("SELECT store_id FROM store_meta WHERE singleton = 1");
  return s.step() && !s.is_null(0) ? s.blob(0) : Bytes{};
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string upgrade_copy_name(int schema_version, std::int64_t unix_seconds, int sequence) {
  std::string name = std::string(kUpgradeCopyPrefix) + std::to_string(schema_version) + "-" +
                     format_utc(unix_seconds, "%Y%m%dT%H%M%SZ");
  if (sequence > 1) name += "." + std::to_string(sequence);
  return name + std::string(kUpgradeCopySuffix);
}

std::optional<UpgradeCopyName> parse_upgrade_copy_name(std::string_view name) {
  if (!name.starts_with(kUpgradeCopyPrefix) || !name.ends_with(kUpgradeCopySuffix)) return std::nullopt;
  name.remove_prefix(kUpgradeCopyPrefix.size());
  name.remove_suffix(kUpgradeCopySuffix.size());
  // <version>-YYYYMMDDTHHMMSSZ[.<n>]
  const std::size_t dash = name.find('-');
  if (dash == std::string_view::npos || dash > 6 || !all_digits(name.substr(0, dash))) return std::nullopt;
  UpgradeCopyName out;
  out.schema_version = std::stoi(std::string(name.substr(0, dash)));
  name.remove_prefix(dash + 1);
  constexpr std::size_t kStampSize = 16;  // 20261205T171500Z
  if (name.size() < kStampSize) return std::nullopt;
  const std::string_view stamp = name.substr(0, kStampSize);
  if (!all_digits(stamp.substr(0, 8)) || stamp[8] != 'T' || !all_digits(stamp.substr(9, 6)) || stamp[15] != 'Z') {
    return std::nullopt;
  }
  out.taken_at = std::string(stamp);
  name.remove_prefix(kStampSize);
  if (!name.empty()) {
    if (name.front() != '.' || name.size() > 7 || !all_digits(name.substr(1))) return std::nullopt;
    out.sequence = std::stoi(std::string(name.substr(1)));
    if (out.sequence < 2) return std::nullopt;
  }
  return out;
}

namespace {

// What is wrong with the file named like a copy at `path`, or "" (upgrade_copy.h, UpgradeCopy).
std::string upgrade_copy_problem(const fs::path& path, const UpgradeCopyName& name) {
  try {
    if (!has_sqlite_header(path)) return "it is not an SQLite database";
    if (!db::has_whole_pages(path)) return "it is not a whole number of database pages (cut short)";
    db::Database copy = db::Database::open(path, db::OpenMode::Immutable);
    if (store_id_of(copy).empty()) return "it holds no key store metadata";
    if (const int v = copy.user_version(); v != name.schema_version) {
      return "it has schema version " + std::to_string(v) + ", not the " + std::to_string(name.schema_version) +
             " its name says";
    }
    return {};
  } catch (const Error& e) {
    return std::string("it cannot be read: ") + e.what();
  }
}

bool is_upgrade_temporary(std::string_view name) {
  return name.starts_with("." + std::string(kUpgradeCopyPrefix)) && name.find(".tmp-") != std::string_view::npos;
}

}  // namespace

std::vector<std::string> remove_stale_upgrade_temporaries(const fs::path& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!is_upgrade_temporary(name)) continue;
    if (::unlink(it->path().c_str()) == 0) removed.push_back(name);
  }
  return removed;
}

std::vector<UpgradeCopy> list_upgrade_copies(const fs::path& dir) {
  std::vector<UpgradeCopy> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto parsed = parse_upgrade_copy_name(it->path().filename().string());
    struct stat st {};
    if (!parsed || ::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back(UpgradeCopy{it->path(), *parsed, static_cast<std::uintmax_t>(st.st_size),
                              static_cast<unsigned>(st.st_mode & 07777), upgrade_copy_problem(it->path(), *parsed)});
  }
  std::sort(out.begin(), out.end(), [](const UpgradeCopy& a, const UpgradeCopy& b) {
    return std::tie(a.name.taken_at, a.name.sequence, a.name.schema_version) <
           std::tie(b.name.taken_at, b.name.sequence, b.name.schema_version);
  });
  return out;
}

void verify_upgrade_copy(db::Database& source, const fs::path& copy, int schema_version) {
  const auto invalid = [&copy](const std::string& what) {
    return Error(ErrorKind::Integrity, "upgrade-copy-invalid",
                 "the copy of the key store made before migrating it, " + copy.string() + ", " + what +
                     ". It was not kept and nothing was migrated: the key store is unchanged. Check the "
                     "disk (free space, I/O errors in the kernel log) and run the command again");
  };
  // Immutable: the copy is ours alone, and checking it must leave no -journal or -wal beside it.
  db::Database target = db::Database::open(copy, db::OpenMode::Immutable);
  {
    std::string result;
    db::Statement s = target.prepare("PRAGMA integrity_check");
    while (s.step()) result += (result.empty() ? "" : "; ") + s.text(0);
    if (result != "ok") throw invalid("fails SQLite's integrity check (" + result + ")");
  }
  if (const int v = target.user_version(); v != schema_version) {
    throw invalid("has schema version " + std::to_string(v) + " instead of " + std::to_string(schema_version));
  }
  const Bytes id = store_id_of(target);
  if (id.empty() || id != store_id_of(source)) throw invalid("does not hold the same store id");
  const auto want = table_row_counts(source);
  const auto got = table_row_counts(target);
  for (const auto& entry : want) {
    // (Not a structured binding: clang 14, the fuzz build's compiler, cannot capture one.)
    const std::string& table = entry.first;
    const std::int64_t rows = entry.second;
    const auto found = std::find_if(got.begin(), got.end(), [&table](const auto& t) { return t.first == table; });
    if (found == got.end()) throw invalid("lacks the table " + table);
    if (found->second != rows) {
      throw invalid("has " + std::to_string(found->second) + " rows in " + table + " where the store has " +
                    std::to_string(rows));
    }
  }
  if (got.size() != want.size()) throw invalid("has tables that the store does not have");
}

fs::path write_upgrade_copy(db::Database& source, const fs::path& dir, int schema_version, const Clock& clock) {
  const fs::path tmp = dir / ("." + upgrade_copy_name(schema_version, clock.unix_seconds()) + ".tmp-" +
                              to_hex(crypto::random_bytes(6)));
  const auto failed = [&tmp](const std::string& what, int err = 0) {
    return Error(ErrorKind::Storage, "upgrade-copy-failed",
                 "cannot copy the key store before migrating it (" + what + (err ? std::string(": ") + std::strerror(err) : "") +
                     "), so nothing was migrated and the key store is unchanged. Free space in " +
                     tmp.parent_path().string() + " or fix what the message names, and run the command again",
                 err);
  };
  const auto remove_tmp = [&tmp] {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    fs::remove(fs::path(tmp.string() + "-journal"), ignored);
  };
  try {
    {
      db::Database target = db::Database::open(tmp, db::OpenMode::ReadWriteCreate);
      if (::chmod(tmp.c_str(), 0600) != 0) throw failed("setting the mode of " + tmp.string(), errno);
      // SQLite cannot back up from a connection in a write transaction (source holds the migration's
      // write lock), so a second, read-only connection reads the store: with the lock held nobody
      // can change it, and it sees what source sees, the WAL included.
      db::Database reader = db::Database::open(source.path(), db::OpenMode::ReadOnly);
      // One self-contained file (no -wal to keep beside it), as an older Signet can open it.
      db::copy_into(reader, target, "copying the key store to " + tmp.string());
    }
    // Root (an operator's `signet`) upgrading a store that belongs to the service's user: the copy
    // belongs to that user too, so that going back with it leaves a signet.db the service can open.
    if (struct stat st {}; ::geteuid() == 0 && ::stat(source.path().c_str(), &st) == 0 &&
                           (st.st_uid != 0 || st.st_gid != 0)) {
      if (::chown(tmp.c_str(), st.st_uid, st.st_gid) != 0) throw failed("giving " + tmp.string() + " to the store's owner", errno);
    }
    fsync_path(tmp);
    verify_upgrade_copy(source, tmp, schema_version);
    // Never replace a file: a second copy in the same second gets the next sequence number.
    for (int sequence = 1;; ++sequence) {
      const fs::path path = dir / upgrade_copy_name(schema_version, clock.unix_seconds(), sequence);
      if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
        file::sync_directory(dir);
        return path;
      }
      const int err = errno;
      if (err != EEXIST || sequence >= 1000) throw failed("renaming it to " + path.string(), err);
    }
  } catch (...) {
    remove_tmp();
    throw;
  }
}


KeyStore::KeyStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
KeyStore::KeyStore(KeyStore&&) noexcept = default;
KeyStore& KeyStore::operator=(KeyStore&&) noexcept = default;
KeyStore::~KeyStore() = default;

fs::path KeyStore::database_path(const fs::path& dir) { return dir / kStoreFileName; }

void KeyStore::set_actor(std::string actor) { state_->actor = std::move(actor); }

KeyContext KeyStore::context() const { return KeyContext{state_->store_id, state_->data_key.view()}; }

SecretBytes KeyStore::derive_secret(std::string_view purpose) const {
  return derive_secret(state_->data_key.view(), purpose);
}

SecretBytes KeyStore::derive_secret(ByteView data_key, std::string_view purpose) {
  const std::string info = "signet " + std::string(purpose);
  ossl::Kdf kdf{EVP_KDF_fetch(nullptr, "HKDF", nullptr)};
  ossl::KdfCtx ctx{kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr};
  if (!ctx) throw_openssl(ErrorKind::Crypto, "kdf-unavailable", "HKDF is unavailable");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(data_key.data()),
                                        data_key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out(crypto::kAeadKeySize);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    throw_openssl(ErrorKind::Crypto, "kdf-failed", "HKDF key derivation failed");
  }
  return out;
}

void KeyStore::validate_name(const std::string& name) {
  const bool printable = std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;  // UTF-8 continuation bytes are >= 0x80 and allowed
  });
  if (name.empty() || name.size() > 128 || !printable || name.front() == ' ' ||
      name.back() == ' ' || name.front() == '-') {
    throw Error(ErrorKind::Malformed, "invalid-name",
                "\"" + name + "\" is not a valid key name: use 1 to 128 printable characters, not "
                              "starting with '-' or a space and not ending with a space");
  }
}

KeyStore KeyStore::create(const fs::path& dir, const Passphrase& passphrase,
                          const crypto::ScryptParams& kdf, const Clock& clock) {
  require_passphrase_strength(passphrase);
  kdf.validate();
  file::ensure_private_directory(dir);
  file::require_writable_directory(dir);
  const fs::path path = database_path(dir);
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec))) {
    throw Error(ErrorKind::Conflict, "store-exists",
                "a key store already exists at " + path.string() +
                    "; Signet never overwrites one. Use it with its passphrase, or move it away "
                    "first if you really mean to start over");
  }

  // Build the whole store under a temporary name, then rename it into place.
  const fs::path tmp = dir / (".signet.db.init-" + to_hex(crypto::random_bytes(6)));
  auto cleanup = [&tmp] {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    fs::remove(fs::path(tmp.string() + "-journal"), ignored);
  };
  auto state = std::make_unique<State>(State{dir, db::Database::open(tmp, db::OpenMode::ReadWriteCreate),
                                             crypto::random_bytes(kStoreIdSize),
                                             SecretBytes(crypto::kAeadKeySize), &clock, "signet", nullptr});
  try {
    if (::chmod(tmp.c_str(), 0600) != 0) {
      throw Error(ErrorKind::Storage, "io-error", "cannot set the mode of " + tmp.string());
    }
    crypto::random_bytes(std::span(state->data_key.data(), state->data_key.size()));
    configure(state->db);
    db::migrate(state->db, schema_migrations());
    const Bytes salt = crypto::random_bytes(kSaltSize);
    const SecretBytes wrapping_key = crypto::scrypt(passphrase.view(), salt, kdf);
    const Bytes wrapped =
        crypto::aead_seal(wrapping_key.view(), state->data_key.view(), data_key_aad(state->store_id));
    const std::int64_t now = clock.unix_seconds();
    {
      db::Transaction tx(state->db);
      state->db
          .prepare(
              "INSERT INTO store_meta (singleton, store_id, created_at, kdf_algorithm, kdf_n, "
              "kdf_r, kdf_p, kdf_salt, wrapped_data_key, passphrase_changed_at) "
              "VALUES (1, ?, ?, 'scrypt', ?, ?, ?, ?, ?, ?)")
          .bind(1, ByteView(state->store_id))
          .bind(2, now)
          .bind(3, static_cast<std::int64_t>(kdf.n))
          .bind(4, static_cast<std::int64_t>(kdf.r))
          .bind(5, static_cast<std::int64_t>(kdf.p))
          .bind(6, ByteView(salt))
          .bind(7, ByteView(wrapped))
          .bind(8, now)
          .run();
      write_audit(state->db, clock, state->actor, "store.init", "",
                  "store id " + to_hex(state->store_id) + ", scrypt N=" + std::to_string(kdf.n) +
                      " r=" + std::to_string(kdf.r) + " p=" + std::to_string(kdf.p));
      tx.commit();
    }
    // Close, make the bytes durable, then publish under the real name without clobbering.
    state->db.close();
    fsync_path(tmp);
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
      const int err = errno;
      throw Error(err == EEXIST ? ErrorKind::Conflict : ErrorKind::Storage,
                  err == EEXIST ? "store-exists" : "io-error",
                  "cannot create " + path.string() + ": " + std::strerror(err), err);
    }
    file::sync_directory(dir);
  } catch (...) {
    cleanup();
    throw;
  }
  state->db = db::Database::open(path, db::OpenMode::ReadWrite);
  state->db.exec("PRAGMA journal_mode = WAL");
  configure(state->db);
  return KeyStore(std::move(state));
}

KeyStore KeyStore::open(const fs::path& dir, const Passphrase& passphrase, const Clock& clock) {
  return open(dir, passphrase, Access::ReadWrite, clock);
}

KeyStore KeyStore::open(const fs::path& dir, const Passphrase& passphrase, Access access, const Clock& clock) {
  const bool read_only = access == Access::ReadOnly;
  const fs::path path = database_path(dir);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      throw Error(ErrorKind::NotFound, "store-missing",
                  "no key store at " + path.string() +
                      ": create one with `signet store init`, restore a backup, or point "
                      "--data-dir (SIGNET_DATA_DIR) at the right directory");
    }
    throw Error(ErrorKind::Storage, "io-error",
                "cannot read " + path.string() + ": " + std::strerror(err), err);
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(ErrorKind::Malformed, "not-a-store", path.string() + " is not a regular file");
  }
  if (st.st_size == 0) {
    throw Error(ErrorKind::Malformed, "not-a-store",
                path.string() + " is empty (0 bytes), so it holds no key store. Restore the store "
                                "from a backup; if there never was one, remove the file and run "
                                "`signet store init`");
  }
  if (!has_sqlite_header(path)) {
    throw Error(ErrorKind::Malformed, "not-a-store",
                path.string() + " is not an SQLite database, so it is not a Signet key store "
                                "(it was overwritten or damaged). Restore it from a backup");
  }
  if (!read_only) file::require_writable_directory(dir);

  if (!db::has_whole_pages(path)) {
    throw Error(ErrorKind::Integrity, "store-corrupt",
                path.string() + " is not a whole number of database pages: the file was cut short "
                                "(truncated): restore it from a backup");
  }
  // Looking leaves no trace: when no connection has the store open (no -wal or -shm beside it), it
  // is read immutable, so that SQLite creates neither; otherwise read-only alongside the writer.
  const auto side_file = [&path](const char* suffix) {
    std::error_code ec;
    return fs::exists(path.string() + suffix, ec);
  };
  const db::OpenMode mode = !read_only ? db::OpenMode::ReadWrite
                            : side_file("-wal") || side_file("-shm") ? db::OpenMode::ReadOnly
                                                                     : db::OpenMode::Immutable;
  db::Database db = db::Database::open(path, mode);
  // SQLite's own errors on a damaged file already say "restore it from a backup" (throw_sqlite).
  if (const std::string problems = db.quick_check(); !problems.empty()) {
    throw Error(ErrorKind::Integrity, "store-corrupt",
                path.string() + " failed SQLite's integrity check (" + problems +
                    "): the file is damaged. Restore it from a backup");
  }
  const bool has_meta = [&] {
    db::Statement s = db.prepare(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'store_meta'");
    return s.step() && s.int64(0) == 1;
  }();
  // A schema newer than this build is refused first (migrate() throws "schema-too-new"); any
  // other database without store_meta is not ours, whatever its user_version says, and must not
  // be migrated.
  const int latest = db::latest_version(schema_migrations());
  if (db.user_version() > latest) {
    throw Error(ErrorKind::Unsupported, "schema-too-new",
                path.string() + " has schema version " + std::to_string(db.user_version()) +
                    ", newer than this build of Signet knows (" + std::to_string(latest) +
                    "); it was written by a newer Signet: upgrade signet before using this store");
  }
  if (!has_meta) {
    throw Error(ErrorKind::Malformed, "not-a-store",
                path.string() + " is an SQLite database but not a Signet key store");
  }

  db::Statement meta = db.prepare(
      "SELECT store_id, kdf_algorithm, kdf_n, kdf_r, kdf_p, kdf_salt, wrapped_data_key "
      "FROM store_meta WHERE singleton = 1");
  if (!meta.step()) {
    throw Error(ErrorKind::Integrity, "store-corrupt",
                path.string() + " has no store metadata row: the store is damaged. Restore it "
                                "from a backup");
  }
  Bytes store_id = meta.blob(0);
  if (meta.text(1) != "scrypt") {
    throw Error(ErrorKind::Unsupported, "kdf-unsupported",
                path.string() + " uses the key derivation \"" + meta.text(1) +
                    "\", which this build does not know; upgrade signet");
  }
  const auto to_u = [](std::int64_t v) { return v < 0 ? 0u : static_cast<std::uint64_t>(v); };
  const crypto::ScryptParams kdf{to_u(meta.int64(2)), static_cast<std::uint32_t>(to_u(meta.int64(3))),
                                 static_cast<std::uint32_t>(to_u(meta.int64(4)))};
  const Bytes salt = meta.blob(5);
  const Bytes wrapped = meta.blob(6);
  meta = db.prepare("SELECT 1");  // finalize before the store is handed out

  const SecretBytes wrapping_key = crypto::scrypt(passphrase.view(), salt, kdf);
  auto data_key = crypto::aead_open(wrapping_key.view(), wrapped, data_key_aad(store_id));
  if (!data_key || data_key->size() != crypto::kAeadKeySize) {
    throw Error(ErrorKind::Unauthorized, "wrong-passphrase",
                "wrong passphrase for the key store " + path.string() +
                    " (the data key did not decrypt). Check the passphrase or passphrase file; "
                    "nothing was changed");
  }
  std::unique_ptr<file::PrivateTempDir> scratch;
  std::optional<StoreMigration> migration;
  if (read_only) {
    // Looking writes nothing: no migration, no journal-mode change. An older schema is migrated
    // in a private copy, which goes away with this KeyStore.
    if (db.user_version() < latest) {
      scratch = std::make_unique<file::PrivateTempDir>();
      const fs::path copy = scratch->path() / kStoreFileName;
      {
        db::Database target = db::Database::open(copy, db::OpenMode::ReadWriteCreate);
        db::copy_into(db, target, "copying " + path.string());
      }
      db = db::Database::open(copy, db::OpenMode::ReadWrite);
      db::migrate(db, schema_migrations());
      db = db::Database::open(copy, db::OpenMode::ReadOnly);  // writes fail here too
    }
    db.exec("PRAGMA foreign_keys = ON");
  } else {
    // Only now, with the right passphrase, may the store be changed (store_meta is the same in
    // every schema version, so it could be read before migrating). An older store is first copied
    // and the copy verified (upgrade_copy.h), under the migration's write lock: a second process
    // opening the same old store waits, then finds it migrated and copies nothing.
    fs::path copy;
    int migrated_from = 0;
    const db::MigrationHooks hooks{
        .before =
            [&](int version, int) {
              migrated_from = version;
              copy = write_upgrade_copy(db, dir, version, clock);
            },
        .after =
            [&](int from, int to) {
              // The store is opened before its user sets an actor: name the program and uid that
              // migrated (signetd after an upgrade, or an operator's signet).
              write_audit(db, clock, "signet", "store.migrate", "",
                          "schema " + std::to_string(from) + " -> " + std::to_string(to) + ", verified copy " +
                              copy.filename().string() + ", by " + program_invocation_short_name + " (uid " +
                              std::to_string(::geteuid()) + ")");
            },
    };
    try {
      db::migrate(db, schema_migrations(), hooks);
    } catch (const Error& e) {
      if (copy.empty()) throw;
      // The migration rolled back: signet.db is byte for byte what it was, so the copy adds
      // nothing, and keeping one per attempt would fill the disk when a service restarts in a loop.
      std::error_code ignored;
      fs::remove(copy, ignored);
      throw Error(e.kind(), e.code(),
                  "migrating " + path.string() + " from schema version " + std::to_string(migrated_from) + " to " +
                      std::to_string(latest) + " failed: " + e.what() +
                      ". Nothing was changed: the store is still at schema version " + std::to_string(migrated_from) +
                      " and works with the Signet that wrote it (the copy made before the migration, " +
                      copy.filename().string() + ", was removed as it is the same). Fix what the message " +
                      "names (free space, permissions) and run the command again; if it names neither, keep " +
                      "the Signet that wrote the store and report the message",
                  e.native_code());
    }
    if (!copy.empty()) migration = StoreMigration{migrated_from, latest, copy};
    // The store is at the latest schema, so no copy is being made by anyone: what a killed
    // migration left (a full-size temporary copy each time) goes now.
    (void)remove_stale_upgrade_temporaries(dir);
    db.exec("PRAGMA journal_mode = WAL");
    configure(db);
  }
  auto state = std::make_unique<State>(
      State{dir, std::move(db), std::move(store_id), *std::move(data_key), &clock, "signet", std::move(scratch)});
  state->migration = std::move(migration);
  return KeyStore(std::move(state));
}

std::optional<StoreMigration> KeyStore::migration() const { return state_->migration; }

StoreInfo KeyStore::info() {
  StoreInfo out;
  out.path = database_path(state_->dir);
  out.store_id_hex = to_hex(state_->store_id);
  out.schema_version = state_->db.user_version();
  db::Statement s = state_->db.prepare(
      "SELECT kdf_n, kdf_r, kdf_p, created_at, passphrase_changed_at, "
      "(SELECT count(*) FROM keys) FROM store_meta WHERE singleton = 1");
  if (s.step()) {
    out.kdf = {static_cast<std::uint64_t>(s.int64(0)), static_cast<std::uint32_t>(s.int64(1)),
               static_cast<std::uint32_t>(s.int64(2))};
    out.created_at = s.int64(3);
    out.passphrase_changed_at = s.int64(4);
    out.key_count = static_cast<std::size_t>(s.int64(5));
  }
  return out;
}

void KeyStore::audit(std::string_view action, std::string_view subject, std::string_view detail) {
  write_audit(state_->db, *state_->clock, state_->actor, action, subject, detail);
}

void KeyStore::change_passphrase(const Passphrase& new_passphrase,
                                 std::optional<crypto::ScryptParams> kdf) {
  require_passphrase_strength(new_passphrase);
  const crypto::ScryptParams params = kdf ? *kdf : info().kdf;
  params.validate();
  const Bytes salt = crypto::random_bytes(kSaltSize);
  const SecretBytes wrapping_key = crypto::scrypt(new_passphrase.view(), salt, params);
  const Bytes wrapped =
      crypto::aead_seal(wrapping_key.view(), state_->data_key.view(), data_key_aad(state_->store_id));
  db::Transaction tx(state_->db);
  state_->db
      .prepare(
          "UPDATE store_meta SET kdf_n = ?, kdf_r = ?, kdf_p = ?, kdf_salt = ?, "
          "wrapped_data_key = ?, passphrase_changed_at = ? WHERE singleton = 1")
      .bind(1, static_cast<std::int64_t>(params.n))
      .bind(2, static_cast<std::int64_t>(params.r))
      .bind(3, static_cast<std::int64_t>(params.p))
      .bind(4, ByteView(salt))
      .bind(5, ByteView(wrapped))
      .bind(6, state_->clock->unix_seconds())
      .run();
  audit("store.passwd", "", "data key re-wrapped, scrypt N=" + std::to_string(params.n));
  tx.commit();
}

KeyVerdict KeyStore::insert_key(
    const std::string& name, const EVP_PKEY* key,
    const std::vector<std::pair<std::string, crypto::Certificate>>& certificates,
    const std::vector<crypto::CertificateRequest>& requests, std::string_view source,
    const std::string& comment, std::string_view action, std::optional<std::int64_t> created_at) {
  validate_name(name);
  const auto algorithm = crypto::algorithm_of(key);
  if (!algorithm) {
    throw Error(ErrorKind::PolicyDenied, "algorithm-unsupported",
                "the key is " + crypto::describe_key(key) +
                    ", which Signet does not store; supported algorithms are " +
                    crypto::algorithm_list() + ". Nothing was written");
  }
  const Bytes spki = crypto::public_key_der(key);
  const Fingerprint fp = crypto::fingerprint_of_spki(spki);
  const std::string algorithm_name(crypto::to_string(*algorithm));
  const SecretBytes plain = crypto::private_key_der(key);
  const std::int64_t now = state_->clock->unix_seconds();
  const std::int64_t created = created_at.value_or(now);
  {
    db::Statement s = state_->db.prepare("SELECT name FROM keys WHERE name = ? OR fingerprint = ?");
    s.bind(1, name).bind(2, ByteView(fp.bytes));
    while (s.step()) {
      if (s.text(0) == name) {
        throw Error(ErrorKind::Conflict, "name-taken",
                    "a key named \"" + name + "\" already exists; choose another name (--name)");
      }
      throw Error(ErrorKind::Conflict, "key-exists",
                  "this key is already in the store as \"" + s.text(0) + "\" (fingerprint " +
                      fp.hex() + "); nothing was written");
    }
  }
  state_->db
      .prepare(
          "INSERT INTO keys (name, algorithm, public_key, fingerprint, encrypted_private_key, "
          "source, created_at, comment) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)")
      .bind(1, name)
      .bind(2, algorithm_name)
      .bind(3, ByteView(spki))
      .bind(4, ByteView(fp.bytes))
      .bind(5, source)
      .bind(6, created)
      .bind(7, comment)
      .run();
  KeyRecord record;
  record.id = KeyId{state_->db.last_insert_rowid()};
  record.name = name;
  record.algorithm = algorithm_name;
  record.public_key = spki;
  record.fingerprint = fp.bytes;
  record.encrypted_private_key = crypto::aead_seal(
      state_->data_key.view(), plain.view(),
      entry_aad(state_->store_id, record.id, algorithm_name, fp.bytes));
  record.source = std::string(source);
  record.created_at = created;
  record.comment = comment;
  for (std::size_t i = 0; i < certificates.size(); ++i) {
    record.certificates.push_back(AttachedCertificate{0, certificates[i].first,
                                                      static_cast<std::int64_t>(i),
                                                      certificates[i].second.der(), now});
  }
  for (const auto& req : requests) record.requests.push_back(AttachedRequest{0, req.der(), now});

  // The entry must pass the same check that the listing runs, before anything is committed.
  KeyVerdict verdict = check_key(context(), record, state_->clock->now());
  if (!verdict.reusable()) throw_first_error(verdict, "refusing to store key \"" + name + "\"");

  state_->db.prepare("UPDATE keys SET encrypted_private_key = ? WHERE id = ?")
      .bind(1, ByteView(*record.encrypted_private_key))
      .bind(2, record.id.value)
      .run();
  for (const AttachedCertificate& c : record.certificates) {
    state_->db
        .prepare("INSERT INTO key_certificates (key_id, role, position, der, added_at) "
                 "VALUES (?, ?, ?, ?, ?)")
        .bind(1, record.id.value)
        .bind(2, c.role)
        .bind(3, c.position)
        .bind(4, ByteView(c.der))
        .bind(5, now)
        .run();
  }
  for (const AttachedRequest& r : record.requests) {
    state_->db.prepare("INSERT INTO key_requests (key_id, der, added_at) VALUES (?, ?, ?)")
        .bind(1, record.id.value)
        .bind(2, ByteView(r.der))
        .bind(3, now)
        .run();
  }
  audit(action, name,
        algorithm_name + " " + fp.hex() + ", " + std::to_string(record.certificates.size()) +
            " certificate(s), " + std::to_string(record.requests.size()) + " request(s)");
  return verdict;
}

KeyVerdict KeyStore::generate(const std::string& name, crypto::KeyAlgorithm algorithm,
                              const std::string& comment) {
  validate_name(name);
  const ossl::Pkey key = crypto::generate_key(algorithm);
  db::Transaction tx(state_->db);
  KeyVerdict verdict = insert_key(name, key.get(), {}, {}, kSourceGenerated, comment, "key.generate");
  tx.commit();
  return verdict;
}

KeyVerdict KeyStore::import(const std::string& name, KeyMaterial material, std::string_view source,
                            const std::string& comment) {
  validate_name(name);
  if (!material.key) {
    throw Error(ErrorKind::Malformed, "private-key-missing",
                "there is no private key to import; a certificate request or certificate is not "
                "a key. Nothing was written");
  }
  // The key's own certificates first (role ca or leaf), then its issuer chain in order.
  std::vector<std::pair<std::string, crypto::Certificate>> ordered;
  std::vector<crypto::Certificate> rest;
  for (auto& cert : material.certificates) {
    if (crypto::same_public_key(cert.public_key(), material.key.get())) {
      ordered.emplace_back(cert.is_ca() ? kRoleCa : kRoleLeaf, std::move(cert));
    } else {
      rest.push_back(std::move(cert));
    }
  }
  if (ordered.empty() && !rest.empty()) {
    throw Error(ErrorKind::Malformed, "certificate-key-mismatch",
                "the certificate \"" + rest.front().subject() +
                    "\" does not belong to the private key it came with (their public keys "
                    "differ). Import the key with its own certificate. Nothing was written");
  }
  while (!rest.empty()) {
    const crypto::Certificate& last = ordered.back().second;
    auto issuer = std::find_if(rest.begin(), rest.end(),
                               [&last](const crypto::Certificate& c) { return last.issued_by(c); });
    if (issuer == rest.end()) {
      throw Error(ErrorKind::Malformed, "chain-certificate-unrelated",
                  "the certificate \"" + rest.front().subject() +
                      "\" is neither the key's own certificate nor an issuer in its chain. "
                      "Remove it from the file. Nothing was written");
    }
    ordered.emplace_back(std::string(kRoleChain), std::move(*issuer));
    rest.erase(issuer);
  }
  db::Transaction tx(state_->db);
  // A key made here (setup generates the CA key with its certificate) is audited as generated.
  KeyVerdict verdict = insert_key(name, material.key.get(), ordered, material.requests, source, comment,
                                  source == kSourceGenerated ? "key.generate" : "key.import");
  tx.commit();
  return verdict;
}

void KeyStore::attach_certificate(const std::string& name, const crypto::Certificate& certificate) {
  db::Transaction tx(state_->db);
  auto rec = record(name);
  if (!rec) {
    throw Error(ErrorKind::NotFound, "key-not-found", "no key named \"" + name + "\"");
  }
  std::int64_t position = 0;
  for (const auto& c : rec->certificates) position = std::min(position, c.position);
  --position;  // own certificates go before the chain
  rec->certificates.insert(rec->certificates.begin(),
                           AttachedCertificate{0, certificate.is_ca() ? std::string(kRoleCa) : std::string(kRoleLeaf),
                                               position, certificate.der(), state_->clock->unix_seconds()});
  const KeyVerdict verdict = check_key(context(), *rec, state_->clock->now());
  if (!verdict.reusable()) throw_first_error(verdict, "cannot attach the certificate to \"" + name + "\"");
  const AttachedCertificate& c = rec->certificates.front();
  state_->db
      .prepare("INSERT INTO key_certificates (key_id, role, position, der, added_at) "
               "VALUES (?, ?, ?, ?, ?)")
      .bind(1, rec->id.value)
      .bind(2, c.role)
      .bind(3, c.position)
      .bind(4, ByteView(c.der))
      .bind(5, c.added_at)
      .run();
  audit("key.attach-certificate", name, certificate.subject() + " serial " + certificate.serial_hex());
  tx.commit();
}

void KeyStore::attach_request(const std::string& name, const crypto::CertificateRequest& request) {
  db::Transaction tx(state_->db);
  auto rec = record(name);
  if (!rec) {
    throw Error(ErrorKind::NotFound, "key-not-found", "no key named \"" + name + "\"");
  }
  rec->requests.push_back(AttachedRequest{0, request.der(), state_->clock->unix_seconds()});
  const KeyVerdict verdict = check_key(context(), *rec, state_->clock->now());
  if (!verdict.reusable()) throw_first_error(verdict, "cannot attach the request to \"" + name + "\"");
  state_->db.prepare("INSERT INTO key_requests (key_id, der, added_at) VALUES (?, ?, ?)")
      .bind(1, rec->id.value)
      .bind(2, ByteView(request.der()))
      .bind(3, rec->requests.back().added_at)
      .run();
  audit("key.attach-request", name, request.subject());
  tx.commit();
}

std::vector<KeyRecord> KeyStore::records() { return load_key_records(state_->db, nullptr); }

std::optional<KeyRecord> KeyStore::record(const std::string& name) {
  auto found = load_key_records(state_->db, &name);
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

IntegrityReport KeyStore::check_all() {
  const std::vector<KeyRecord> all = records();
  return check_keys(context(), all, state_->clock->now());
}

std::vector<KeyVerdict> KeyStore::check(std::span<const std::string> names) {
  std::vector<KeyRecord> selected;
  for (const std::string& name : names) {
    auto rec = record(name);
    if (!rec) {
      throw Error(ErrorKind::NotFound, "key-not-found",
                  "no key named \"" + name + "\" (see `signet keys list --all`)");
    }
    selected.push_back(*std::move(rec));
  }
  const IntegrityReport report = check_keys(context(), selected, state_->clock->now());
  // Put the verdicts back in the order asked for, one per name asked (a name may be asked twice).
  // Both lists keep the order of `selected`, so each record's verdict is at the head of one.
  std::vector<KeyVerdict> out;
  std::size_t next_reusable = 0;
  std::size_t next_excluded = 0;
  for (const KeyRecord& r : selected) {
    if (next_reusable < report.reusable.size() && report.reusable[next_reusable].id == r.id) {
      out.push_back(report.reusable[next_reusable++]);
    } else {
      out.push_back(report.excluded[next_excluded++]);
    }
  }
  return out;
}

UnlockedKey KeyStore::unlock_key(const std::string& name) {
  auto rec = record(name);
  if (!rec) {
    throw Error(ErrorKind::NotFound, "key-not-found",
                "no key named \"" + name + "\" (see `signet keys list --all`)");
  }
  UnlockedKey out;
  out.verdict = check_key(context(), *rec, state_->clock->now());
  if (!out.verdict.reusable()) {
    throw Error(ErrorKind::Integrity, "key-invalid",
                "key \"" + name + "\" failed its integrity check and cannot be used: " +
                    findings_text(out.verdict) + ". See `signet keys verify " + name + "`");
  }
  out.key = decrypt_private_key(context(), *rec);
  if (!out.key) {
    throw Error(ErrorKind::Internal, "internal", "a key that passed its check did not decrypt");
  }
  for (const AttachedCertificate& c : rec->certificates) {
    out.certificates.push_back(crypto::Certificate::from_der(c.der));
  }
  return out;
}

void KeyStore::rename(const std::string& old_name, const std::string& new_name) {
  validate_name(new_name);
  db::Transaction tx(state_->db);
  if (!record(old_name)) {
    throw Error(ErrorKind::NotFound, "key-not-found", "no key named \"" + old_name + "\"");
  }
  if (old_name == new_name) return;
  if (record(new_name)) {
    throw Error(ErrorKind::Conflict, "name-taken",
                "a key named \"" + new_name + "\" already exists; choose another name");
  }
  // signetd.toml names the installation's CA key (store.ca_key): renamed here alone, signetd would
  // find no such key and refuse to start.
  if (const auto inst = installation(); inst && record(old_name)->fingerprint == inst->ca_fingerprint) {
    throw Error(ErrorKind::Conflict, "key-installed",
                "key \"" + old_name + "\" is the CA key of the installation in this store (" + inst->state +
                    "), and signetd.toml names it (store.ca_key): renamed, signetd would not find it and would "
                    "not start. Keep its name. Nothing was renamed");
  }
  state_->db.prepare("UPDATE keys SET name = ? WHERE name = ?").bind(1, new_name).bind(2, old_name).run();
  audit("key.rename", new_name, "renamed from \"" + old_name + "\"");
  tx.commit();
}

void KeyStore::remove(const std::string& name) {
  db::Transaction tx(state_->db);
  db::Statement s = state_->db.prepare("SELECT id, algorithm, fingerprint FROM keys WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) {
    throw Error(ErrorKind::NotFound, "key-not-found", "no key named \"" + name + "\"");
  }
  const std::int64_t id = s.int64(0);
  const std::string detail = s.text(1) + " " + (s.is_null(2) ? "" : to_hex(s.blob(2)));
  // The installed CA key (or the one whose certificate an installation awaits) is never deleted
  // here: without it signetd cannot start, sign a CRL or answer OCSP for what it issued.
  if (const auto inst = installation(); inst && !s.is_null(2) && s.blob(2) == inst->ca_fingerprint) {
    throw Error(ErrorKind::Conflict, "key-installed",
                "key \"" + name + "\" is the CA key of the installation in this store (" + inst->state +
                    "): signetd signs with it, and without it the CA could neither start nor publish CRLs and "
                    "OCSP answers for the certificates it issued. To retire it, install another CA key first "
                    "(signet setup), then delete this one. Nothing was deleted");
  }
  s = state_->db.prepare("DELETE FROM keys WHERE id = ?");
  s.bind(1, id).run();
  audit("key.delete", name, detail);
  tx.commit();
}

std::vector<AuditEntry> KeyStore::audit_log() {
  std::vector<AuditEntry> out;
  db::Statement s =
      state_->db.prepare("SELECT at, actor, action, subject, detail FROM audit_log ORDER BY id");
  while (s.step()) out.push_back(AuditEntry{s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4)});
  return out;
}

std::optional<Installation> KeyStore::installation() {
  db::Statement s = state_->db.prepare(
      "SELECT state, ca_fingerprint, ca_certificate, answers, updated_at FROM installation "
      "WHERE singleton = 1");
  if (!s.step()) return std::nullopt;
  return Installation{s.text(0), s.blob(1), s.optional_blob(2), s.text(3), s.int64(4)};
}

void KeyStore::set_installation(const Installation& inst) {
  db::Transaction tx(state_->db);
  db::Statement s = state_->db.prepare(
      "INSERT OR REPLACE INTO installation (singleton, state, ca_fingerprint, ca_certificate, "
      "answers, updated_at) VALUES (1, ?, ?, ?, ?, ?)");
  s.bind(1, inst.state).bind(2, ByteView(inst.ca_fingerprint));
  if (inst.ca_certificate_sha256) s.bind(3, ByteView(*inst.ca_certificate_sha256)); else s.bind_null(3);
  s.bind(4, inst.answers).bind(5, state_->clock->unix_seconds()).run();
  audit("setup.apply", name_of_fingerprint(inst.ca_fingerprint).value_or(""),
        inst.state + ", CA key " + to_hex(inst.ca_fingerprint));
  tx.commit();
}

std::optional<std::string> KeyStore::name_of_fingerprint(ByteView fingerprint) {
  db::Statement s = state_->db.prepare("SELECT name FROM keys WHERE fingerprint = ?");
  s.bind(1, fingerprint);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

}  // namespace signet::keystore
