#include "signet/keystore/key_file.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include <cstring>
#include <limits>

#include "signet/core/error.h"
#include "signet/crypto/key.h"

namespace signet::keystore {

namespace {

constexpr int kPkcs12Iterations = 100000;

[[noreturn]] void throw_private_key_missing(const std::string& source, const std::string& holds) {
  throw Error(ErrorKind::Malformed, "private-key-missing",
              source + " holds " + holds +
                  " but no private key. A certificate request or certificate cannot be turned back "
                  "into a key: you need the private key itself (a PKCS#12 or PKCS#8 file), or a "
                  "full backup of the key store made with `signet backup create`. Nothing was "
                  "imported.");
}

[[noreturn]] void throw_wrong_passphrase(const std::string& source) {
  ERR_clear_error();
  throw Error(ErrorKind::Unauthorized, "wrong-import-passphrase",
              "the passphrase for " + source +
                  " is wrong (or the file is damaged): the file could not be decrypted. Nothing "
                  "was imported.");
}

// Holds the lazily requested passphrase for OpenSSL's pem_password_cb.
struct PassphraseHolder {
  const PassphraseSource* source;
  std::optional<Passphrase> value;
  std::exception_ptr failure;
  bool asked = false;

  const Passphrase& get() {
    if (!value) {
      asked = true;
      if (!*source) {
        throw Error(ErrorKind::Unauthorized, "import-passphrase-required",
                    "the file is encrypted and no passphrase was given: use --in-passphrase-file");
      }
      value = (*source)();
    }
    return *value;
  }
};

int pem_callback(char* buf, int size, int /*rwflag*/, void* user) {
  auto* holder = static_cast<PassphraseHolder*>(user);
  try {
    const Passphrase& pass = holder->get();
    if (pass.size() > static_cast<std::size_t>(size)) return -1;
    std::memcpy(buf, pass.data(), pass.size());
    return static_cast<int>(pass.size());
  } catch (...) {
    holder->failure = std::current_exception();
    return -1;
  }
}

void add_certificate_der(KeyMaterial& out, ByteView der, const std::string& source) {
  auto cert = crypto::Certificate::try_from_der(der);
  if (!cert) {
    throw Error(ErrorKind::Malformed, "certificate-malformed",
                source + " contains a CERTIFICATE block that is not a valid X.509 certificate");
  }
  out.certificates.push_back(*std::move(cert));
}

void set_key(KeyMaterial& out, ossl::Pkey key, const std::string& source) {
  if (out.key) {
    throw Error(ErrorKind::Malformed, "multiple-private-keys",
                source + " contains more than one private key; put each key in its own file and "
                         "import them one at a time");
  }
  out.key = std::move(key);
}

KeyMaterial parse_pem(ByteView contents, const std::string& source, const PassphraseSource& pass) {
  KeyMaterial out;
  ossl::Bio bio{BIO_new_mem_buf(contents.data(), static_cast<int>(contents.size()))};
  PassphraseHolder holder{&pass, std::nullopt, nullptr};
  bool any_public_key = false;
  std::string encrypted_format;
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      const unsigned long err = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;  // end of input
      throw Error(ErrorKind::Malformed, "pem-malformed",
                  source + " contains a damaged PEM block (bad base64 or missing END line)");
    }
    const std::string block(name);
    const std::string hdr(header != nullptr ? header : "");
    std::unique_ptr<char, void (*)(void*)> free_name(name, [](void* p) { OPENSSL_free(p); });
    std::unique_ptr<char, void (*)(void*)> free_header(header, [](void* p) { OPENSSL_free(p); });
    // The DER of a private key block is secret: wipe it when done.
    std::unique_ptr<unsigned char, std::function<void(unsigned char*)>> free_data(
        data, [len](unsigned char* p) { OPENSSL_clear_free(p, static_cast<std::size_t>(len)); });
    const ByteView der(data, static_cast<std::size_t>(len));

    if (block == "CERTIFICATE" || block == "X509 CERTIFICATE") {
      add_certificate_der(out, der, source);
    } else if (block == "CERTIFICATE REQUEST" || block == "NEW CERTIFICATE REQUEST") {
      auto req = crypto::CertificateRequest::try_from_der(der);
      if (!req) {
        throw Error(ErrorKind::Malformed, "request-malformed",
                    source + " contains a CERTIFICATE REQUEST block that is not a valid request");
      }
      out.requests.push_back(*std::move(req));
    } else if (block == "PUBLIC KEY") {
      any_public_key = true;
    } else if (block == "EC PARAMETERS") {
      // `openssl ecparam -genkey` writes the curve before the key; the key names its curve
      // itself, so the block adds nothing and is skipped.
    } else if (block.size() >= 11 && block.compare(block.size() - 11, 11, "PRIVATE KEY") == 0) {
      // Re-armour just this block and let OpenSSL decode it (PKCS#8, encrypted PKCS#8, or a
      // traditional RSA/EC key with or without Proc-Type encryption).
      ossl::Bio one{BIO_new(BIO_s_mem())};
      if (!one || PEM_write_bio(one.get(), name, header, data, len) <= 0) {
        throw_openssl(ErrorKind::Internal, "pem-failed", "re-encoding a PEM block failed");
      }
      const bool encrypted =
          block == "ENCRYPTED PRIVATE KEY" || hdr.find("ENCRYPTED") != std::string::npos;
      ossl::Pkey key{PEM_read_bio_PrivateKey(one.get(), nullptr, pem_callback, &holder)};
      if (holder.failure) std::rethrow_exception(holder.failure);
      if (!key) {
        if (encrypted) throw_wrong_passphrase(source);
        ERR_clear_error();
        throw Error(ErrorKind::Malformed, "private-key-malformed",
                    source + " contains a " + block + " block that is not a valid private key");
      }
      set_key(out, std::move(key), source);
      encrypted_format = encrypted ? "encrypted-" : "";
      out.format = encrypted_format + (block == "PRIVATE KEY" || block == "ENCRYPTED PRIVATE KEY"
                                           ? "pkcs8-pem"
                                           : "traditional-pem");
    } else {
      throw Error(ErrorKind::Malformed, "pem-unexpected-block",
                  source + " contains a PEM block of type \"" + block +
                      "\", which Signet does not import (expected a private key, certificates "
                      "and certificate requests)");
    }
  }
  if (!out.key) {
    if (!out.requests.empty()) throw_private_key_missing(source, "a certificate request");
    if (!out.certificates.empty()) throw_private_key_missing(source, "a certificate");
    if (any_public_key) throw_private_key_missing(source, "a public key");
    throw Error(ErrorKind::Malformed, "not-a-key-file",
                source + " contains no PEM data Signet can import");
  }
  return out;
}

std::optional<KeyMaterial> try_pkcs12(ByteView contents, const std::string& source,
                                      const PassphraseSource& pass) {
  const unsigned char* p = contents.data();
  ossl::Pkcs12Ptr p12{d2i_PKCS12(nullptr, &p, static_cast<long>(contents.size()))};
  if (!p12 || p != contents.data() + contents.size()) {
    ERR_clear_error();
    return std::nullopt;
  }
  PassphraseHolder holder{&pass, std::nullopt, nullptr};
  // An unprotected PKCS#12 verifies with an empty or absent password: don't ask for one then.
  const char* password = nullptr;
  int password_len = 0;
  if (PKCS12_mac_present(p12.get()) == 1) {
    if (PKCS12_verify_mac(p12.get(), "", 0) == 1) {
      password = "";
    } else if (PKCS12_verify_mac(p12.get(), nullptr, 0) != 1) {
      ERR_clear_error();
      const Passphrase& given = holder.get();
      if (given.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        throw_wrong_passphrase(source);
      }
      password = reinterpret_cast<const char*>(given.data());
      password_len = static_cast<int>(given.size());
      if (PKCS12_verify_mac(p12.get(), password, password_len) != 1) {
        const unsigned long err = ERR_peek_last_error();
        ERR_clear_error();
        if (ERR_GET_REASON(err) == PKCS12_R_UNSUPPORTED_PKCS12_MODE ||
            ERR_GET_REASON(err) == ERR_R_UNSUPPORTED) {
          throw Error(ErrorKind::Unsupported, "pkcs12-unsupported",
                      source + " uses an algorithm OpenSSL 3 does not enable by default; "
                               "convert it first with `openssl pkcs12 -legacy`");
        }
        throw_wrong_passphrase(source);
      }
    }
  }
  // PKCS12_parse wants a NUL-terminated password.
  std::string pass_copy(password != nullptr ? password : "", static_cast<std::size_t>(password_len));
  EVP_PKEY* raw_key = nullptr;
  X509* raw_cert = nullptr;
  STACK_OF(X509)* raw_ca = nullptr;
  const int ok = PKCS12_parse(p12.get(), password != nullptr ? pass_copy.c_str() : nullptr,
                              &raw_key, &raw_cert, &raw_ca);
  OPENSSL_cleanse(pass_copy.data(), pass_copy.size());
  ossl::Pkey key(raw_key);
  ossl::X509Ptr cert(raw_cert);
  ossl::X509Stack ca(raw_ca);
  if (ok != 1) {
    const unsigned long err = ERR_peek_last_error();
    ERR_clear_error();
    // OpenSSL 3 reports a cipher it cannot fetch (RC2-40, the default of `openssl pkcs12
    // -legacy` and of older Windows exports) as the common reason ERR_R_UNSUPPORTED.
    if (ERR_GET_LIB(err) == ERR_LIB_EVP && (ERR_GET_REASON(err) == EVP_R_UNSUPPORTED_ALGORITHM ||
                                            ERR_GET_REASON(err) == ERR_R_UNSUPPORTED)) {
      throw Error(ErrorKind::Unsupported, "pkcs12-unsupported",
                  source + " is encrypted with a legacy algorithm (RC2 or 3DES) that OpenSSL 3 "
                           "disables; convert it with `openssl pkcs12 -legacy -in FILE -nodes | "
                           "openssl pkcs12 -export` first");
    }
    throw_wrong_passphrase(source);
  }
  KeyMaterial out;
  out.format = "pkcs12";
  if (cert) out.certificates.push_back(crypto::Certificate::from_x509(cert.get()));
  for (int i = 0; ca && i < sk_X509_num(ca.get()); ++i) {
    out.certificates.push_back(crypto::Certificate::from_x509(sk_X509_value(ca.get(), i)));
  }
  if (!key) {
    throw_private_key_missing(source, out.certificates.empty() ? "a PKCS#12 structure"
                                                               : "certificates");
  }
  out.key = std::move(key);
  return out;
}

std::optional<KeyMaterial> try_der(ByteView contents, const std::string& source,
                                   const PassphraseSource& pass) {
  if (auto p12 = try_pkcs12(contents, source, pass)) return p12;
  if (ossl::Pkey key = crypto::parse_private_key_der(contents)) {
    KeyMaterial out;
    out.key = std::move(key);
    out.format = "pkcs8-der";
    return out;
  }
  {
    const unsigned char* p = contents.data();
    ossl::X509SigPtr sig{d2i_X509_SIG(nullptr, &p, static_cast<long>(contents.size()))};
    if (sig && p == contents.data() + contents.size()) {
      PassphraseHolder holder{&pass, std::nullopt, nullptr};
      const Passphrase& given = holder.get();
      ossl::Pkcs8Ptr p8{PKCS8_decrypt(sig.get(), reinterpret_cast<const char*>(given.data()),
                                      static_cast<int>(given.size()))};
      if (!p8) throw_wrong_passphrase(source);
      ossl::Pkey key{EVP_PKCS82PKEY(p8.get())};
      if (!key) {
        ERR_clear_error();
        throw Error(ErrorKind::Malformed, "private-key-malformed",
                    source + " decrypts, but does not hold a valid private key");
      }
      KeyMaterial out;
      out.key = std::move(key);
      out.format = "encrypted-pkcs8-der";
      return out;
    }
    ERR_clear_error();
  }
  if (crypto::Certificate::try_from_der(contents)) throw_private_key_missing(source, "a certificate");
  if (crypto::CertificateRequest::try_from_der(contents)) {
    throw_private_key_missing(source, "a certificate request");
  }
  if (crypto::parse_public_key_der(contents)) throw_private_key_missing(source, "a public key");
  return std::nullopt;
}

}  // namespace

KeyMaterial parse_key_file(ByteView contents, const std::string& source_name,
                           const PassphraseSource& passphrase) {
  if (contents.empty()) {
    throw Error(ErrorKind::Malformed, "empty-file", source_name + " is empty");
  }
  if (contents.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw Error(ErrorKind::Malformed, "file-too-large", source_name + " is too large");
  }
  const std::string_view text(reinterpret_cast<const char*>(contents.data()), contents.size());
  if (text.find("-----BEGIN ") != std::string_view::npos) {
    return parse_pem(contents, source_name, passphrase);
  }
  if (auto der = try_der(contents, source_name, passphrase)) return *std::move(der);
  throw Error(ErrorKind::Malformed, "not-a-key-file",
              source_name + " is not a key file Signet can read: expected PKCS#12 (.p12/.pfx), "
                            "PKCS#8 (PEM or DER, encrypted or not), or a PEM private key with its "
                            "certificates");
}

Bytes make_pkcs12(const EVP_PKEY* key, const std::vector<crypto::Certificate>& certificates,
                  const std::string& friendly_name, const Passphrase& passphrase) {
  ossl::X509Stack chain{sk_X509_new_null()};
  for (std::size_t i = 1; i < certificates.size(); ++i) {
    if (sk_X509_push(chain.get(), certificates[i].x509()) <= 0) {
      throw_openssl(ErrorKind::Internal, "pkcs12-failed", "building the PKCS#12 chain failed");
    }
    X509_up_ref(certificates[i].x509());
  }
  // PKCS12_create wants a NUL-terminated password.
  std::string pass(passphrase.as_string_view());
  PKCS12* raw = PKCS12_create_ex(pass.c_str(), friendly_name.c_str(), const_cast<EVP_PKEY*>(key),
                                 certificates.empty() ? nullptr : certificates.front().x509(),
                                 chain.get(), NID_aes_256_cbc, NID_aes_256_cbc, kPkcs12Iterations,
                                 -1 /* MAC set below, with SHA-256 */, 0, nullptr, nullptr);
  ossl::Pkcs12Ptr p12(raw);
  const bool ok = p12 && PKCS12_set_mac(p12.get(), pass.c_str(), -1, nullptr, 0, kPkcs12Iterations,
                                        EVP_sha256()) == 1;
  OPENSSL_cleanse(pass.data(), pass.size());
  if (!ok) throw_openssl(ErrorKind::Crypto, "pkcs12-failed", "creating the PKCS#12 file failed");
  unsigned char* der = nullptr;
  const int len = i2d_PKCS12(p12.get(), &der);
  if (len <= 0) throw_openssl(ErrorKind::Crypto, "pkcs12-failed", "encoding the PKCS#12 file failed");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace signet::keystore
