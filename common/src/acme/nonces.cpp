#include "signet/acme/nonces.h"

#include <openssl/evp.h>

#include "signet/acme/jws.h"
#include "signet/core/error.h"
#include "signet/crypto/primitives.h"

namespace signet::acme {
namespace {

constexpr std::size_t kBody = 12;  // counter (8) and issue time (4), big-endian
constexpr std::size_t kMac = 12;   // HMAC-SHA256, truncated: 96 bits no one can guess

void put(std::uint8_t* out, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * (bytes - 1 - i)));
}

std::uint64_t get(const std::uint8_t* in, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace

NonceStore::NonceStore(std::size_t window, std::chrono::seconds lifetime, const Clock& clock)
    : window_(window < 64 ? 64 : window),
      lifetime_(lifetime.count()),
      clock_(clock),
      key_(crypto::random_bytes(32)),
      used_((window_ + 63) / 64, 0) {}

NonceStore::NonceStore(SecretBytes key, Redeem redeem, std::chrono::seconds lifetime, const Clock& clock)
    : window_(64), lifetime_(lifetime.count()), clock_(clock), key_(std::move(key)), redeem_(std::move(redeem)) {
  if (key_.size() < 16) throw Error(ErrorKind::Internal, "nonce-key-short", "a shared nonce key must be 16 bytes or more");
  if (!redeem_) throw Error(ErrorKind::Internal, "nonce-redeem-missing", "shared nonces need a way to redeem them");
}

Bytes NonceStore::mac(ByteView data) const {
  std::uint8_t out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key_.data(), key_.size(), data.data(), data.size(), out,
                sizeof out, &len) == nullptr) {
    throw_openssl(ErrorKind::Crypto, "openssl-error", "computing a nonce's HMAC");
  }
  return Bytes(out, out + kMac);
}

std::string NonceStore::issue() {
  std::uint64_t counter = 0;
  if (redeem_) {
    const Bytes drawn = crypto::random_bytes(8);
    counter = get(drawn.data(), 8);
  } else {
    std::lock_guard lock(mutex_);
    counter = next_++;
    const std::size_t slot = counter % window_;
    used_[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
  }
  Bytes nonce(kBody);
  put(nonce.data(), counter, 8);
  put(nonce.data() + 8, static_cast<std::uint64_t>(clock_.unix_seconds()), 4);
  const Bytes tag = mac(nonce);
  nonce.insert(nonce.end(), tag.begin(), tag.end());
  return base64url_encode(nonce);
}

std::optional<NonceStore::Parsed> NonceStore::parse(std::string_view text) const {
  const std::optional<Bytes> nonce = base64url_decode(text);
  if (!nonce || nonce->size() != kBody + kMac) return std::nullopt;
  const ByteView body(nonce->data(), kBody);
  if (!crypto::equal_constant_time(mac(body), ByteView(nonce->data() + kBody, kMac))) return std::nullopt;
  Parsed p;
  p.body = Bytes(body.begin(), body.end());
  p.counter = get(nonce->data(), 8);
  p.issued = static_cast<std::int64_t>(get(nonce->data() + 8, 4));
  const std::int64_t now = clock_.unix_seconds();
  if (p.issued > now + 1 || now - p.issued > lifetime_) return std::nullopt;
  return p;
}

bool NonceStore::authentic(std::string_view text) const { return parse(text).has_value(); }

bool NonceStore::consume(std::string_view text) {
  const std::optional<Parsed> p = parse(text);
  if (!p) return false;
  if (redeem_) return redeem_(p->body, p->issued + lifetime_);
  std::lock_guard lock(mutex_);
  if (p->counter >= next_ || next_ - p->counter > window_) return false;
  const std::size_t slot = p->counter % window_;
  const std::uint64_t bit = std::uint64_t{1} << (slot % 64);
  if ((used_[slot / 64] & bit) != 0) return false;
  used_[slot / 64] |= bit;
  return true;
}

}  // namespace signet::acme
