// Boost.Asio 1.74's ssl::context still calls OpenSSL's deprecated RSA and DH functions; they must be
// declared here (before any OpenSSL header) although signet_common builds with OPENSSL_NO_DEPRECATED.
#undef OPENSSL_NO_DEPRECATED

#include "tls_context.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>
#include <system_error>

#include <boost/asio/ssl.hpp>

#include "http_server.h"
#include "signet/core/error.h"
#include "signet/core/file.h"

namespace signet::daemon {
namespace {

namespace ssl = boost::asio::ssl;

// ECDHE with AEAD only, for TLS 1.2 (TLS 1.3 has its own, all fine).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

int accept_any_certificate(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) { return 1; }

}  // namespace

std::shared_ptr<ssl::context> load_tls_context(const Config& config) {
  for (const auto& [file, key] : {std::pair{config.tls_certificate, "https.certificate"}, std::pair{config.tls_key, "https.key"}}) {
    const std::string why = file.empty() ? "is not set" : file::absence_reason(file);
    if (!why.empty()) {
      throw Error(ErrorKind::NotFound, "tls-file-missing",
                  "the TLS file " + file.string() + " (" + key + " in " + config.source.string() + ") " + why);
    }
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);
  SSL_CTX_set_options(h, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(h, kTls12Ciphers) != 1 || SSL_CTX_set1_groups_list(h, "X25519:P-256:P-384") != 1) {
    throw_openssl(ErrorKind::Crypto, "tls-invalid", "configuring TLS failed");
  }
  const std::string cert = config.tls_certificate.string();
  const std::string key = config.tls_key.string();
  if (SSL_CTX_use_certificate_chain_file(h, cert.c_str()) != 1) {
    throw_openssl(ErrorKind::Crypto, "tls-invalid", "cannot load the TLS certificate chain from " + cert);
  }
  if (SSL_CTX_use_PrivateKey_file(h, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw_openssl(ErrorKind::Crypto, "tls-invalid", "cannot load the TLS private key from " + key);
  }
  if (SSL_CTX_check_private_key(h) != 1) {
    throw_openssl(ErrorKind::Crypto, "tls-invalid", "the TLS key " + key + " does not belong to the certificate " + cert);
  }
  // Ask for a client certificate but take any (or none): the API decides what it proves.
  SSL_CTX_set_verify(h, SSL_VERIFY_PEER, accept_any_certificate);
  static constexpr unsigned char kSessionContext[] = "signetd";
  SSL_CTX_set_session_id_context(h, kSessionContext, sizeof(kSessionContext) - 1);
  (void)drain_openssl_errors();
  return ctx;
}

void check_tls_files(const Config& config) { (void)load_tls_context(config); }

}  // namespace signet::daemon
