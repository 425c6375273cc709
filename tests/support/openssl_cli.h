// Running the real `openssl` command line tool to make test inputs (keys, requests, certificates,
// PKCS#12 and PKCS#8 files) exactly as an operator would, and to read back what Signet writes.
// Passphrases go through files (-passin/-passout file:PATH), never argv.
// Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace signet::test {

// Runs `openssl args...`; returns its standard output. Throws std::runtime_error with the command
// line and openssl's standard error when it exits non-zero.
std::string openssl(const std::vector<std::string>& args);

// A small PKI made with the openssl CLI in `dir`: a root CA, an intermediate CA signed by it and a
// leaf (non-CA) certificate signed by the intermediate, all EC P-256. Files: root.key, root.pem,
// intermediate.key, intermediate.pem, leaf.key, leaf.pem (keys are PEM PKCS#8, unencrypted).
struct OpensslChain {
  std::filesystem::path root_key, root_cert;
  std::filesystem::path intermediate_key, intermediate_cert;
  std::filesystem::path leaf_key, leaf_cert;
};
OpensslChain make_openssl_chain(const std::filesystem::path& dir);

}  // namespace signet::test
