// TempDir: a private (0700) temporary directory removed with its contents on destruction.
// Thread-safety: one owner.
#pragma once

#include <filesystem>

namespace signet::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }

 private:
  std::filesystem::path path_;
};

// Writes `contents` to `path` (mode 0600), creating nothing else.
void write_text(const std::filesystem::path& path, std::string_view contents);
[[nodiscard]] std::string read_text(const std::filesystem::path& path);

}  // namespace signet::test
