#include "signet/core/error.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <set>
#include <thread>
#include <string>

#include "support/error_assert.h"

namespace signet {
namespace {

constexpr ErrorKind kAllKinds[] = {
    ErrorKind::NotFound, ErrorKind::Malformed, ErrorKind::PolicyDenied, ErrorKind::Unauthorized,
    ErrorKind::Crypto,   ErrorKind::Storage,   ErrorKind::Conflict,     ErrorKind::Unsupported,
    ErrorKind::Integrity, ErrorKind::Internal,
};

// Puts a real OpenSSL error on this thread's queue: parsing bytes that are not a certificate.
void provoke_openssl_error() {
  const unsigned char garbage[] = {0x30, 0x03, 0x02, 0x01};
  const unsigned char* p = garbage;
  X509* cert = d2i_X509(nullptr, &p, sizeof garbage);
  ASSERT_EQ(cert, nullptr);
  ASSERT_NE(ERR_peek_error(), 0u) << "d2i_X509 left no error to test with";
}

TEST(ErrorKindNames, AreStableAndDistinct) {
  EXPECT_EQ(to_string(ErrorKind::NotFound), "not-found");
  EXPECT_EQ(to_string(ErrorKind::Malformed), "malformed");
  EXPECT_EQ(to_string(ErrorKind::PolicyDenied), "policy-denied");
  EXPECT_EQ(to_string(ErrorKind::Unauthorized), "unauthorized");
  EXPECT_EQ(to_string(ErrorKind::Crypto), "crypto");
  EXPECT_EQ(to_string(ErrorKind::Storage), "storage");
  EXPECT_EQ(to_string(ErrorKind::Conflict), "conflict");
  EXPECT_EQ(to_string(ErrorKind::Unsupported), "unsupported");
  EXPECT_EQ(to_string(ErrorKind::Integrity), "integrity");
  EXPECT_EQ(to_string(ErrorKind::Internal), "internal");
  std::set<std::string_view> names;
  for (const ErrorKind k : kAllKinds) names.insert(to_string(k));
  EXPECT_EQ(names.size(), std::size(kAllKinds));
}

TEST(ErrorKindNames, OutOfRangeValueIsInternalNotACrash) {
  EXPECT_EQ(to_string(static_cast<ErrorKind>(999)), "internal");
}

TEST(Error, CarriesKindCodeMessageAndNativeCode) {
  const Error e(ErrorKind::Storage, "disk-full", "the disk is full", 28);
  EXPECT_EQ(e.kind(), ErrorKind::Storage);
  EXPECT_EQ(e.code(), "disk-full");
  EXPECT_STREQ(e.what(), "the disk is full");
  EXPECT_EQ(e.native_code(), 28);
  EXPECT_EQ(Error(ErrorKind::NotFound, "x", "y").native_code(), 0);
}

TEST(Error, IsARuntimeErrorAndCopiesKeepEverything) {
  try {
    throw Error(ErrorKind::Conflict, "name-taken", "a key named \"root\" already exists");
  } catch (const std::runtime_error& base) {
    const auto* e = dynamic_cast<const Error*>(&base);
    ASSERT_NE(e, nullptr);
    const Error copy = *e;
    EXPECT_EQ(copy.kind(), ErrorKind::Conflict);
    EXPECT_EQ(copy.code(), "name-taken");
    EXPECT_STREQ(copy.what(), "a key named \"root\" already exists");
  }
}

TEST(DrainOpensslErrors, EmptyQueueGivesEmptyString) {
  ERR_clear_error();
  EXPECT_EQ(drain_openssl_errors(), "");
}

TEST(DrainOpensslErrors, GivesReadableReasonsAndEmptiesTheQueue) {
  ERR_clear_error();
  provoke_openssl_error();
  const unsigned long first = ERR_peek_error();
  const std::string text = drain_openssl_errors();
  EXPECT_EQ(ERR_peek_error(), 0u) << "the queue must be left empty";
  ASSERT_FALSE(text.empty());
  // The readable reason, not the packed "error:0680007B:..." form.
  EXPECT_NE(text.find(ERR_reason_error_string(first)), std::string::npos) << text;
  EXPECT_EQ(text.find("error:"), std::string::npos) << text;
}

TEST(DrainOpensslErrors, JoinsSeveralErrorsAndKeepsTheirData) {
  ERR_clear_error();
  ERR_raise_data(ERR_LIB_EVP, EVP_R_UNSUPPORTED_ALGORITHM, "Algorithm (%s)", "FOO-256");
  ERR_raise(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH);
  const std::string text = drain_openssl_errors();
  EXPECT_NE(text.find("unsupported algorithm (Algorithm (FOO-256))"), std::string::npos) << text;
  EXPECT_NE(text.find("; key values mismatch"), std::string::npos) << text;
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(ThrowOpenssl, ThrowsGivenKindWithReasonsAndFirstNativeCode) {
  ERR_clear_error();
  provoke_openssl_error();
  const unsigned long first = ERR_peek_error();
  const Error e = test::capture_error(
      [] { throw_openssl(ErrorKind::Malformed, "certificate-malformed", "parsing failed"); });
  EXPECT_EQ(e.kind(), ErrorKind::Malformed);
  EXPECT_EQ(e.code(), "certificate-malformed");
  EXPECT_EQ(e.native_code(), static_cast<long>(first));
  const std::string what = e.what();
  EXPECT_EQ(what.rfind("parsing failed: ", 0), 0u) << what;
  EXPECT_NE(what.find(ERR_reason_error_string(first)), std::string::npos) << what;
  EXPECT_EQ(ERR_peek_error(), 0u) << "throw_openssl must leave the queue empty";
}

TEST(ThrowOpenssl, WithEmptyQueueUsesJustTheMessage) {
  ERR_clear_error();
  const Error e = test::capture_error([] { throw_openssl(ErrorKind::Crypto, "rng-failed", "the RNG failed"); });
  EXPECT_EQ(e.kind(), ErrorKind::Crypto);
  EXPECT_EQ(e.code(), "rng-failed");
  EXPECT_STREQ(e.what(), "the RNG failed");
  EXPECT_EQ(e.native_code(), 0);
}

TEST(ThrowOpenssl, ErrorsOnOtherThreadsDoNotLeakIn) {
  // The queue is per thread: a failure on this thread must not pick up another thread's errors.
  ERR_clear_error();
  std::thread([] {
    ERR_raise(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH);
    // Left on that thread's queue on purpose.
  }).join();
  EXPECT_EQ(drain_openssl_errors(), "");
}

}  // namespace
}  // namespace signet
