// libFuzzer target: what is inside a backup once it has authenticated: the section stream
// (manifest JSON, secrets, database), then everything OpenedBackup::open does with it: the
// manifest parse, the data key's size, the SQLite database (page check, quick_check, migration
// of an older schema, store metadata), loading the key records and the integrity check of every
// entry.
//
// The input is the plaintext section stream (type u8 | length u64 | bytes, container.h). The
// target seals it as write_container would (header with a cheap scrypt, chunks of 4 KiB under
// AES-256-GCM with the chunk index and final flag in the AAD), so every input authenticates and
// the fuzzer works on the contents, which a real backup can carry only if its author had the
// passphrase. The seeds are the streams of real backups (backup_seeds.cpp).
//
// Checks: no crash or sanitizer report; only signet::Error is thrown; a backup that fails to open
// leaves no scratch database behind, and one that opens removes it when closed.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "fuzz_support.h"
#include "signet/backup/backup.h"
#include "signet/backup/container.h"
#include "signet/core/error.h"
#include "signet/crypto/primitives.h"

namespace {

namespace fs = std::filesystem;
using signet::Bytes;
using signet::ByteView;

constexpr std::string_view kPassphrase = "fuzz backup passphrase";
constexpr std::uint32_t kChunkSize = 4096;

void put_be(Bytes& b, std::uint64_t v, int bytes) {
  for (int s = 8 * (bytes - 1); s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

// The container header of container.h with N=2, r=1, p=1 and a fixed salt and file id.
const Bytes& header() {
  static const Bytes h = [] {
    Bytes out;
    for (const char c : std::string_view("SIGNETBK")) out.push_back(static_cast<std::uint8_t>(c));
    put_be(out, signet::backup::kFormatVersion, 2);
    out.push_back(1);  // scrypt
    out.push_back(1);  // log2(N)
    put_be(out, 1, 4);  // r
    put_be(out, 1, 4);  // p
    out.insert(out.end(), 32, 0x5a);  // salt
    out.insert(out.end(), 16, 0xa5);  // file id
    put_be(out, kChunkSize, 4);
    put_be(out, 0, 2);
    return out;
  }();
  return h;
}

const signet::SecretBytes& key() {
  static const signet::SecretBytes k =
      signet::crypto::scrypt(signet::as_bytes(kPassphrase), ByteView(header()).subspan(20, 32), {2, 1, 1});
  return k;
}

Bytes seal(ByteView plain) {
  Bytes out = header();
  std::uint64_t index = 0;
  do {
    const std::size_t take = std::min<std::size_t>(plain.size(), kChunkSize);
    const bool final = take == plain.size();
    Bytes aad = header();
    put_be(aad, index, 8);
    aad.push_back(final ? 1 : 0);
    const Bytes sealed = signet::crypto::aead_seal(key().view(), plain.first(take), aad);
    put_be(out, sealed.size(), 4);
    out.insert(out.end(), sealed.begin(), sealed.end());
    plain = plain.subspan(take);
    ++index;
  } while (!plain.empty());
  return out;
}

std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& dir = signet::fuzz::scratch_dir();
  const fs::path in = dir / "in.backup";
  {
    const Bytes sealed = seal(ByteView(data, size));
    std::ofstream out(in, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(sealed.data()), static_cast<std::streamsize>(sealed.size()));
  }
  const signet::Passphrase passphrase(signet::as_bytes(kPassphrase));
  try {
    {
      signet::backup::OpenedBackup opened = signet::backup::OpenedBackup::open(in, passphrase, dir);
      FUZZ_CHECK(opened.verdicts().size() == opened.records().size(), "a verdict for every record");
    }
    FUZZ_CHECK(files_in(dir) == 1, "a closed backup left its scratch database behind");
  } catch (const signet::Error&) {
    FUZZ_CHECK(files_in(dir) == 1, "a backup that failed to open left files behind");
  } catch (...) {
    signet::fuzz::unexpected_exception("OpenedBackup::open");
  }
  return 0;
}
