-- wrk script: OCSP over HTTP (RFC 6960 appendix A), for signetd's /ocsp and `cfssl ocspserve`.
--   POST PATH with Content-Type: application/ocsp-request and the DER request, or
--   GET PATH/<base64 of the DER request, percent-encoded>
-- OCSP answers failures with HTTP 200 too, so a response counts as ok only when it is 200 and
-- its DER responseStatus is successful (0) with responseBytes present; anything else is counted
-- ("OCSP status N", "HTTP 404", ...) and printed in done() (see bench_common.lua).
--
-- Environment:
--   BENCH_OCSP_METHOD   POST (default) or GET
--   BENCH_OCSP_REQS     file with one DER request file name per line (a pool, used in turn)
--   BENCH_PATH          default /ocsp (POST) or /ocsp/ (GET: the encoded request is appended)
-- Usage: BENCH_OCSP_METHOD=GET wrk -t2 -c16 -d20s -s tests/bench/ocsp.lua http://127.0.0.1:18080
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "bench_common.lua")

local requests, next_index = {}, 0

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- Standard base64 (with padding), then '+', '/' and '=' percent-encoded for the URL path.
local function base64_url_path(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = {}
    for k = 3, 0, -1 do
      local v = math.floor(n / 64 ^ k) % 64
      chars[#chars + 1] = alphabet:sub(v + 1, v + 1)
    end
    if c == nil then chars[4] = "=" end
    if b == nil then chars[3] = "=" end
    out[#out + 1] = table.concat(chars)
  end
  return (table.concat(out):gsub("[+/=]", { ["+"] = "%2B", ["/"] = "%2F", ["="] = "%3D" }))
end

function init(args)
  local method = common.env("BENCH_OCSP_METHOD", "POST")
  assert(method == "POST" or method == "GET", "BENCH_OCSP_METHOD must be POST or GET")
  for _, file in ipairs(common.read_lines(common.env("BENCH_OCSP_REQS"))) do
    local der = common.read_file(file)
    if method == "POST" then
      requests[#requests + 1] = wrk.format("POST", common.env("BENCH_PATH", "/ocsp"),
                                           { ["Content-Type"] = "application/ocsp-request" }, der)
    else
      requests[#requests + 1] = wrk.format("GET", common.env("BENCH_PATH", "/ocsp/") .. base64_url_path(der))
    end
  end
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

-- OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ... OPTIONAL }
local function ocsp_status(body)
  if body == nil or #body < 5 or body:byte(1) ~= 0x30 then return nil end
  local len = body:byte(2)
  local pos = 3
  if len >= 0x80 then pos = 3 + (len - 0x80) end
  if body:byte(pos) ~= 0x0a or body:byte(pos + 1) ~= 0x01 then return nil end
  return body:byte(pos + 2), body:byte(pos + 3) == 0xa0
end

common.install(function(status, body)
  if status ~= 200 then return false end
  local s, has_bytes = ocsp_status(body)
  if s == nil then return false, "200 that is not an OCSP response" end
  if s ~= 0 then return false, "OCSP status " .. s end
  if not has_bytes then return false, "OCSP successful without responseBytes" end
  return true
end)
