#include "signet/backup/container.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "signet/core/error.h"
#include "signet/core/file.h"

namespace signet::backup {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "SIGNETBK";
constexpr std::uint8_t kKdfScrypt = 1;
constexpr std::size_t kSaltSize = 32;
constexpr std::size_t kFileIdSize = 16;
constexpr std::size_t kMaxManifestSize = 16u << 20;
constexpr std::size_t kMaxSecretsSize = 4096;
constexpr std::uint32_t kMaxChunkSize = 16u << 20;

void put_u16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put_u32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
void put_u64(Bytes& b, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
std::uint64_t get_be(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

Bytes chunk_aad(ByteView header, std::uint64_t index, bool final) {
  Bytes aad(header.begin(), header.end());
  put_u64(aad, index);
  aad.push_back(final ? 1 : 0);
  return aad;
}

[[noreturn]] void io_error(const std::string& what, const fs::path& path, int err) {
  const bool full = err == ENOSPC || err == EDQUOT;
  throw Error(ErrorKind::Storage, full ? "disk-full" : "io-error",
              what + " " + path.string() + ": " + std::strerror(err) +
                  (full ? " (the disk is full: free space and retry; nothing was kept)" : ""),
              err);
}

class File {
 public:
  File(const fs::path& path, int flags, mode_t mode = 0600) : path_(path) {
    fd_ = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd_ < 0) {
      const int err = errno;
      if (err == ENOENT) {
        throw Error(ErrorKind::NotFound, "file-not-found", path.string() + " does not exist", err);
      }
      if (err == EEXIST) {
        throw Error(ErrorKind::Conflict, "file-exists", path.string() + " already exists", err);
      }
      io_error("cannot open", path, err);
    }
  }
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  void write(ByteView data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        io_error("cannot write", path_, errno);
      }
      done += static_cast<std::size_t>(n);
    }
  }
  // Reads up to n bytes; fewer only at end of file.
  std::size_t read(std::uint8_t* out, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t got = ::read(fd_, out + done, n - done);
      if (got < 0) {
        if (errno == EINTR) continue;
        io_error("cannot read", path_, errno);
      }
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    return done;
  }
  void sync() {
    if (::fsync(fd_) != 0) io_error("cannot sync", path_, errno);
  }
  void close() {
    if (fd_ >= 0 && ::close(std::exchange(fd_, -1)) != 0) io_error("cannot close", path_, errno);
  }

 private:
  fs::path path_;
  int fd_ = -1;
};

// Encrypts a plaintext stream into chunks. A chunk is emitted only once more data is known to
// follow, so that the last one can carry the final flag.
class ChunkWriter {
 public:
  ChunkWriter(File& out, SecretBytes key, Bytes header, std::uint32_t chunk_size)
      : out_(out), key_(std::move(key)), header_(std::move(header)), chunk_size_(chunk_size) {}

  void write(ByteView data) {
    while (!data.empty()) {
      if (buffer_.size() == chunk_size_) emit(false);  // more data follows: not final
      const std::size_t take = std::min<std::size_t>(data.size(), chunk_size_ - buffer_.size());
      buffer_.append(data.first(take));
      data = data.subspan(take);
    }
  }
  void finish() { emit(true); }

 private:
  void emit(bool final) {
    const Bytes sealed = crypto::aead_seal(key_.view(), buffer_.view(), chunk_aad(header_, index_, final));
    Bytes len;
    put_u32(len, static_cast<std::uint32_t>(sealed.size()));
    out_.write(len);
    out_.write(sealed);
    buffer_.wipe();
    ++index_;
  }

  File& out_;
  SecretBytes key_;
  Bytes header_;
  std::uint32_t chunk_size_;
  SecretBytes buffer_;
  std::uint64_t index_ = 0;
};

void write_section_header(ChunkWriter& w, Section type, std::uint64_t length) {
  Bytes h;
  h.push_back(static_cast<std::uint8_t>(type));
  put_u64(h, length);
  w.write(h);
}

[[noreturn]] void corrupt(const fs::path& in, const std::string& what) {
  throw Error(ErrorKind::Integrity, "backup-corrupt",
              in.string() + " is damaged: " + what +
                  ". The backup cannot be trusted; use another copy. Nothing was restored");
}

}  // namespace

bool looks_like_backup(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char head[8] = {};
  const ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  return n == 8 && std::string_view(head, 8) == kMagic;
}

void write_container(const fs::path& out, const Passphrase& passphrase, const crypto::ScryptParams& kdf,
                     const std::string& manifest_json, const SecretBytes& secrets,
                     const fs::path& database_file, std::uint32_t chunk_size) {
  kdf.validate();
  if (chunk_size == 0 || chunk_size > kMaxChunkSize) {
    throw Error(ErrorKind::Internal, "bad-chunk-size", "invalid backup chunk size");
  }
  std::error_code ec;
  if (fs::exists(fs::symlink_status(out, ec))) {
    throw Error(ErrorKind::Conflict, "file-exists",
                out.string() + " already exists; Signet never overwrites a backup. Choose another name");
  }
  int log2n = 0;
  while ((std::uint64_t{1} << log2n) < kdf.n) ++log2n;

  Bytes header(kMagic.begin(), kMagic.end());
  put_u16(header, kFormatVersion);
  header.push_back(kKdfScrypt);
  header.push_back(static_cast<std::uint8_t>(log2n));
  put_u32(header, kdf.r);
  put_u32(header, kdf.p);
  const Bytes salt = crypto::random_bytes(kSaltSize);
  header.insert(header.end(), salt.begin(), salt.end());
  const Bytes file_id = crypto::random_bytes(kFileIdSize);
  header.insert(header.end(), file_id.begin(), file_id.end());
  put_u32(header, chunk_size);
  put_u16(header, 0);
  if (header.size() != kHeaderSize) throw Error(ErrorKind::Internal, "internal", "backup header size");

  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  const fs::path tmp = dir / ("." + out.filename().string() + ".tmp-" + to_hex(crypto::random_bytes(6)));
  try {
    File file(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    file.write(header);
    ChunkWriter writer(file, crypto::scrypt(passphrase.view(), salt, kdf), header, chunk_size);

    write_section_header(writer, Section::Manifest, manifest_json.size());
    writer.write(as_bytes(manifest_json));
    write_section_header(writer, Section::Secrets, secrets.size());
    writer.write(secrets.view());

    File db(database_file, O_RDONLY);
    const std::uint64_t db_size = fs::file_size(database_file);
    write_section_header(writer, Section::Database, db_size);
    SecretBytes buf(chunk_size);
    std::uint64_t copied = 0;
    for (;;) {
      const std::size_t n = db.read(buf.data(), buf.size());
      if (n == 0) break;
      writer.write(ByteView(buf.data(), n));
      copied += n;
    }
    if (copied != db_size) {
      throw Error(ErrorKind::Internal, "snapshot-changed", "the database snapshot changed while being read");
    }
    writer.finish();
    file.sync();
    file.close();
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_NOREPLACE) != 0) {
      const int err = errno;
      if (err == EEXIST) {
        throw Error(ErrorKind::Conflict, "file-exists", out.string() + " already exists; choose another name");
      }
      io_error("cannot rename to", out, err);
    }
    file::sync_directory(dir);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

OpenedContainer read_container(const fs::path& in, const Passphrase& passphrase, const fs::path& database_out) {
  File file(in, O_RDONLY);
  std::array<std::uint8_t, kHeaderSize> header{};
  const std::size_t got = file.read(header.data(), header.size());
  if (got < kMagic.size() || std::string_view(reinterpret_cast<const char*>(header.data()), kMagic.size()) != kMagic) {
    throw Error(ErrorKind::Malformed, "not-a-backup",
                in.string() + " is not a Signet backup (it does not start with the backup magic). "
                              "Backups are made with `signet backup create`");
  }
  if (got < kHeaderSize) corrupt(in, "the file ends inside its header");
  const auto version = static_cast<std::uint16_t>(get_be(&header[8], 2));
  if (version != kFormatVersion) {
    throw Error(ErrorKind::Unsupported, "backup-version-unsupported",
                in.string() + " has backup format version " + std::to_string(version) +
                    "; this build of Signet reads version " + std::to_string(kFormatVersion) +
                    ". Restore it with the Signet version that made it, or a newer one");
  }
  if (header[10] != kKdfScrypt || header[11] < 1 || header[11] > 30) {
    throw Error(ErrorKind::Malformed, "backup-kdf-invalid",
                in.string() + " names an unknown or invalid key derivation; the header is damaged");
  }
  const crypto::ScryptParams kdf{std::uint64_t{1} << header[11], static_cast<std::uint32_t>(get_be(&header[12], 4)),
                                 static_cast<std::uint32_t>(get_be(&header[16], 4))};
  try {
    kdf.validate();
  } catch (const Error&) {
    throw Error(ErrorKind::Malformed, "backup-kdf-invalid",
                in.string() + " has out-of-range key derivation parameters; the header is damaged");
  }
  const ByteView salt(&header[20], kSaltSize);
  const auto chunk_size = static_cast<std::uint32_t>(get_be(&header[68], 4));
  if (chunk_size == 0 || chunk_size > kMaxChunkSize) corrupt(in, "the header names an invalid chunk size");
  const SecretBytes key = crypto::scrypt(passphrase.view(), salt, kdf);

  OpenedContainer out;
  out.format_version = version;
  File db(database_out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  try {
    // Section parser state.
    enum class Want { Type, Length, Body } want = Want::Type;
    Bytes pending;  // bytes of a section header being assembled
    std::uint8_t type = 0;
    std::uint64_t left = 0;
    std::uint8_t next_type = static_cast<std::uint8_t>(Section::Manifest);
    bool seen_database = false;

    auto consume = [&](ByteView data) {
      while (!data.empty()) {
        if (want != Want::Body) {
          pending.push_back(data.front());
          data = data.subspan(1);
          if (pending.size() == 9) {
            type = pending[0];
            left = get_be(&pending[1], 8);
            pending.clear();
            if (type != next_type) corrupt(in, "its sections are out of order");
            if ((type == static_cast<std::uint8_t>(Section::Manifest) && left > kMaxManifestSize) ||
                (type == static_cast<std::uint8_t>(Section::Secrets) && left > kMaxSecretsSize)) {
              corrupt(in, "a section is larger than allowed");
            }
            ++next_type;
            want = Want::Body;
            if (type == static_cast<std::uint8_t>(Section::Database)) seen_database = true;
            if (left == 0) want = Want::Type;
          }
          continue;
        }
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, data.size()));
        const ByteView part = data.first(take);
        switch (static_cast<Section>(type)) {
          case Section::Manifest: out.manifest_json.append(reinterpret_cast<const char*>(part.data()), take); break;
          case Section::Secrets: out.secrets.append(part); break;
          case Section::Database: db.write(part); out.database_size += take; break;
        }
        data = data.subspan(take);
        left -= take;
        if (left == 0) want = Want::Type;
      }
    };

    Bytes sealed;
    for (std::uint64_t index = 0;; ++index) {
      // Messages count chunks from 1, as a person does; `index` (from 0) is what the AAD binds.
      const std::string number = std::to_string(index + 1);
      std::uint8_t len_bytes[4];
      const std::size_t n = file.read(len_bytes, 4);
      if (n == 0) {
        corrupt(in, index == 0 ? std::string("it ends before its first chunk (truncated)")
                               : "it ends after chunk " + std::to_string(index) + " without its final chunk (truncated)");
      }
      if (n < 4) corrupt(in, "it ends inside chunk " + number + " (truncated)");
      const auto len = static_cast<std::uint32_t>(get_be(len_bytes, 4));
      if (len < crypto::kAeadOverhead || len > chunk_size + crypto::kAeadOverhead) {
        corrupt(in, "chunk " + number + " has an invalid length");
      }
      sealed.resize(len);
      if (file.read(sealed.data(), len) != len) {
        corrupt(in, "it ends inside chunk " + number + " (truncated)");
      }
      bool final = false;
      auto plain = crypto::aead_open(key.view(), sealed, chunk_aad(header, index, false));
      if (!plain) {
        plain = crypto::aead_open(key.view(), sealed, chunk_aad(header, index, true));
        final = plain.has_value();
      }
      if (!plain) {
        if (index == 0) {
          throw Error(ErrorKind::Unauthorized, "wrong-backup-passphrase",
                      "the backup passphrase is wrong for " + in.string() +
                          " (or the file is damaged): it does not decrypt. Nothing "
                          "was restored");
        }
        corrupt(in, "chunk " + number + " fails authentication (edited, reordered or from another backup)");
      }
      consume(plain->view());
      if (final) {
        std::uint8_t extra = 0;
        if (file.read(&extra, 1) != 0) corrupt(in, "there is data after its final chunk");
        break;
      }
    }
    if (!seen_database || want != Want::Type || !pending.empty()) {
      corrupt(in, "its contents end early (a section is incomplete)");
    }
    db.close();
  } catch (...) {
    ::unlink(database_out.c_str());
    throw;
  }
  return out;
}

}  // namespace signet::backup
