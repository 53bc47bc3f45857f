-- wrk script for bench/api.py: GET paths drawn at random from a template, with the API key.
--   WRK_KEY=... WRK_PATH='/api/v1/videos/%d' WRK_MAX=100000 wrk -s bench/wrk_get.lua ...
local key = os.getenv("WRK_KEY") or ""
local template = os.getenv("WRK_PATH") or "/ping"
local max = tonumber(os.getenv("WRK_MAX") or "1")

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

function request()
  return wrk.format("GET", string.format(template, math.random(1, max)), {["X-API-Key"] = key})
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d p50_ms=%.2f p99_ms=%.2f rps=%.0f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
