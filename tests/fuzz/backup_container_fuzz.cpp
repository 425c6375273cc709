// libFuzzer target: a backup file as `signet backup restore` and the wizard read it, through
// backup::read_container with a fixed passphrase (the one the seed backups were made with).
//
// What is reached: the header (magic, version, KDF parameters, chunk size), the chunk framing
// (lengths, truncation, trailing data), and the authentication of each chunk. A mutation almost
// never authenticates, so the section stream inside is fuzzed by backup_sections_fuzz.cpp, which
// seals the fuzzer's bytes properly. Headers that ask for a costly scrypt (more than 2^12 N*r*p,
// allowed by design up to 1 GiB) are skipped: they would only slow the run, and the limits
// themselves are unit-tested.
//
// Checks: no crash or sanitizer report; only signet::Error is thrown; a refused file leaves no
// database file behind.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "fuzz_support.h"
#include "signet/backup/container.h"
#include "signet/core/error.h"

namespace {

constexpr std::string_view kPassphrase = "fuzz backup passphrase";

std::uint64_t be(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size >= 20) {
    const std::uint64_t log2n = data[11];
    const std::uint64_t cost = (log2n < 40 ? std::uint64_t{1} << log2n : ~std::uint64_t{0} >> 1) *
                               std::max<std::uint64_t>(be(&data[12], 4), 1) * std::max<std::uint64_t>(be(&data[16], 4), 1);
    if (log2n > 12 || cost > (1u << 12)) return 0;
  }
  const std::filesystem::path& dir = signet::fuzz::scratch_dir();
  const std::filesystem::path in = dir / "in.backup";
  const std::filesystem::path db = dir / "out.db";
  {
    std::ofstream out(in, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const signet::Passphrase passphrase(signet::as_bytes(kPassphrase));
  try {
    const signet::backup::OpenedContainer opened = signet::backup::read_container(in, passphrase, db);
    FUZZ_CHECK(std::filesystem::exists(db), "an opened container has no database file");
    std::filesystem::remove(db);
  } catch (const signet::Error&) {
    FUZZ_CHECK(!std::filesystem::exists(db), "a refused container left its database file behind");
  } catch (...) {
    signet::fuzz::unexpected_exception("read_container");
  }
  return 0;
}
