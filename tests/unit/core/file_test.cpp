#include "signet/core/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "signet/core/error.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"
#include "support/tmpfs.h"

namespace signet {
namespace {

namespace fs = std::filesystem;
using test::capture_error;
using test::read_text;
using test::write_text;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Names in `dir` other than the given ones: temporary files left behind show up here.
std::vector<std::string> other_entries(const fs::path& dir, const std::vector<std::string>& expected) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (std::find(expected.begin(), expected.end(), name) == expected.end()) out.push_back(name);
  }
  return out;
}

// ---- write_atomic ----------------------------------------------------------------------------

TEST(WriteAtomic, CreatesFileWithContentsAndMode0600AndNoLeftovers) {
  test::TempDir dir;
  const fs::path p = dir / "out.bin";
  file::write_atomic(p, as_bytes("hello"));
  EXPECT_EQ(read_text(p), "hello");
  EXPECT_EQ(mode_of(p), 0600u);
  EXPECT_TRUE(other_entries(dir.path(), {"out.bin"}).empty());
}

TEST(WriteAtomic, HonoursAnExplicitModeDespiteTheUmask) {
  test::TempDir dir;
  const mode_t old = ::umask(0077);
  file::write_atomic(dir / "public.pem", as_bytes("x"), 0644);
  ::umask(old);
  EXPECT_EQ(mode_of(dir / "public.pem"), 0644u);
}

TEST(WriteAtomic, ReplacesAnExistingFileAndTightensItsMode) {
  test::TempDir dir;
  const fs::path p = dir / "f";
  write_text(p, "old contents that are longer");
  ::chmod(p.c_str(), 0666);
  file::write_atomic(p, as_bytes("new"));
  EXPECT_EQ(read_text(p), "new");
  EXPECT_EQ(mode_of(p), 0600u);
  EXPECT_TRUE(other_entries(dir.path(), {"f"}).empty());
}

TEST(WriteAtomic, EmptyDataGivesEmptyFile) {
  test::TempDir dir;
  file::write_atomic(dir / "empty", ByteView{});
  EXPECT_EQ(fs::file_size(dir / "empty"), 0u);
}

TEST(WriteAtomic, NoOverwriteRefusesExistingFileAndLeavesItAlone) {
  test::TempDir dir;
  const fs::path p = dir / "backup.sbk";
  write_text(p, "precious");
  const Error e = capture_error([&] { file::write_atomic(p, as_bytes("new"), 0600, false); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "file-exists");
  EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
  EXPECT_EQ(read_text(p), "precious");
  EXPECT_TRUE(other_entries(dir.path(), {"backup.sbk"}).empty()) << "temporary file left behind";
}

TEST(WriteAtomic, NoOverwriteCreatesWhenAbsent) {
  test::TempDir dir;
  file::write_atomic(dir / "new", as_bytes("x"), 0600, false);
  EXPECT_EQ(read_text(dir / "new"), "x");
}

TEST(WriteAtomic, MissingDirectoryIsNotFoundNamingThePath) {
  test::TempDir dir;
  const Error e = capture_error([&] { file::write_atomic(dir / "no" / "such" / "f", as_bytes("x")); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_NE(std::string(e.what()).find((dir / "no" / "such").string()), std::string::npos) << e.what();
}

TEST(WriteAtomic, TargetThatIsADirectoryFailsAndLeavesNoTemporaryFile) {
  test::TempDir dir;
  fs::create_directory(dir / "target");
  write_text(dir / "target" / "inside", "keep");
  const Error e = capture_error([&] { file::write_atomic(dir / "target", as_bytes("x")); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(read_text(dir / "target" / "inside"), "keep");
  EXPECT_TRUE(other_entries(dir.path(), {"target"}).empty());
}

// ---- read / read_secret ----------------------------------------------------------------------

TEST(Read, ReturnsExactBytesIncludingNul) {
  test::TempDir dir;
  const std::string contents("a\0b\xff", 4);
  write_text(dir / "f", contents);
  const Bytes b = file::read(dir / "f");
  EXPECT_EQ(std::string(b.begin(), b.end()), contents);
}

TEST(Read, EmptyFileIsEmpty) {
  test::TempDir dir;
  write_text(dir / "f", "");
  EXPECT_TRUE(file::read(dir / "f").empty());
}

TEST(Read, MissingFileIsNotFound) {
  test::TempDir dir;
  const Error e = capture_error([&] { (void)file::read(dir / "missing"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
}

TEST(Read, DirectoryIsMalformed) {
  test::TempDir dir;
  const Error e = capture_error([&] { (void)file::read(dir.path()); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "is-a-directory");
}

TEST(Read, SizeLimitIsInclusive) {
  test::TempDir dir;
  write_text(dir / "ten", "0123456789");
  EXPECT_EQ(file::read(dir / "ten", 10).size(), 10u);
  const Error e = capture_error([&] { (void)file::read(dir / "ten", 9); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "file-too-large");
  EXPECT_NE(std::string(e.what()).find("limit is 9"), std::string::npos) << e.what();
}

TEST(Read, ReadsFilesWhoseStatSizeIsZero) {
  // /proc files report size 0; read() must read to EOF instead of trusting st_size.
  const Bytes b = file::read("/proc/self/status");
  const std::string s(b.begin(), b.end());
  EXPECT_NE(s.find("Pid:"), std::string::npos);
}

TEST(Read, StreamLongerThanTheLimitIsRefusedEvenWithoutASize) {
  // A pipe has no size: read() must still refuse more than max_size bytes, not return up to
  // twice the limit.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string twelve = "0123456789ab";
  ASSERT_EQ(::write(fds[1], twelve.data(), twelve.size()), static_cast<ssize_t>(twelve.size()));
  ::close(fds[1]);
  const fs::path pipe_path = "/proc/self/fd/" + std::to_string(fds[0]);
  const Error e = capture_error([&] { (void)file::read(pipe_path, 10); });
  ::close(fds[0]);
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "file-too-large");
}

TEST(Read, StreamWithinTheLimitIsReadWhole) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string twelve = "0123456789ab";
  ASSERT_EQ(::write(fds[1], twelve.data(), twelve.size()), static_cast<ssize_t>(twelve.size()));
  ::close(fds[1]);
  const Bytes b = file::read("/proc/self/fd/" + std::to_string(fds[0]), 12);
  ::close(fds[0]);
  EXPECT_EQ(std::string(b.begin(), b.end()), twelve);
}

TEST(ReadSecret, ReturnsContentsInSecretBytes) {
  test::TempDir dir;
  write_text(dir / "pass", "correct horse battery staple\n");
  const SecretBytes s = file::read_secret(dir / "pass");
  EXPECT_EQ(s.as_string_view(), "correct horse battery staple\n");
}

TEST(ReadSecret, HasASmallDefaultLimit) {
  test::TempDir dir;
  write_text(dir / "big", std::string((64u << 10) + 1, 'x'));
  const Error e = capture_error([&] { (void)file::read_secret(dir / "big"); });
  EXPECT_EQ(e.code(), "file-too-large");
  write_text(dir / "ok", std::string(64u << 10, 'x'));
  EXPECT_EQ(file::read_secret(dir / "ok").size(), 64u << 10);
}

// ---- directories -----------------------------------------------------------------------------

TEST(SyncDirectory, WorksOnADirectoryAndFailsClearlyOnAMissingOne) {
  test::TempDir dir;
  EXPECT_NO_THROW(file::sync_directory(dir.path()));
  const Error e = capture_error([&] { file::sync_directory(dir / "missing"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
}

TEST(EnsurePrivateDirectory, CreatesMissingDirectoryAndParentsWith0700) {
  test::TempDir dir;
  const fs::path data = dir / "var" / "lib" / "signet";
  file::ensure_private_directory(data);
  ASSERT_TRUE(fs::is_directory(data));
  EXPECT_EQ(mode_of(data), 0700u);
}

TEST(EnsurePrivateDirectory, AcceptsExistingPrivateDirectory) {
  test::TempDir dir;
  fs::create_directory(dir / "d");
  ::chmod((dir / "d").c_str(), 0700);
  EXPECT_NO_THROW(file::ensure_private_directory(dir / "d"));
  EXPECT_EQ(mode_of(dir / "d"), 0700u);
}

TEST(EnsurePrivateDirectory, RefusesGroupOrOtherAccessAndChangesNothing) {
  test::TempDir dir;
  for (const mode_t mode : {0750, 0705, 0770, 0755}) {
    const fs::path d = dir / ("d" + std::to_string(mode));
    fs::create_directory(d);
    ::chmod(d.c_str(), mode);
    const Error e = capture_error([&] { file::ensure_private_directory(d); });
    EXPECT_EQ(e.kind(), ErrorKind::PolicyDenied) << mode;
    EXPECT_EQ(e.code(), "data-dir-permissions") << mode;
    EXPECT_NE(std::string(e.what()).find("chmod 700 " + d.string()), std::string::npos) << e.what();
    EXPECT_EQ(mode_of(d), mode) << "the mode must not be changed behind the operator's back";
  }
}

TEST(EnsurePrivateDirectory, RefusesAFileInThePlaceOfTheDirectory) {
  test::TempDir dir;
  write_text(dir / "signet", "not a directory");
  const Error e = capture_error([&] { file::ensure_private_directory(dir / "signet"); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "data-dir-not-a-directory");
  EXPECT_EQ(read_text(dir / "signet"), "not a directory");
}

TEST(RequireWritableDirectory, AcceptsWritableAndReportsMissing) {
  test::TempDir dir;
  EXPECT_NO_THROW(file::require_writable_directory(dir.path()));
  const Error e = capture_error([&] { file::require_writable_directory(dir / "missing"); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
}

// ---- real fault injection: a read-only and a full file system -------------------------------

class FileOnTmpfs : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      mount_ = std::make_unique<test::TmpfsMount>(base_ / "mnt", "256k");
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }
  void TearDown() override {
    if (mount_) {
      EXPECT_EQ(mount_->unmount(), "");
    }
    mount_.reset();
  }
  [[nodiscard]] fs::path dir() const { return mount_->path(); }

  test::TempDir base_;
  std::unique_ptr<test::TmpfsMount> mount_;
};

TEST_F(FileOnTmpfs, ReadOnlyFileSystemIsStorageNotWritableAndKeepsOldFile) {
  write_text(dir() / "f", "old");
  mount_->remount_read_only();
  const Error e = capture_error([&] { file::write_atomic(dir() / "f", as_bytes("new")); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "not-writable");
  EXPECT_NE(std::string(e.what()).find("read-only file system"), std::string::npos) << e.what();
  const Error w = capture_error([&] { file::require_writable_directory(dir()); });
  EXPECT_EQ(w.kind(), ErrorKind::Storage);
  EXPECT_EQ(w.code(), "data-dir-not-writable");
  EXPECT_NE(std::string(w.what()).find("read-only file system"), std::string::npos) << w.what();
  mount_->remount_read_write();
  EXPECT_EQ(read_text(dir() / "f"), "old");
  EXPECT_TRUE(other_entries(dir(), {"f"}).empty());
}

TEST_F(FileOnTmpfs, FullDiskIsDiskFullAndLeavesOldFileAndNoTemporary) {
  write_text(dir() / "f", "old");
  const std::string big(512 * 1024, 'x');  // twice the size of the file system
  const Error e = capture_error([&] { file::write_atomic(dir() / "f", as_bytes(big)); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "disk-full");
  EXPECT_NE(std::string(e.what()).find("nothing was changed"), std::string::npos) << e.what();
  EXPECT_EQ(read_text(dir() / "f"), "old");
  EXPECT_TRUE(other_entries(dir(), {"f"}).empty()) << "the temporary file must be removed";
  // Space was given back: a small write succeeds now.
  EXPECT_NO_THROW(file::write_atomic(dir() / "f", as_bytes("new")));
  EXPECT_EQ(read_text(dir() / "f"), "new");
}

// What an error says about a file that cannot be used: missing is "does not exist"; a path that
// cannot be walked is not called missing.
TEST(FileAbsence, MissingIsNotConfusedWithUnreachable) {
  test::TempDir tmp;
  write_text(tmp.path() / "here", "x");
  EXPECT_EQ(file::absence_reason(tmp.path() / "here"), "");
  EXPECT_EQ(file::absence_reason(tmp.path() / "absent"), "does not exist");
  const std::string through_a_file = file::absence_reason(tmp.path() / "here" / "below");
  EXPECT_NE(through_a_file.find("cannot be reached by uid"), std::string::npos) << through_a_file;
  EXPECT_NE(through_a_file.find("Not a directory"), std::string::npos) << through_a_file;
}

// A service user (here: nobody) that may not search /etc/signet is told so, not that the
// passphrase file does not exist; reading a file it may not read says "not-readable", not
// "read-only file system". Run in a child that drops root.
TEST(FileAbsence, PermissionDeniedNamesTheUserAndTheCause) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a child as another user (CI runs as root)";
  test::TempDir tmp;
  fs::permissions(tmp.path(), fs::perms::owner_all, fs::perm_options::replace);
  write_text(tmp.path() / "passphrase", "secret passphrase\n");
  fs::permissions(tmp.path() / "passphrase", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int failures = 0;
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(100);
    const std::string why = file::absence_reason(tmp.path() / "passphrase");
    if (why.find("cannot be reached by uid 65534") == std::string::npos) failures |= 1;
    if (why.find("Permission denied") == std::string::npos) failures |= 2;
    ::_exit(failures);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bit 1: uid not named, bit 2: cause not named, 100: could not drop root";

  // A file the user may not read, in a directory it may search.
  fs::permissions(tmp.path(), fs::perms::owner_all | fs::perms::others_exec, fs::perm_options::replace);
  const pid_t reader = ::fork();
  ASSERT_GE(reader, 0);
  if (reader == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(100);
    try {
      (void)file::read_passphrase(tmp.path() / "passphrase", "store passphrase");
      ::_exit(1);
    } catch (const Error& e) {
      const std::string what = e.what();
      ::_exit(e.code() == "not-readable" && what.find("uid 65534 may not read") != std::string::npos &&
                      what.find("read-only file system") == std::string::npos
                  ? 0
                  : 2);
    }
  }
  ASSERT_EQ(::waitpid(reader, &status, 0), reader);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: read succeeded, 2: wrong code or message, 100: could not drop root";
}

}  // namespace
}  // namespace signet
