-- wrk script: certificate signing against CFSSL's `cfssl serve` (plain HTTP, no auth), the peer
-- that issue.lua's figures are compared with.
--   POST /api/v1/cfssl/sign, body {"certificate_request": PEM}
-- A response counts as ok only when it is 200 with "success":true; anything else is counted by
-- status and printed in done() (see bench_common.lua).
--
-- Environment:
--   BENCH_BODIES   file with one JSON request body per line (load.sh: jq -c '{certificate_request: $csr}')
--   BENCH_PATH     default /api/v1/cfssl/sign
-- Usage: wrk -t2 -c16 -d20s -s tests/bench/cfssl_sign.lua http://127.0.0.1:18888
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "bench_common.lua")

local requests, next_index = {}, 0

function init(args)
  local path = common.env("BENCH_PATH", "/api/v1/cfssl/sign")
  local headers = { ["Content-Type"] = "application/json" }
  for _, body in ipairs(common.read_lines(common.env("BENCH_BODIES"))) do
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

common.install(function(status, body)
  if status ~= 200 then return false end
  if not string.find(body, '"success":true', 1, true) then return false, "200 without success:true" end
  return true
end)
