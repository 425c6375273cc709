// Files written the way a CA must write them: to a temporary name in the same directory, fsynced,
// renamed into place, the directory fsynced, mode 0600. A crash or a full disk leaves either the
// old file or the new one, never half of one.
//
// Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <optional>
#include <utility>
#include <sys/types.h>

#include "signet/core/bytes.h"

namespace signet::file {

// Writes `data` to `path` atomically with `mode`. Replaces an existing file unless
// `overwrite` is false, in which case an existing file is an Error(Conflict). Throws
// Error(Storage) naming the path and the system error.
void write_atomic(const std::filesystem::path& path, ByteView data, mode_t mode = 0600,
                  bool overwrite = true);

// Reads a whole file, refusing files over `max_size` bytes. Throws Error(NotFound) when missing,
// Error(Storage) when unreadable, Error(Malformed) when too large.
[[nodiscard]] Bytes read(const std::filesystem::path& path, std::size_t max_size = 64u << 20);
// As read(), into wiped-on-destruction memory (for passphrase files).
[[nodiscard]] SecretBytes read_secret(const std::filesystem::path& path,
                                      std::size_t max_size = 64u << 10);
// A passphrase file: its first line, without the line ending ("\n" or "\r\n"). Error(Malformed,
// "passphrase-empty") naming `what` and the file when that line is empty.
[[nodiscard]] SecretBytes read_passphrase(const std::filesystem::path& path, const std::string& what);
// Why `path` cannot be used as an existing file, for an error message: "" when it is there (stat
// succeeds); "does not exist"; or, when stat fails otherwise (a directory on the path that this
// user may not search), "cannot be reached by uid N: Permission denied (...)".
[[nodiscard]] std::string absence_reason(const std::filesystem::path& path);
// True when `path` is a regular file that group or others may read.
[[nodiscard]] bool readable_by_others(const std::filesystem::path& path);

// fsync()s a directory so that a rename in it is durable.
void sync_directory(const std::filesystem::path& dir);

// Creates `dir` (and missing parents) with mode 0700 for the last component. An existing
// directory is accepted only when it is not accessible to group or others; otherwise
// Error(PolicyDenied, "data-dir-permissions") tells the operator to chmod it.
void ensure_private_directory(const std::filesystem::path& dir);

// Throws Error(Storage, "data-dir-not-writable") when the process cannot create files in `dir`.
void require_writable_directory(const std::filesystem::path& dir);

// A private (0700) directory under $TMPDIR (default /tmp), removed with its contents when the
// object goes. For scratch copies that must not touch the data directory (a dry run, inspecting a
// backup, checking a backup before the target exists). Throws Error(Storage) if it cannot be made.
// An flock(2) on a file (created 0600 when missing), released when the object goes or the
// process ends, even by kill -9. signetd holds DATA_DIR/signetd.lock shared while it runs;
// `signet ledger migrate` needs it exclusive, so neither runs while the other does.
class FileLock {
 public:
  enum class Mode { Shared, Exclusive };
  // std::nullopt when another process holds a lock that conflicts; Error(Storage) when the file
  // cannot be opened.
  [[nodiscard]] static std::optional<FileLock> try_lock(const std::filesystem::path& path, Mode mode);
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&& other) noexcept {
    if (this != &other) {
      release();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() { release(); }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  void release() noexcept;
  int fd_ = -1;
};

class PrivateTempDir {
 public:
  PrivateTempDir();
  ~PrivateTempDir();
  PrivateTempDir(const PrivateTempDir&) = delete;
  PrivateTempDir& operator=(const PrivateTempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace signet::file
