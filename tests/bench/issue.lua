-- wrk script: certificate issuance against signetd's REST API (HTTPS).
--   POST /api/v1/certificates, Authorization: Bearer TOKEN, body {"csr": PEM, "profile": P}
-- A response counts as ok only when it is 201 and carries a certificate; anything else is
-- counted by status and printed in done() (see bench_common.lua).
--
-- Environment:
--   BENCH_BODIES      file with one JSON request body per line (a pool of CSRs, used in turn);
--                     load.sh writes it with jq -c '{csr: $csr, profile: "server-tls"}'
--   BENCH_TOKEN       the bearer token, or BENCH_TOKEN_FILE: a file holding it
--   BENCH_PATH        default /api/v1/certificates
-- Usage: wrk -t2 -c16 -d20s -s tests/bench/issue.lua https://127.0.0.1:18443
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "bench_common.lua")

local requests, next_index = {}, 0

function init(args)
  local token = os.getenv("BENCH_TOKEN")
  if token == nil or token == "" then
    token = common.read_file(common.env("BENCH_TOKEN_FILE")):gsub("%s+$", "")
  end
  local path = common.env("BENCH_PATH", "/api/v1/certificates")
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  for _, body in ipairs(common.read_lines(common.env("BENCH_BODIES"))) do
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

common.install(function(status, body)
  if status ~= 201 then return false end
  if not string.find(body, "BEGIN CERTIFICATE", 1, true) then return false, "201 without a certificate" end
  return true
end)
