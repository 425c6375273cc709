#include "support/tmpfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "support/process.h"

namespace signet::test {

namespace {

void run_mount(const std::vector<std::string>& argv, const std::string& what) {
  ProcessOptions options;
  options.timeout_seconds = 30;
  const ProcessResult r = run_process(argv, options);
  if (r.exit_code != 0) {
    throw std::runtime_error(what + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err +
                             r.out + " -- these tests need a real tmpfs mount (root with "
                             "CAP_SYS_ADMIN)");
  }
}

}  // namespace

TmpfsMount::TmpfsMount(std::filesystem::path dir, const std::string& size) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  run_mount({"mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", dir_.string()},
            "mounting a tmpfs on " + dir_.string());
  mounted_ = true;
}

TmpfsMount::~TmpfsMount() { (void)unmount(); }

void TmpfsMount::remount_read_only() {
  run_mount({"mount", "-o", "remount,ro", dir_.string()}, "remounting " + dir_.string() + " read-only");
}

void TmpfsMount::remount_read_write() {
  run_mount({"mount", "-o", "remount,rw", dir_.string()}, "remounting " + dir_.string() + " read-write");
}

std::string TmpfsMount::unmount() noexcept {
  if (!mounted_) return "";
  try {
    ProcessOptions options;
    options.timeout_seconds = 30;
    const ProcessResult r = run_process({"umount", dir_.string()}, options);
    if (r.exit_code != 0) {
      // Still busy (a test failed with a file open): detach it so that nothing is left behind.
      const ProcessResult lazy = run_process({"umount", "-l", dir_.string()}, options);
      if (lazy.exit_code != 0) return r.err + lazy.err;
    }
    mounted_ = false;
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::size_t fill_until_full(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  const std::vector<char> block(64 * 1024, 0);
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::write(fd, block.data(), block.size());
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      continue;
    }
    const int err = errno;
    if (n < 0 && err == EINTR) continue;
    ::close(fd);
    if (n < 0 && err == ENOSPC) return total;
    throw std::runtime_error("filling " + path.string() + " failed: " + std::strerror(err));
  }
}

}  // namespace signet::test
