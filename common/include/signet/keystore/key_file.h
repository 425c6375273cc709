// Reading and writing key files for interop: PKCS#12, PKCS#8 (PEM or DER, encrypted or not),
// traditional PEM keys, and PEM bundles of a key with its certificates.
//
// parse_key_file() finds the one private key in a file together with the certificates and requests
// that came with it. A file with no private key (a certificate request alone, a certificate
// alone: the Q174781 case) is refused with Error(Malformed, "private-key-missing") and a message
// that names the fix. The passphrase callback is called only if the file is encrypted.
//
// Thread-safety: reentrant.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "signet/core/bytes.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/handles.h"

namespace signet::keystore {

struct KeyMaterial {
  ossl::Pkey key;
  std::vector<crypto::Certificate> certificates;  // as found in the file, in file order
  std::vector<crypto::CertificateRequest> requests;
  std::string format;  // "pkcs12", "pkcs8-pem", "pkcs8-der", "encrypted-pkcs8-pem", ...
};

// Called when the file is encrypted; returns the passphrase or throws (for example when no
// passphrase source is available).
using PassphraseSource = std::function<Passphrase()>;

// `source_name` names the file in messages. Throws Error(Malformed) for a file that is no key file,
// Error(Malformed, "private-key-missing") for a file with no private key, Error(Unauthorized,
// "wrong-import-passphrase") for a wrong passphrase, Error(Unsupported) for legacy encryption.
[[nodiscard]] KeyMaterial parse_key_file(ByteView contents, const std::string& source_name,
                                         const PassphraseSource& passphrase);

// A PKCS#12 file with `key`, `certificates` (the key's own first, then its chain) and
// `friendly_name`, encrypted with AES-256-CBC under PBKDF2 and MACed with HMAC-SHA-256: readable
// by `openssl pkcs12` without -legacy.
[[nodiscard]] Bytes make_pkcs12(const EVP_PKEY* key, const std::vector<crypto::Certificate>& certificates,
                                const std::string& friendly_name, const Passphrase& passphrase);

}  // namespace signet::keystore
