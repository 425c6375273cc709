// Router, json_error and Responder (server/daemon/router.cpp): patterns match whole segments,
// "{name}" captures one decoded segment and "{name*}" the rest of the path, a known path with another method is 405 with Allow, an
// unknown one 404, a route exists only on its listeners; a Responder answers once, and one dropped
// unanswered sends 500.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http.h"
#include "http_util.h"

namespace signet::daemon {
namespace {

using nlohmann::json;

HttpRequest request(std::string method, std::string target, Listener listener = Listener::Https) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.listener = listener;
  r.request_id = "0123456789abcdef";
  return r;
}

// Records which route ran.
class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add("GET", "/healthz", {Listener::Https, Listener::Http});
    add("GET", "/api/v1/certificates", {Listener::Https});
    add("POST", "/api/v1/certificates", {Listener::Https});
    add("GET", "/api/v1/certificates/{serial}", {Listener::Https});
    add("POST", "/api/v1/certificates/{serial}/revoke", {Listener::Https});
    add("GET", "/ocsp/{request}", {Listener::Http});
    add("GET", "/rest/{tail*}", {Listener::Http});
  }
  void add(const std::string& method, const std::string& pattern, std::vector<Listener> listeners) {
    router.add(method, pattern, std::move(listeners),
               [this, method, pattern](HttpRequest&, Responder) { ran = method + " " + pattern; });
  }
  // Runs the matched handler (if any) and returns the match.
  Router::Match run(HttpRequest& req) {
    ran.clear();
    Router::Match m = router.match(req);
    if (m.handler != nullptr) (*m.handler)(req, Responder(nullptr));
    return m;
  }
  Router router;
  std::string ran;
};

TEST_F(RouterTest, LiteralRouteMatchesAndNamesItsPattern) {
  auto req = request("GET", "/healthz");
  const auto m = run(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_FALSE(m.error);
  EXPECT_EQ(m.route, "/healthz");
  EXPECT_EQ(ran, "GET /healthz");
}

TEST_F(RouterTest, QueryIsNotPartOfTheMatch) {
  auto req = request("GET", "/api/v1/certificates?limit=5");
  EXPECT_EQ(run(req).route, "/api/v1/certificates");
}

TEST_F(RouterTest, MethodSelectsAmongRoutesOfOnePath) {
  auto req = request("POST", "/api/v1/certificates");
  ASSERT_NE(run(req).handler, nullptr);
  EXPECT_EQ(ran, "POST /api/v1/certificates");
}

TEST_F(RouterTest, ParameterCapturesOneSegment) {
  auto req = request("POST", "/api/v1/certificates/3A0F99/revoke");
  const auto m = run(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "/api/v1/certificates/{serial}/revoke");
  EXPECT_EQ(req.params, (std::map<std::string, std::string>{{"serial", "3A0F99"}}));
}

TEST_F(RouterTest, ParameterIsPercentDecodedAndKeepsAnEncodedSlash) {
  auto req = request("GET", "/ocsp/MEow%2FTTBL%3D%3D", Listener::Http);
  const auto m = run(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(req.params.at("request"), "MEow/TTBL==");
}

TEST_F(RouterTest, RestParameterTakesTheRestOfThePathWithItsSlashes) {
  auto req = request("GET", "/rest/MEow/TTBL//x%2Fy%3D", Listener::Http);
  const auto m = run(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "/rest/{tail*}");
  EXPECT_EQ(req.params, (std::map<std::string, std::string>{{"tail", "MEow/TTBL//x/y="}}));
  auto one = request("GET", "/rest/abc", Listener::Http);
  ASSERT_NE(run(one).handler, nullptr);
  EXPECT_EQ(one.params.at("tail"), "abc");
  auto none = request("GET", "/rest", Listener::Http);
  EXPECT_EQ(run(none).handler, nullptr);
  auto empty = request("GET", "/rest/", Listener::Http);
  EXPECT_EQ(run(empty).handler, nullptr);
}

TEST_F(RouterTest, RestParameterTakesAnyNumberOfSegments) {
  // An OCSP GET's base64 may hold many '/': more than the router splits a path into.
  std::string tail = "M";
  for (int i = 0; i < 100; ++i) tail += "/a" + std::to_string(i);
  auto req = request("GET", "/rest/" + tail, Listener::Http);
  ASSERT_NE(run(req).handler, nullptr);
  EXPECT_EQ(req.params.at("tail"), tail);
  // Escapes in the part beyond the split segments are decoded too.
  auto escaped = request("GET", "/rest/" + tail + "/x%3D", Listener::Http);
  ASSERT_NE(run(escaped).handler, nullptr);
  EXPECT_EQ(escaped.params.at("tail"), tail + "/x=");
  // A route without one never matches so long a path.
  std::string deep = "/api/v1/certificates";
  for (int i = 0; i < 40; ++i) deep += "/x";
  auto other = request("GET", deep);
  const auto m = run(other);
  EXPECT_EQ(m.handler, nullptr);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->status, 404);
}

TEST(RouterPatternTest, RestParameterMustBeLast) {
  Router r;
  EXPECT_THROW(r.add("GET", "/a/{x*}/b", {Listener::Http}, [](HttpRequest&, Responder) {}), std::invalid_argument);
}

TEST_F(RouterTest, EmptyParameterSegmentDoesNotMatch) {
  auto req = request("GET", "/api/v1/certificates/");
  const auto m = run(req);
  EXPECT_EQ(m.handler, nullptr);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->status, 404);
}

TEST_F(RouterTest, UnknownPathIs404WithJsonError) {
  auto req = request("GET", "/nope");
  const auto m = run(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.route, "");
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->status, 404);
  EXPECT_EQ(m.error->content_type, "application/json");
  const json body = json::parse(m.error->body);
  EXPECT_EQ(body["error"]["code"], "not-found");
  EXPECT_EQ(body["error"]["request_id"], "0123456789abcdef");
  EXPECT_TRUE(ran.empty());
}

TEST_F(RouterTest, ExtraOrMissingSegmentsDoNotMatch) {
  for (const char* target : {"/healthz/", "/healthz/x", "/api/v1", "/", "/api/v1/certificates/1/revoke/now"}) {
    auto req = request("GET", target);
    EXPECT_EQ(run(req).handler, nullptr) << target;
  }
}

TEST_F(RouterTest, OtherMethodIs405WithAllow) {
  auto req = request("DELETE", "/api/v1/certificates");
  const auto m = run(req);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->status, 405);
  EXPECT_EQ(json::parse(m.error->body)["error"]["code"], "method-not-allowed");
  ASSERT_EQ(m.error->headers.size(), 1U);
  EXPECT_EQ(m.error->headers[0].first, "Allow");
  EXPECT_EQ(m.error->headers[0].second, "GET, HEAD, POST");
}

TEST_F(RouterTest, RouteExistsOnlyOnItsListeners) {
  auto api_on_http = request("GET", "/api/v1/certificates", Listener::Http);
  auto m = run(api_on_http);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->status, 404);

  auto ocsp_on_https = request("GET", "/ocsp/abc", Listener::Https);
  m = run(ocsp_on_https);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->status, 404);

  auto health_on_http = request("GET", "/healthz", Listener::Http);
  EXPECT_NE(run(health_on_http).handler, nullptr);
}

TEST_F(RouterTest, InvalidPercentEscapeMatchesNothing) {
  auto req = request("GET", "/api/v1/certificates/%zz");
  const auto m = run(req);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->status, 404);
}

TEST(PercentDecodeTest, DecodesEscapesAnywhereAndKeepsPlusAndPlainText) {
  using detail::percent_decode;
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("/ocsp/MEow+TTBL"), "/ocsp/MEow+TTBL") << "'+' is not a space in a path";
  EXPECT_EQ(percent_decode("%2F"), "/");
  EXPECT_EQ(percent_decode("%2f%3d%3D"), "/==") << "both cases of hex digits";
  EXPECT_EQ(percent_decode("a%2Fb%2Fc"), "a/b/c");
  EXPECT_EQ(percent_decode("%41BC%44"), "ABCD") << "escapes at both ends";
  EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
}

TEST(PercentDecodeTest, RefusesTruncatedOrNonHexEscapes) {
  using detail::percent_decode;
  for (const char* bad : {"%", "%4", "abc%", "abc%4", "%zz", "%4g", "%g4", "a%%41", "%-1"}) {
    EXPECT_EQ(percent_decode(bad), std::nullopt) << bad;
  }
}

TEST_F(RouterTest, RequestWithoutTargetMatchesOnItsPath) {
  HttpRequest req = request("GET", "");
  req.path = "/api/v1/certificates/42";
  ASSERT_NE(run(req).handler, nullptr);
  EXPECT_EQ(req.params.at("serial"), "42");
}

TEST(RouterPatternTest, PatternMustStartWithSlash) {
  Router router;
  EXPECT_THROW(router.add("GET", "healthz", {Listener::Http}, [](HttpRequest&, Responder) {}), std::invalid_argument);
}

TEST(JsonErrorTest, EscapesAndCarriesEverything) {
  const HttpResponse r = json_error(422, "profile-unknown", "no profile \"x\"\n", "abc");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":{"code":"profile-unknown","message":"no profile \"x\"\n","request_id":"abc"}})");
}

TEST(HttpRequestTest, HeaderIsEmptyWhenAbsent) {
  HttpRequest r;
  r.headers["content-type"] = "application/json";
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("authorization"), "");
}

struct RecordingSink : Responder::Sink {
  void send(HttpResponse response) override { sent.push_back(std::move(response)); }
  std::vector<HttpResponse> sent;
};

TEST(ResponderTest, AnswersOnceAndIgnoresASecondAnswer) {
  auto sink = std::make_shared<RecordingSink>();
  {
    Responder r(sink);
    HttpResponse ok;
    ok.body = "first";
    r(ok);
    HttpResponse again;
    again.body = "second";
    r(again);
  }
  ASSERT_EQ(sink->sent.size(), 1U);
  EXPECT_EQ(sink->sent[0].body, "first");
}

TEST(ResponderTest, DroppedWithoutAnswerSends500) {
  auto sink = std::make_shared<RecordingSink>();
  { Responder r(sink); }
  ASSERT_EQ(sink->sent.size(), 1U);
  EXPECT_EQ(sink->sent[0].status, 500);
  EXPECT_EQ(json::parse(sink->sent[0].body)["error"]["code"], "internal-error");
}

TEST(ResponderTest, MovedFromResponderSendsNothing) {
  auto sink = std::make_shared<RecordingSink>();
  {
    Responder a(sink);
    Responder b(std::move(a));
    b(HttpResponse{});
  }
  EXPECT_EQ(sink->sent.size(), 1U);
}

}  // namespace
}  // namespace signet::daemon
