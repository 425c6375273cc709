// The one mapping from an exception to an HTTP answer (http.h: http_status_of, error_response),
// used by the server for what escapes a handler and by handlers for what they catch.
#include <string_view>

#include <spdlog/spdlog.h>

#include "http.h"

namespace signet::daemon {
namespace {

HttpResponse internal_error(const std::string& request_id) {
  return json_error(500, "internal-error", "an internal error happened; the operator's log has request " + request_id,
                    request_id);
}

// Whether `message` names a file or directory of the server ("/var/lib/signet/signet.db"): common's
// errors are written for the operator and may, and the client must not learn the layout.
// A path is a '/' at the start or after a space, quote, '(', '=' or '`', then a name, then another
// '/' ("/var/lib/..."); a lone "/" or an API path in running text ("a/b") is not one.
bool names_a_path(std::string_view message) {
  constexpr std::string_view kBefore = " \t\r\n'\"(=`";
  constexpr std::string_view kNotInName = " \t\r\n/'\"";
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] != '/' || (i > 0 && kBefore.find(message[i - 1]) == std::string_view::npos)) continue;
    std::size_t j = i + 1;
    while (j < message.size() && kNotInName.find(message[j]) == std::string_view::npos) ++j;
    if (j > i + 1 && j < message.size() && message[j] == '/') return true;
  }
  return false;
}

}  // namespace

int http_status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::NotFound: return 404;
    case ErrorKind::Malformed: return 400;
    case ErrorKind::PolicyDenied: return 422;
    case ErrorKind::Unauthorized: return 401;
    case ErrorKind::Conflict: return 409;
    case ErrorKind::Unsupported: return 415;
    case ErrorKind::Storage: return 503;
    default: return 500;
  }
}

HttpResponse error_response(const Error& error, const std::string& request_id) {
  const int status = http_status_of(error.kind());
  if (status == 503) {
    spdlog::error("request {} failed: {} ({})", request_id, error.what(), error.code());
    HttpResponse r = json_error(503, "unavailable", "the CA cannot write to its database right now; try again later",
                                request_id);
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  if (status >= 500) {
    spdlog::error("request {} failed: {} ({})", request_id, error.what(), error.code());
    return internal_error(request_id);
  }
  if (names_a_path(error.what())) {
    spdlog::warn("request {} failed: {} ({})", request_id, error.what(), error.code());
    return json_error(status, error.code(),
                      "the request failed (" + error.code() + "); the operator's log has request " + request_id,
                      request_id);
  }
  return json_error(status, error.code(), error.what(), request_id);
}

HttpResponse error_response(std::exception_ptr error, const std::string& request_id) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return error_response(e, request_id);
  } catch (const std::exception& e) {
    spdlog::error("request {} failed: {}", request_id, e.what());
  } catch (...) {
    spdlog::error("request {} failed with an unknown exception", request_id);
  }
  return internal_error(request_id);
}

}  // namespace signet::daemon
