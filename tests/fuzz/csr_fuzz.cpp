// libFuzzer target: the PKCS#10 request parser of common (CertificateRequest::try_from_der),
// differential against OpenSSL's own d2i_X509_REQ.
//
// try_from_der parses a request in parts so that the public key goes through a cached decoder,
// and gives d2i_X509_REQ whatever that path does not take. It is not meant to be stricter or
// looser than OpenSSL anywhere, so both directions are checked: every input is accepted by both
// (consuming every byte) or by neither. When both accept, the two must agree on the subject, the
// public key (when OpenSSL's decodes), the extensions and the signature verdict; what we accept
// round-trips (its PEM armour reads back as the same request, and the request's re-encoding
// parses again as the same request; a BER input, which both accept, re-encodes as DER, so the
// comparison is on OpenSSL's encoding, not on the bytes received); and our parse leaves nothing
// on OpenSSL's error queue.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "signet/crypto/certificate.h"
#include "signet/crypto/key.h"

namespace {

using signet::Bytes;
using signet::ByteView;
using signet::crypto::CertificateRequest;
namespace ossl = signet::ossl;

ossl::X509ReqPtr reference(ByteView der) {
  const unsigned char* p = der.data();
  ossl::X509ReqPtr req{d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()))};
  if (req && p != der.data() + der.size()) req.reset();
  ERR_clear_error();
  return req;
}

bool reference_verifies(X509_REQ* req) {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  const bool ok = key != nullptr && X509_REQ_verify(req, key) == 1;
  ERR_clear_error();
  return ok;
}

Bytes extensions_der(X509_REQ* req) {
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  Bytes out;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    const int len = i2d_X509_EXTENSION(ext, nullptr);
    if (len <= 0) continue;
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(len));
    unsigned char* p = out.data() + at;
    (void)i2d_X509_EXTENSION(ext, &p);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  ERR_clear_error();
  return out;
}

// OpenSSL's encoding of a parsed request (empty when it does not encode).
Bytes encode(X509_REQ* req) {
  Bytes out;
  const int len = req != nullptr ? i2d_X509_REQ(req, nullptr) : 0;
  if (len > 0) {
    out.resize(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    (void)i2d_X509_REQ(req, &p);
  }
  ERR_clear_error();
  return out;
}

// The request that the PEM armour of `req` reads back as, encoded by OpenSSL.
Bytes pem_round_trip(const CertificateRequest& req) {
  const std::string pem = signet::crypto::to_pem(req);
  const ossl::Bio bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  const ossl::X509ReqPtr back{PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr)};
  return encode(back.get());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView der(data, size);
  ERR_clear_error();
  const auto ours = CertificateRequest::try_from_der(der);
  FUZZ_CHECK(ERR_peek_error() == 0, "try_from_der left an error on OpenSSL's queue");
  const ossl::X509ReqPtr theirs = reference(der);
  FUZZ_CHECK(ours.has_value() == (theirs != nullptr),
             std::string("try_from_der ") + (ours ? "accepts" : "rejects") + " what d2i_X509_REQ " +
                 (theirs ? "accepts" : "rejects"));
  if (!ours) return 0;

  FUZZ_CHECK(ours->der() == Bytes(der.begin(), der.end()), "der() is not the bytes parsed");
  FUZZ_CHECK(X509_NAME_cmp(X509_REQ_get_subject_name(ours->x509_req()), X509_REQ_get_subject_name(theirs.get())) == 0,
             "the subjects differ");
  EVP_PKEY* their_key = X509_REQ_get0_pubkey(theirs.get());
  ERR_clear_error();
  EVP_PKEY* our_key = ours->public_key();
  FUZZ_CHECK((our_key != nullptr) == (their_key != nullptr), "one parse decodes the public key, the other does not");
  if (our_key != nullptr) {
    FUZZ_CHECK(signet::crypto::same_public_key(our_key, their_key), "the public keys differ");
  }
  FUZZ_CHECK(extensions_der(ours->x509_req()) == extensions_der(theirs.get()), "the extensions differ");
  FUZZ_CHECK(ours->signature_valid() == reference_verifies(theirs.get()), "the signature verdicts differ");
  const Bytes encoded = encode(theirs.get());
  FUZZ_CHECK(!encoded.empty() && pem_round_trip(*ours) == encoded, "the PEM form does not read back as the same request");
  const auto again = CertificateRequest::try_from_der(encoded);
  FUZZ_CHECK(again.has_value(), "the re-encoding of an accepted request is refused");
  FUZZ_CHECK(X509_NAME_cmp(X509_REQ_get_subject_name(again->x509_req()), X509_REQ_get_subject_name(theirs.get())) == 0,
             "the re-encoded request has another subject");
  FUZZ_CHECK(ERR_peek_error() == 0, "the request's accessors left an error on OpenSSL's queue");
  return 0;
}
