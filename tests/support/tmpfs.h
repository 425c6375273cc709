// A real tmpfs mounted over a directory, for fault injection that root cannot bypass: a read-only
// file system (EROFS) and a full disk (ENOSPC). Needs CAP_SYS_ADMIN; the constructor throws
// std::runtime_error with mount's own message when mounting is not permitted, so a test that needs
// it fails loudly instead of silently passing.
// Thread-safety: one owner.
#pragma once

#include <filesystem>
#include <string>

namespace signet::test {

class TmpfsMount {
 public:
  // Creates `dir` if needed and mounts a tmpfs of `size` (mount's syntax: "8m", "512k") on it.
  TmpfsMount(std::filesystem::path dir, const std::string& size);
  // Unmounts (lazily, if the file system is still busy). Never throws.
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return dir_; }
  // Remount read-only / read-write. Throw std::runtime_error with mount's message on failure
  // (remounting read-only fails with EBUSY while a file on it is open for writing).
  void remount_read_only();
  void remount_read_write();
  // Unmounts now; returns "" on success, else umount's message. Idempotent.
  std::string unmount() noexcept;

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

// Writes zeros to `path` until the file system is full (ENOSPC); returns the bytes written.
// Throws std::runtime_error on any other failure.
std::size_t fill_until_full(const std::filesystem::path& path);

}  // namespace signet::test
