// The backup container (common/src/backup/container.cpp): round trips at several chunk sizes, and
// every kind of damage a file can suffer on its way through tapes, USB sticks and scp -- cut at
// every offset, a byte flipped at every offset, chunks moved, dropped, repeated or appended, a
// newer format, KDF parameters edited to exhaust memory, a wrong passphrase -- each refused with
// its own error code, and nothing left behind.
#include "signet/backup/container.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "signet/core/error.h"
#include "signet/crypto/primitives.h"
#include "support/error_assert.h"
#include "support/temp_dir.h"
#include "support/tmpfs.h"

namespace signet::backup {
namespace {

namespace fs = std::filesystem;
using test::capture_error;

constexpr std::string_view kPass = "a backup passphrase for tests";
constexpr std::string_view kManifest = R"({"kind":"signet-backup","note":"container test"})";
const crypto::ScryptParams kFastKdf = crypto::ScryptParams::insecure_for_tests();

Passphrase pass(std::string_view s) { return Passphrase(as_bytes(s)); }

Bytes read_bytes(const fs::path& p) {
  const std::string s = test::read_text(p);
  return Bytes(s.begin(), s.end());
}

void write_bytes(const fs::path& p, ByteView b) {
  test::write_text(p, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

// Deterministic filler that does not compress or repeat within a chunk.
Bytes pattern(std::size_t n, std::uint32_t seed) {
  Bytes out(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

SecretBytes secrets32() { return SecretBytes(ByteView(pattern(32, 7))); }

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// The plaintext stream: three section headers (type u8, length u64) and their bodies.
std::size_t plaintext_size(std::size_t manifest, std::size_t secrets, std::size_t database) {
  return 3 * 9 + manifest + secrets + database;
}

// A container split into its header and its chunks (each with its 4-byte length prefix).
struct Layout {
  Bytes header;
  std::vector<Bytes> chunks;

  [[nodiscard]] Bytes join() const {
    Bytes out = header;
    for (const Bytes& c : chunks) out.insert(out.end(), c.begin(), c.end());
    return out;
  }
  // The file offset where chunk `i` starts.
  [[nodiscard]] std::size_t chunk_offset(std::size_t i) const {
    std::size_t off = header.size();
    for (std::size_t k = 0; k < i; ++k) off += chunks[k].size();
    return off;
  }
};

Layout split(const Bytes& file) {
  Layout out;
  if (file.size() < kHeaderSize) throw std::runtime_error("container shorter than its header");
  out.header.assign(file.begin(), file.begin() + kHeaderSize);
  std::size_t off = kHeaderSize;
  while (off < file.size()) {
    if (off + 4 > file.size()) throw std::runtime_error("container ends inside a length");
    const std::size_t len = (std::size_t{file[off]} << 24) | (std::size_t{file[off + 1]} << 16) |
                            (std::size_t{file[off + 2]} << 8) | std::size_t{file[off + 3]};
    if (off + 4 + len > file.size()) throw std::runtime_error("container ends inside a chunk");
    out.chunks.emplace_back(file.begin() + static_cast<std::ptrdiff_t>(off),
                            file.begin() + static_cast<std::ptrdiff_t>(off + 4 + len));
    off += 4 + len;
  }
  return out;
}

void put_be(Bytes& b, std::size_t offset, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    b[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value);
    value >>= 8;
  }
}

// The ErrorKind that read_container documents for each code.
ErrorKind kind_for(const std::string& code) {
  static const std::map<std::string, ErrorKind> kinds = {
      {"not-a-backup", ErrorKind::Malformed},
      {"backup-version-unsupported", ErrorKind::Unsupported},
      {"wrong-backup-passphrase", ErrorKind::Unauthorized},
      {"backup-corrupt", ErrorKind::Integrity},
      {"backup-kdf-invalid", ErrorKind::Malformed},
  };
  const auto it = kinds.find(code);
  return it == kinds.end() ? ErrorKind::Internal : it->second;
}

class ContainerTest : public ::testing::Test {
 protected:
  // Writes `database` to a file and a container of it; returns the container's path.
  fs::path make(const Bytes& database, std::uint32_t chunk_size, const std::string& name = "b.sbk",
                std::string_view manifest = kManifest, const SecretBytes& secrets = secrets32()) {
    const fs::path db = tmp_ / (name + ".in.db");
    write_bytes(db, database);
    const fs::path out = tmp_ / name;
    write_container(out, pass(kPass), kFastKdf, std::string(manifest), secrets, db, chunk_size);
    fs::remove(db);
    return out;
  }

  [[nodiscard]] fs::path out_db() const { return tmp_ / "out.db"; }

  OpenedContainer read(const fs::path& in, std::string_view p = kPass) {
    return read_container(in, pass(p), out_db());
  }

  // The error that reading `in` raises; checks that the database output was removed again.
  Error read_error(const fs::path& in, std::string_view p = kPass) {
    Error e = capture_error([&] { (void)read_container(in, pass(p), out_db()); });
    EXPECT_FALSE(fs::exists(out_db())) << "database output left behind after " << e.code();
    EXPECT_EQ(e.kind(), kind_for(e.code())) << e.code() << ": " << e.what();
    return e;
  }

  // Reads `bytes` as a container file.
  Error error_for(const Bytes& bytes, std::string_view p = kPass) {
    const fs::path f = tmp_ / "damaged.sbk";
    write_bytes(f, bytes);
    return read_error(f, p);
  }

  void expect_round_trip(const fs::path& container, const Bytes& database,
                         std::string_view manifest = kManifest) {
    const OpenedContainer c = read(container);
    EXPECT_EQ(c.format_version, kFormatVersion);
    EXPECT_EQ(c.manifest_json, manifest);
    EXPECT_EQ(Bytes(c.secrets.view().begin(), c.secrets.view().end()), pattern(32, 7));
    EXPECT_EQ(c.database_size, database.size());
    EXPECT_EQ(read_bytes(out_db()), database);
    EXPECT_EQ(mode_of(out_db()), 0600u);
    fs::remove(out_db());
  }

  test::TempDir tmp_;
};

// ---- round trips --------------------------------------------------------------------------------

TEST_F(ContainerTest, RoundTripsAtSeveralChunkSizesWithTheExpectedNumberOfChunks) {
  const Bytes database = pattern(10'000, 1);
  const std::size_t plain = plaintext_size(kManifest.size(), 32, database.size());
  for (const std::uint32_t chunk : {1u, 7u, 64u, 4096u, kDefaultChunkSize}) {
    SCOPED_TRACE("chunk size " + std::to_string(chunk));
    const fs::path f = make(database, chunk, "b" + std::to_string(chunk) + ".sbk");
    EXPECT_EQ(mode_of(f), 0600u);
    EXPECT_TRUE(looks_like_backup(f));
    const Layout layout = split(read_bytes(f));
    EXPECT_EQ(layout.chunks.size(), (plain + chunk - 1) / chunk);
    for (const Bytes& c : layout.chunks) {
      EXPECT_LE(c.size(), 4 + chunk + crypto::kAeadOverhead);
      EXPECT_GT(c.size(), 4 + crypto::kAeadOverhead);  // no empty chunk
    }
    // Nothing of the plaintext shows through.
    const Bytes file = read_bytes(f);
    EXPECT_EQ(std::search(file.begin(), file.end(), database.begin(), database.begin() + 32), file.end());
    expect_round_trip(f, database);
  }
  // Only the containers are left: no temporary files.
  EXPECT_EQ(listing(tmp_.path()),
            (std::set<std::string>{"b1.sbk", "b7.sbk", "b64.sbk", "b4096.sbk",
                                   "b" + std::to_string(kDefaultChunkSize) + ".sbk"}));
}

TEST_F(ContainerTest, EmptyDatabaseRoundTrips) {
  for (const std::uint32_t chunk : {64u, kDefaultChunkSize}) {
    const fs::path f = make({}, chunk, "empty" + std::to_string(chunk) + ".sbk");
    expect_round_trip(f, {});
  }
  // An empty manifest and database as well.
  const fs::path f = make({}, 16, "all-empty.sbk", "");
  expect_round_trip(f, {}, "");
}

TEST_F(ContainerTest, PlaintextThatIsAnExactMultipleOfTheChunkSizeEndsWithAFullFinalChunk) {
  for (const std::uint32_t chunk : {64u, 4096u}) {
    SCOPED_TRACE("chunk size " + std::to_string(chunk));
    const std::size_t fixed = plaintext_size(kManifest.size(), 32, 0);
    for (const std::size_t chunks : {std::size_t{1} + fixed / chunk, std::size_t{5} + fixed / chunk}) {
      const Bytes database = pattern(chunks * chunk - fixed, static_cast<std::uint32_t>(chunks));
      const fs::path f = make(database, chunk, "exact" + std::to_string(chunks) + ".sbk");
      const Layout layout = split(read_bytes(f));
      ASSERT_EQ(layout.chunks.size(), chunks);
      for (const Bytes& c : layout.chunks) EXPECT_EQ(c.size(), 4 + chunk + crypto::kAeadOverhead);
      expect_round_trip(f, database);
    }
  }
}

TEST_F(ContainerTest, EachFileHasItsOwnSaltAndFileId) {
  const fs::path a = make(pattern(100, 1), 64, "a.sbk");
  const fs::path b = make(pattern(100, 1), 64, "b.sbk");
  const Bytes fa = read_bytes(a);
  const Bytes fb = read_bytes(b);
  ASSERT_EQ(fa.size(), fb.size());
  EXPECT_TRUE(std::equal(fa.begin(), fa.begin() + 20, fb.begin()));  // magic, version, KDF
  EXPECT_FALSE(std::equal(fa.begin() + 20, fa.begin() + 52, fb.begin() + 20));  // salt
  EXPECT_FALSE(std::equal(fa.begin() + 52, fa.begin() + 68, fb.begin() + 52));  // file id
}

// ---- writing ------------------------------------------------------------------------------------

TEST_F(ContainerTest, WriteRefusesAnExistingOutputAndLeavesNoTemporaryFile) {
  const fs::path db = tmp_ / "in.db";
  write_bytes(db, pattern(500, 3));
  const fs::path out = tmp_ / "existing.sbk";
  test::write_text(out, "an older backup that must survive");
  const std::set<std::string> before = listing(tmp_.path());

  const Error e = capture_error(
      [&] { write_container(out, pass(kPass), kFastKdf, std::string(kManifest), secrets32(), db, 64); });
  EXPECT_EQ(e.kind(), ErrorKind::Conflict);
  EXPECT_EQ(e.code(), "file-exists");
  EXPECT_NE(std::string(e.what()).find(out.string()), std::string::npos) << e.what();
  EXPECT_EQ(test::read_text(out), "an older backup that must survive");
  EXPECT_EQ(listing(tmp_.path()), before);

  // A dangling symbolic link is an existing name too: never followed, never replaced.
  const fs::path link = tmp_ / "link.sbk";
  fs::create_symlink(tmp_ / "nowhere", link);
  const Error l = capture_error(
      [&] { write_container(link, pass(kPass), kFastKdf, std::string(kManifest), secrets32(), db, 64); });
  EXPECT_EQ(l.code(), "file-exists");
  EXPECT_FALSE(fs::exists(tmp_ / "nowhere"));
}

TEST_F(ContainerTest, WriteFailuresLeaveNothingBehind) {
  const fs::path db = tmp_ / "in.db";
  write_bytes(db, pattern(500, 3));
  const fs::path out_dir = tmp_ / "out";
  fs::create_directory(out_dir);

  // A missing database file.
  Error e = capture_error([&] {
    write_container(out_dir / "a.sbk", pass(kPass), kFastKdf, "{}", secrets32(), tmp_ / "missing.db", 64);
  });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound) << e.what();
  // Invalid chunk sizes and KDF parameters.
  for (const std::uint32_t chunk : {0u, (16u << 20) + 1}) {
    e = capture_error(
        [&] { write_container(out_dir / "b.sbk", pass(kPass), kFastKdf, "{}", secrets32(), db, chunk); });
    EXPECT_EQ(e.code(), "bad-chunk-size");
  }
  e = capture_error([&] {
    write_container(out_dir / "c.sbk", pass(kPass), crypto::ScryptParams{1000, 8, 1}, "{}", secrets32(), db, 64);
  });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_TRUE(listing(out_dir).empty());

  // A missing output directory.
  e = capture_error(
      [&] { write_container(tmp_ / "no-such-dir" / "d.sbk", pass(kPass), kFastKdf, "{}", secrets32(), db, 64); });
  EXPECT_EQ(e.kind(), ErrorKind::NotFound) << e.what();
  EXPECT_FALSE(fs::exists(tmp_ / "no-such-dir"));
}

TEST_F(ContainerTest, FullDiskWhileWritingOrReadingIsDiskFullAndLeavesNoPartialFile) {
  std::unique_ptr<test::TmpfsMount> mount;
  try {
    mount = std::make_unique<test::TmpfsMount>(tmp_ / "mnt", "256k");
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  const Bytes database = pattern(1u << 20, 9);  // 1 MiB: four times what the tmpfs holds
  const fs::path db = tmp_ / "in.db";
  write_bytes(db, database);

  Error e = capture_error([&] {
    write_container(mount->path() / "b.sbk", pass(kPass), kFastKdf, std::string(kManifest), secrets32(), db, 4096);
  });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "disk-full") << e.what();
  EXPECT_TRUE(listing(mount->path()).empty()) << "a partial backup or temporary file was left";

  // Reading a good container into a full file system: the partial database goes again.
  const fs::path good = tmp_ / "good.sbk";
  write_container(good, pass(kPass), kFastKdf, std::string(kManifest), secrets32(), db, 4096);
  e = capture_error([&] { (void)read_container(good, pass(kPass), mount->path() / "out.db"); });
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "disk-full") << e.what();
  EXPECT_TRUE(listing(mount->path()).empty()) << "a partial database was left";
  EXPECT_EQ(mount->unmount(), "");
}

// ---- reading what is no backup ------------------------------------------------------------------

TEST_F(ContainerTest, FilesThatAreNoBackupAreNotABackup) {
  const std::vector<std::pair<std::string, Bytes>> files = {
      {"empty", {}},
      {"one byte", {'S'}},
      {"magic cut short", {'S', 'I', 'G', 'N', 'E', 'T', 'B'}},
      {"random", pattern(4096, 5)},
      {"text", Bytes{'h', 'e', 'l', 'l', 'o', '\n'}},
      {"sqlite", [] {
         std::string s("SQLite format 3\0", 16);
         s.resize(4096, '\0');
         return Bytes(s.begin(), s.end());
       }()},
      {"lower-case magic", Bytes{'s', 'i', 'g', 'n', 'e', 't', 'b', 'k', 0, 1, 1, 10}},
  };
  for (const auto& [what, bytes] : files) {
    SCOPED_TRACE(what);
    const fs::path f = tmp_ / "file";
    write_bytes(f, bytes);
    EXPECT_FALSE(looks_like_backup(f));
    const Error e = read_error(f);
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "not-a-backup");
    EXPECT_NE(std::string(e.what()).find("signet backup create"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(looks_like_backup(tmp_ / "missing"));
  const Error missing = capture_error([&] { (void)read(tmp_ / "missing"); });
  EXPECT_EQ(missing.kind(), ErrorKind::NotFound);
  EXPECT_EQ(missing.code(), "file-not-found");
  EXPECT_FALSE(fs::exists(out_db()));
}

TEST_F(ContainerTest, ExistingDatabaseOutputIsNeverOverwritten) {
  const fs::path f = make(pattern(300, 2), 64);
  test::write_text(out_db(), "someone else's file");
  const Error e = capture_error([&] { (void)read(f); });
  EXPECT_EQ(e.code(), "file-exists");
  EXPECT_EQ(test::read_text(out_db()), "someone else's file");
}

// ---- damage -------------------------------------------------------------------------------------

TEST_F(ContainerTest, WrongPassphraseIsWrongBackupPassphrase) {
  const fs::path f = make(pattern(300, 2), 64);
  for (const std::string_view wrong : {std::string_view("a backup passphrase for test"),
                                       std::string_view("A backup passphrase for tests"),
                                       std::string_view("")}) {
    const Error e = read_error(f, wrong);
    EXPECT_EQ(e.kind(), ErrorKind::Unauthorized);
    EXPECT_EQ(e.code(), "wrong-backup-passphrase");
    EXPECT_NE(std::string(e.what()).find("Nothing was restored"), std::string::npos) << e.what();
  }
  expect_round_trip(f, pattern(300, 2));
}

TEST_F(ContainerTest, FileCutAtEveryOffsetIsRefused) {
  // Small chunks, so that the cuts land in the header, in chunk lengths, in the middle of chunks
  // and exactly on chunk boundaries.
  const fs::path f = make(pattern(150, 4), 64);
  const Bytes file = read_bytes(f);
  const Layout layout = split(file);
  ASSERT_GE(layout.chunks.size(), 4u);
  std::set<std::size_t> boundaries;
  for (std::size_t i = 0; i <= layout.chunks.size(); ++i) boundaries.insert(layout.chunk_offset(i));

  for (std::size_t cut = 0; cut < file.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(file.size()) +
                 (boundaries.count(cut) != 0 ? " (a chunk boundary)" : ""));
    const Error e = error_for(Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut)));
    if (cut < 8) {
      EXPECT_EQ(e.code(), "not-a-backup") << e.what();
    } else {
      EXPECT_EQ(e.code(), "backup-corrupt") << e.what();
    }
  }
}

TEST_F(ContainerTest, ByteFlippedAtEveryOffsetIsRefused) {
  const fs::path f = make(pattern(150, 4), 64);
  const Bytes file = read_bytes(f);
  const Layout layout = split(file);
  ASSERT_GE(layout.chunks.size(), 4u);
  // What each region of the file may be reported as when one of its bytes changes.
  auto expected = [&](std::size_t off) -> std::set<std::string> {
    if (off < 8) return {"not-a-backup"};
    if (off < 10) return {"backup-version-unsupported"};
    if (off == 10) return {"backup-kdf-invalid"};
    if (off < 20) {
      // log2(N), r, p: still in range (a different key) or out of range.
      return {"backup-kdf-invalid", "wrong-backup-passphrase"};
    }
    if (off < 68) return {"wrong-backup-passphrase"};  // salt, file id (AAD)
    if (off < 72) return {"wrong-backup-passphrase", "backup-corrupt"};  // chunk size
    if (off < 74) return {"wrong-backup-passphrase"};  // reserved (AAD)
    const bool in_first_chunk = off < layout.chunk_offset(1);
    if (!in_first_chunk) return {"backup-corrupt"};
    if (off < layout.chunk_offset(0) + 4) {
      // The first chunk's length: longer runs past the end or over the limit, shorter fails.
      return {"wrong-backup-passphrase", "backup-corrupt"};
    }
    return {"wrong-backup-passphrase"};
  };
  for (const std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
    for (std::size_t off = 0; off < file.size(); ++off) {
      SCOPED_TRACE("byte " + std::to_string(off) + " of " + std::to_string(file.size()) + " xor " +
                   std::to_string(mask));
      Bytes damaged = file;
      damaged[off] ^= mask;
      const Error e = error_for(damaged);
      const std::set<std::string> allowed = expected(off);
      EXPECT_EQ(allowed.count(e.code()), 1u) << e.code() << ": " << e.what();
    }
  }
  // The original still reads: the damage was all in the copies.
  expect_round_trip(f, pattern(150, 4));
}

TEST_F(ContainerTest, ChunksReorderedDroppedRepeatedOrAppendedAreBackupCorrupt) {
  const Bytes database = pattern(400, 6);
  const fs::path f = make(database, 64);
  const Layout layout = split(read_bytes(f));
  const std::size_t n = layout.chunks.size();
  ASSERT_GE(n, 6u);
  const fs::path other = make(database, 64, "other.sbk");  // same passphrase, another file
  const Layout foreign = split(read_bytes(other));
  ASSERT_EQ(foreign.chunks.size(), n);

  std::vector<std::pair<std::string, Layout>> variants;
  auto variant = [&](std::string what, const std::function<void(Layout&)>& edit) {
    Layout l = layout;
    edit(l);
    variants.emplace_back(std::move(what), std::move(l));
  };
  variant("two middle chunks swapped", [](Layout& l) { std::swap(l.chunks[2], l.chunks[3]); });
  variant("last two chunks swapped", [&](Layout& l) { std::swap(l.chunks[n - 2], l.chunks[n - 1]); });
  variant("middle chunks rotated", [](Layout& l) { std::rotate(l.chunks.begin() + 1, l.chunks.begin() + 2, l.chunks.begin() + 4); });
  variant("a middle chunk dropped", [](Layout& l) { l.chunks.erase(l.chunks.begin() + 2); });
  variant("the final chunk dropped", [](Layout& l) { l.chunks.pop_back(); });
  variant("all but the first chunk dropped", [](Layout& l) { l.chunks.resize(1); });
  variant("a middle chunk repeated", [](Layout& l) { l.chunks.insert(l.chunks.begin() + 2, l.chunks[2]); });
  variant("the final chunk repeated", [](Layout& l) { l.chunks.push_back(l.chunks.back()); });
  variant("the first chunk repeated", [](Layout& l) { l.chunks.insert(l.chunks.begin() + 1, l.chunks[0]); });
  variant("one byte appended", [](Layout& l) { l.chunks.back().push_back(0); });
  variant("a zero length appended", [](Layout& l) { l.chunks.push_back(Bytes{0, 0, 0, 0}); });
  variant("another file's final chunk appended", [&](Layout& l) { l.chunks.push_back(foreign.chunks.back()); });
  variant("a middle chunk from another file", [&](Layout& l) { l.chunks[2] = foreign.chunks[2]; });
  variant("the final chunk from another file", [&](Layout& l) { l.chunks[n - 1] = foreign.chunks[n - 1]; });
  variant("a final chunk in the middle", [&](Layout& l) { l.chunks.insert(l.chunks.begin() + 2, l.chunks[n - 1]); });

  for (const auto& [what, l] : variants) {
    SCOPED_TRACE(what);
    const Error e = error_for(l.join());
    EXPECT_EQ(e.kind(), ErrorKind::Integrity);
    EXPECT_EQ(e.code(), "backup-corrupt") << e.what();
    EXPECT_NE(std::string(e.what()).find("Nothing was restored"), std::string::npos) << e.what();
  }
  // The messages count chunks as a person does, from 1.
  for (const auto& [what, part] : std::vector<std::pair<std::string, std::string>>{
           {"all but the first chunk dropped", "it ends after chunk 1 without its final chunk"},
           {"a middle chunk from another file", "chunk 3 fails authentication"}}) {
    SCOPED_TRACE(what);
    const auto it = std::find_if(variants.begin(), variants.end(), [&](const auto& v) { return v.first == what; });
    ASSERT_NE(it, variants.end());
    const Error e = error_for(it->second.join());
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }

  // Damage to the start is indistinguishable from a wrong passphrase, and says so.
  std::vector<std::pair<std::string, Layout>> start;
  {
    Layout l = layout;
    std::swap(l.chunks[0], l.chunks[1]);
    start.emplace_back("first two chunks swapped", l);
    l = layout;
    l.chunks.erase(l.chunks.begin());
    start.emplace_back("the first chunk dropped", l);
    l = layout;
    l.chunks[0] = foreign.chunks[0];
    start.emplace_back("the first chunk from another file", l);
    l = foreign;
    l.header = layout.header;
    start.emplace_back("this header on another file's chunks", l);
  }
  for (const auto& [what, l] : start) {
    SCOPED_TRACE(what);
    const Error e = error_for(l.join());
    EXPECT_EQ(e.code(), "wrong-backup-passphrase") << e.what();
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }
  expect_round_trip(f, database);
}

TEST_F(ContainerTest, NewerFormatVersionIsUnsupported) {
  const Bytes file = read_bytes(make(pattern(100, 1), 64));
  for (const std::uint16_t version : {std::uint16_t{2}, std::uint16_t{0x0100}, std::uint16_t{0xffff}}) {
    Bytes edited = file;
    put_be(edited, 8, version, 2);
    const Error e = error_for(edited);
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_EQ(e.code(), "backup-version-unsupported");
    EXPECT_NE(std::string(e.what()).find("version " + std::to_string(version)), std::string::npos) << e.what();
  }
}

TEST_F(ContainerTest, InvalidChunkSizeInTheHeaderIsBackupCorrupt) {
  const Bytes file = read_bytes(make(pattern(100, 1), 64));
  for (const std::uint32_t chunk : {0u, (16u << 20) + 1, 0xffffffffu, 16u}) {
    Bytes edited = file;
    put_be(edited, 68, chunk, 4);
    const Error e = error_for(edited);
    // 16 is a valid size, smaller than the chunks that follow: their length is then invalid.
    EXPECT_EQ(e.code(), "backup-corrupt") << chunk << ": " << e.what();
  }
}

// Address space of this process now, from /proc/self/statm.
std::size_t address_space_now() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST_F(ContainerTest, KdfParametersEditedToHugeValuesAreRefusedWithoutAllocating) {
  const Bytes file = read_bytes(make(pattern(100, 1), 64));
  std::vector<std::pair<std::string, Bytes>> edits;
  auto edit = [&](std::string what, std::size_t offset, std::uint64_t value, int width) {
    Bytes b = file;
    put_be(b, offset, value, width);
    edits.emplace_back(std::move(what), std::move(b));
  };
  edit("log2(N) = 30", 11, 30, 1);
  edit("log2(N) = 31", 11, 31, 1);
  edit("log2(N) = 255", 11, 255, 1);
  edit("log2(N) = 0", 11, 0, 1);
  edit("r = 2^32-1", 12, 0xffffffff, 4);
  edit("r = 0", 12, 0, 4);
  edit("r = 65", 12, 65, 4);
  edit("p = 2^32-1", 16, 0xffffffff, 4);
  edit("p = 0", 16, 0, 4);
  edit("p = 65", 16, 65, 4);
  edit("unknown KDF 0", 10, 0, 1);
  edit("unknown KDF 2", 10, 2, 1);
  {
    Bytes b = file;  // every value in range on its own, 128 GiB together
    put_be(b, 11, 24, 1);
    put_be(b, 12, 64, 4);
    edits.emplace_back("N = 2^24, r = 64", std::move(b));
  }
  {
    Bytes b = file;  // 16 GiB
    put_be(b, 11, 24, 1);
    edits.emplace_back("N = 2^24, r = 8", std::move(b));
  }
  std::vector<fs::path> paths;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    paths.push_back(tmp_ / ("kdf" + std::to_string(i) + ".sbk"));
    write_bytes(paths.back(), edits[i].second);
  }

  // Refused as the header is read, before any key derivation: one that ran would end in another
  // error (a wrong passphrase, or scrypt's own memory limit), whatever the time it took. The
  // child below shows that nothing is allocated for them either.
  for (std::size_t i = 0; i < edits.size(); ++i) {
    SCOPED_TRACE(edits[i].first);
    const Error e = read_error(paths[i]);
    EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    EXPECT_EQ(e.code(), "backup-kdf-invalid") << e.what();
  }

  // The same in a child whose address space is capped 64 MiB above what it uses: an attempt to
  // allocate for any of these parameters would fail there with another error, or kill it.
  std::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    constexpr std::size_t kHeadroom = 64u << 20;
    const rlimit cap{address_space_now() + kHeadroom, address_space_now() + kHeadroom};
    if (::setrlimit(RLIMIT_AS, &cap) != 0) ::_exit(100);
    // The cap holds: a 256 MiB mapping fails.
    void* big = ::mmap(nullptr, 256u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big != MAP_FAILED) ::_exit(101);
    for (std::size_t i = 0; i < paths.size(); ++i) {
      try {
        (void)read_container(paths[i], pass(kPass), tmp_ / ("child" + std::to_string(i) + ".db"));
        ::_exit(static_cast<int>(1 + i));
      } catch (const Error& e) {
        if (e.code() != "backup-kdf-invalid") {
          std::fprintf(stderr, "child: %s: %s: %s\n", edits[i].first.c_str(), e.code().c_str(), e.what());
          ::_exit(static_cast<int>(1 + i));
        }
      } catch (...) {
        ::_exit(static_cast<int>(50 + i));
      }
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status);
  const int code = WEXITSTATUS(status);
  EXPECT_EQ(code, 0) << (code == 100   ? std::string("setrlimit failed")
                         : code == 101 ? std::string("the address-space cap did not hold")
                         : code >= 50  ? "exception other than signet::Error for " + edits[static_cast<std::size_t>(code - 50)].first
                                       : "wrong outcome for " + edits[static_cast<std::size_t>(code - 1)].first);
}

}  // namespace
}  // namespace signet::backup
