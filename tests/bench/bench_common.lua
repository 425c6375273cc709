-- Shared by the wrk scripts in this folder (issue.lua, ocsp.lua, cfssl_sign.lua): per-thread
-- status counting, and a done() that prints every failure and one machine-readable RESULT line.
--
-- A script sets `check(status, body) -> ok, label` and builds its requests in init(); this file
-- supplies setup/response/done. Each wrk thread has its own Lua state: the counters are globals
-- of that state, read back through thread:get() in done().
--
-- RESULT fields: requests (all responses), ok (responses that passed check), errors (everything
-- else, socket errors and timeouts included), rps (ok per second of the run), p50/p90/p99/max
-- latency in ms (over all responses).

local M = {}

function M.read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local data = f:read("*a")
  f:close()
  return data
end

function M.read_lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  assert(#out > 0, "no lines in " .. path)
  return out
end

function M.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    assert(default ~= nil, "set " .. name)
    return default
  end
  return v
end

local threads = {}

function M.install(check)
  -- Globals of each thread's Lua state.
  ok_count = 0
  bad = {}        -- label -> count
  samples = {}    -- label -> first body seen with that label (truncated)

  setup = function(thread)
    threads[#threads + 1] = thread
  end

  response = function(status, headers, body)
    local good, label = check(status, body)
    if good then
      ok_count = ok_count + 1
    else
      label = label or ("HTTP " .. status)
      bad[label] = (bad[label] or 0) + 1
      if samples[label] == nil then
        samples[label] = string.sub(body or "", 1, 200)
      end
    end
  end

  done = function(summary, latency, requests)
    local ok, labels, first = 0, {}, {}
    for _, t in ipairs(threads) do
      ok = ok + (t:get("ok_count") or 0)
      for label, n in pairs(t:get("bad") or {}) do labels[label] = (labels[label] or 0) + n end
      for label, s in pairs(t:get("samples") or {}) do
        if first[label] == nil then first[label] = s end
      end
    end
    local e = summary.errors
    local socket = e.connect + e.read + e.write + e.timeout
    local failed = 0
    for label, n in pairs(labels) do
      failed = failed + n
      local sample = first[label]:gsub("[%c]", " ")
      io.stderr:write(string.format("FAILED %d x %s; first body: %s\n", n, label, sample))
    end
    if socket > 0 then
      io.stderr:write(string.format("FAILED socket errors: connect %d, read %d, write %d, timeout %d\n",
                                    e.connect, e.read, e.write, e.timeout))
    end
    local seconds = summary.duration / 1e6
    local function ms(p) return latency:percentile(p) / 1000 end
    io.write(string.format(
      "RESULT requests=%d ok=%d errors=%d rps=%.1f p50=%.2f p90=%.2f p99=%.2f max=%.2f seconds=%.2f\n",
      summary.requests, ok, failed + socket, ok / seconds, ms(50), ms(90), ms(99), latency.max / 1000, seconds))
  end
end

return M
