-- wrk script for POST /api/v1/orders: every request places a new order, with its own
-- client_order_id and Idempotency-Key (so nothing is an idempotent replay), on account ACC1.
-- Answers outside 2xx are counted per thread; done() prints one line the bench scripts parse:
--   RESULT rps=N p50=MS p99=MS non2xx=N errors=N
-- where errors are wrk's socket errors (connect + read + write + timeout).
-- BENCH_TOKEN, when set, goes out as a bearer token. BENCH_ORDER_ID_PREFIX (optional) starts
-- every id, so several wrk runs against one gateway never repeat an id.
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + (thread_no or 1) * 7919)
  prefix = (os.getenv("BENCH_ORDER_ID_PREFIX") or "") .. os.time() .. "." .. math.random(1, 2^30) ..
    "." .. (thread_no or 1) .. "."
  sent = 0
  non2xx = 0
  token = os.getenv("BENCH_TOKEN")
end

function request()
  sent = sent + 1
  local id = prefix .. sent
  local headers = {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "idem-" .. id,
  }
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  local body = string.format('{"account_id":"ACC1","client_order_id":"co-%s","symbol":"INFY",' ..
    '"exchange":"NSE","side":"BUY","order_type":"LIMIT","quantity":"10","price":"1500.50",' ..
    '"time_in_force":"DAY","product":"CNC"}', id)
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

function response(status, headers, body)
  if status < 200 or status >= 300 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format("RESULT rps=%.0f p50=%.3f p99=%.3f non2xx=%d errors=%d requests=%d\n",
    summary.requests * 1e6 / summary.duration, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, bad, e.connect + e.read + e.write + e.timeout,
    summary.requests))
end
