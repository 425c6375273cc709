// Base64 decoding with OpenSSL's EVP encoder (see base64.h).
#include "base64.h"

#include <openssl/evp.h>

#include <memory>
#include <string>

namespace signet::daemon {

std::optional<Bytes> base64_decode(std::string_view text) {
  if (text.empty() || text.size() > 8192) return std::nullopt;
  std::string padded(text);
  while (padded.size() % 4 != 0) padded.push_back('=');
  Bytes out(padded.size() / 4 * 3);
  std::unique_ptr<EVP_ENCODE_CTX, decltype(&EVP_ENCODE_CTX_free)> ctx(EVP_ENCODE_CTX_new(), EVP_ENCODE_CTX_free);
  if (!ctx) return std::nullopt;
  EVP_DecodeInit(ctx.get());
  int len = 0;
  int final_len = 0;
  if (EVP_DecodeUpdate(ctx.get(), out.data(), &len, reinterpret_cast<const unsigned char*>(padded.data()),
                       static_cast<int>(padded.size())) < 0 ||
      EVP_DecodeFinal(ctx.get(), out.data() + len, &final_len) != 1) {
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(len + final_len));
  return out;
}

}  // namespace signet::daemon
