// Writes the seed corpora of backup_container_fuzz.cpp and backup_sections_fuzz.cpp from real
// backups: `signet_fuzz_backup_seeds tests/fuzz/corpus`. A store is made (one with no keys, one
// with an EC and an Ed25519 key, the EC key carrying a self-signed CA certificate), backed up with
// the fuzz targets' passphrase and a cheap scrypt, and each backup is written as it is
// (backup_container/) and as its decrypted section stream (backup_sections/).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "signet/backup/container.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"
#include "signet/keystore/key_file.h"
#include "signet/keystore/store.h"

namespace {

namespace fs = std::filesystem;
using signet::Bytes;

constexpr std::string_view kPassphrase = "fuzz backup passphrase";

void put_be(Bytes& b, std::uint64_t v, int bytes) {
  for (int s = 8 * (bytes - 1); s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

Bytes read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_all(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void make_seed(const fs::path& work, const fs::path& corpus, const std::string& name, bool with_keys) {
  const fs::path store_dir = work / name;
  const signet::Passphrase store_passphrase(signet::as_bytes("fuzz store passphrase"));
  signet::keystore::KeyStore store =
      signet::keystore::KeyStore::create(store_dir, store_passphrase, signet::crypto::ScryptParams::insecure_for_tests());
  if (with_keys) {
    signet::keystore::KeyMaterial ca;
    ca.key = signet::crypto::generate_key(signet::crypto::KeyAlgorithm::EcP256);
    signet::crypto::SelfSignedSpec spec;
    spec.common_name = "Fuzz Seed CA";
    ca.certificates.push_back(signet::crypto::make_self_signed(ca.key.get(), spec));
    ca.format = "pkcs8-pem";
    (void)store.import("ca", std::move(ca));
    (void)store.generate("ocsp", signet::crypto::KeyAlgorithm::Ed25519);
  }
  const fs::path backup = work / (name + ".backup");
  (void)store.create_backup(backup, signet::Passphrase(signet::as_bytes(kPassphrase)), {2, 1, 1}, "fuzz-seed");
  write_all(corpus / "backup_container" / name, read_all(backup));

  const fs::path db = work / (name + ".db");
  const signet::backup::OpenedContainer opened =
      signet::backup::read_container(backup, signet::Passphrase(signet::as_bytes(kPassphrase)), db);
  Bytes stream;
  stream.push_back(static_cast<std::uint8_t>(signet::backup::Section::Manifest));
  put_be(stream, opened.manifest_json.size(), 8);
  stream.insert(stream.end(), opened.manifest_json.begin(), opened.manifest_json.end());
  stream.push_back(static_cast<std::uint8_t>(signet::backup::Section::Secrets));
  put_be(stream, opened.secrets.size(), 8);
  stream.insert(stream.end(), opened.secrets.view().begin(), opened.secrets.view().end());
  const Bytes database = read_all(db);
  stream.push_back(static_cast<std::uint8_t>(signet::backup::Section::Database));
  put_be(stream, database.size(), 8);
  stream.insert(stream.end(), database.begin(), database.end());
  write_all(corpus / "backup_sections" / name, stream);
  std::printf("%s: backup %zu bytes, section stream %zu bytes\n", name.c_str(),
              static_cast<std::size_t>(fs::file_size(backup)), stream.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const fs::path corpus = argv[1];
  fs::create_directories(corpus / "backup_container");
  fs::create_directories(corpus / "backup_sections");
  const fs::path work = fs::temp_directory_path() / ("signet-fuzz-seeds-" + std::to_string(::getpid()));
  fs::create_directories(work);
  try {
    make_seed(work, corpus, "empty-store", false);
    make_seed(work, corpus, "two-keys", true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    fs::remove_all(work);
    return 1;
  }
  fs::remove_all(work);
  return 0;
}
