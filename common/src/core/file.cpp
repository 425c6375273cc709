#include "signet/core/file.h"

#include <sys/file.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "signet/core/error.h"
#include "signet/crypto/primitives.h"

namespace signet::file {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what, const fs::path& path) {
  std::string code = "io-error";
  std::string hint;
  if (err == ENOSPC || err == EDQUOT) {
    code = "disk-full";
    hint = " (the disk is full: free space and retry; nothing was changed)";
  } else if ((err == EACCES || err == EPERM) && (what == "cannot open" || what == "cannot read")) {
    // Reading: not a read-only file system, but this user (a service's, often) may not read the
    // file or pass through a directory on its path.
    code = "not-readable";
    hint = " (uid " + std::to_string(::geteuid()) +
           " may not read the file or search a directory on its path: check their owners and modes)";
  } else if (err == EROFS || err == EACCES || err == EPERM) {
    code = "not-writable";
    hint = " (check the permissions of the directory and that it is not on a read-only file system)";
  }
  throw Error(err == ENOENT ? ErrorKind::NotFound : ErrorKind::Storage, code,
              what + " " + path.string() + ": " + std::strerror(err) + hint, err);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void write_all(int fd, ByteView data, const fs::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot write", path);
    }
    done += static_cast<std::size_t>(n);
  }
}

template <typename Buffer>
Buffer read_into(const fs::path& path, std::size_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) throw_errno(errno, "cannot open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "cannot stat", path);
  if (S_ISDIR(st.st_mode)) {
    throw Error(ErrorKind::Malformed, "is-a-directory", path.string() + " is a directory, not a file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_size) {
    throw Error(ErrorKind::Malformed, "file-too-large",
                path.string() + " is too large (" + std::to_string(st.st_size) +
                    " bytes; the limit is " + std::to_string(max_size) + ")");
  }
  // Read until EOF rather than trusting st_size (pipes, /proc, files that grow).
  Buffer out(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == out.size()) {
      if (out.size() > max_size) {
        throw Error(ErrorKind::Malformed, "file-too-large",
                    path.string() + " is too large (the limit is " + std::to_string(max_size) +
                        " bytes)");
      }
      Buffer bigger(out.size() * 2);
      std::copy_n(out.data(), used, bigger.data());
      out = std::move(bigger);
    }
    const ssize_t n = ::read(fd.get(), out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot read", path);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  // The buffer grows by doubling, so a stream without a size (a pipe, a /proc file) can end
  // between max_size and twice that: it is still too large.
  if (used > max_size) {
    throw Error(ErrorKind::Malformed, "file-too-large",
                path.string() + " is too large (the limit is " + std::to_string(max_size) +
                    " bytes)");
  }
  if constexpr (std::is_same_v<Buffer, SecretBytes>) {
    out.truncate(used);
  } else {
    out.resize(used);
  }
  return out;
}

}  // namespace

void sync_directory(const fs::path& dir) {
  Fd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "cannot open directory", dir);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_errno(errno, "cannot sync directory", dir);
}

void write_atomic(const fs::path& path, ByteView data, mode_t mode, bool overwrite) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const fs::path tmp =
      dir / ("." + path.filename().string() + ".tmp-" + to_hex(crypto::random_bytes(6)));
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (fd.get() < 0) throw_errno(errno, "cannot create", tmp);
  try {
    if (::fchmod(fd.get(), mode) != 0) throw_errno(errno, "cannot set the mode of", tmp);
    write_all(fd.get(), data, tmp);
    if (::fsync(fd.get()) != 0) throw_errno(errno, "cannot sync", tmp);
    if (::close(fd.release()) != 0) throw_errno(errno, "cannot close", tmp);
    if (overwrite) {
      if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno(errno, "cannot rename to", path);
    } else {
      // renameat2(RENAME_NOREPLACE): never clobber a file that appeared meanwhile.
      if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
        if (errno == EEXIST) {
          throw Error(ErrorKind::Conflict, "file-exists",
                      path.string() + " already exists; choose another name or remove it first");
        }
        throw_errno(errno, "cannot rename to", path);
      }
    }
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  sync_directory(dir);
}

Bytes read(const fs::path& path, std::size_t max_size) { return read_into<Bytes>(path, max_size); }

SecretBytes read_secret(const fs::path& path, std::size_t max_size) {
  return read_into<SecretBytes>(path, max_size);
}

SecretBytes read_passphrase(const fs::path& path, const std::string& what) {
  SecretBytes contents = read_secret(path);
  std::size_t end = 0;
  while (end < contents.size() && contents.data()[end] != '\n') ++end;
  if (end > 0 && contents.data()[end - 1] == '\r') --end;
  contents.truncate(end);
  if (contents.empty()) {
    throw Error(ErrorKind::Malformed, "passphrase-empty",
                "the " + what + " file " + path.string() + " has nothing on its first line; put the " + what + " there");
  }
  return contents;
}

std::optional<FileLock> FileLock::try_lock(const fs::path& path, Mode mode) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    throw Error(ErrorKind::Storage, "lock-failed", "cannot open the lock file " + path.string() + ": " + std::strerror(err));
  }
  if (::flock(fd, (mode == Mode::Shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return std::nullopt;
    throw Error(ErrorKind::Storage, "lock-failed", "cannot lock " + path.string() + ": " + std::strerror(err));
  }
  return FileLock(fd);
}

void FileLock::release() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string absence_reason(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return {};
  const int err = errno;
  if (err == ENOENT) return "does not exist";
  return "cannot be reached by uid " + std::to_string(::geteuid()) + ": " + std::strerror(err) +
         (err == EACCES ? " (a directory on its path may not be searched by this user: check its owner and mode)" : "");
}

bool readable_by_others(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0077) != 0;
}

void ensure_private_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (dir.has_parent_path() && !dir.parent_path().empty()) {
      fs::create_directories(dir.parent_path(), ec);
      if (ec) throw_errno(ec.value(), "cannot create directory", dir.parent_path());
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      throw_errno(errno, "cannot create directory", dir);
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) throw_errno(errno, "cannot stat", dir);
  if (!S_ISDIR(st.st_mode)) {
    throw Error(ErrorKind::Conflict, "data-dir-not-a-directory",
                dir.string() + " exists and is not a directory");
  }
  if ((st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw Error(ErrorKind::PolicyDenied, "data-dir-permissions",
                dir.string() + " is accessible to group or others (mode " + mode +
                    "); a key store directory must be private: run `chmod 700 " + dir.string() +
                    "`");
  }
}

void require_writable_directory(const fs::path& dir) {
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    const int err = errno;
    if (err == ENOENT) throw_errno(err, "no such directory", dir);
    throw Error(ErrorKind::Storage, "data-dir-not-writable",
                "cannot write to the data directory " + dir.string() + ": " + std::strerror(err) +
                    "; the key store needs write access to it (for its journal) even to read: "
                    "check its permissions and that it is not on a read-only file system",
                err);
  }
}

PrivateTempDir::PrivateTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/signet-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno(errno, "cannot create a scratch directory under", pattern);
  path_ = pattern;  // mkdtemp makes it 0700
}

PrivateTempDir::~PrivateTempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace signet::file
