-- wrk script for bench/ingest.py: POSTs a GitLab Issue Hook with a unique Idempotency-Key.
--
-- wrk -s bench/ingest_wrk.lua URL -- <body file> <token> <key prefix>
-- Every request gets "<prefix>-<thread id>-<counter>-<random hex>", so no two requests of a run
-- (or of two runs with different prefixes) are deduplicated. Counts answers by status class per
-- thread and prints one line "WRK_JSON {...}" at the end for the Python driver.

local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("id", next_id)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   body = file:read("*a")
   file:close()
   token = args[2]
   prefix = args[3]
   counter = 0
   ok2xx, non2xx = 0, 0
   math.randomseed(os.time() * 1000 + id * 7919)
   math.random(); math.random()
   base_headers = {
      ["Content-Type"] = "application/json",
      ["User-Agent"] = "GitLab/17.11.0",
      ["X-Gitlab-Event"] = "Issue Hook",
      ["X-Gitlab-Instance"] = "https://gitlab.example.com",
      ["X-Gitlab-Webhook-UUID"] = "6f0c1b9e-2a7d-4c55-9d3e-0b8f4a1c2e77",
      ["X-Gitlab-Token"] = token,
   }
end

function request()
   counter = counter + 1
   local key = string.format("%s-%d-%d-%08x", prefix, id, counter, math.random(0, 0x7fffffff))
   local headers = {}
   for name, value in pairs(base_headers) do
      headers[name] = value
   end
   headers["Idempotency-Key"] = key
   headers["X-Gitlab-Event-UUID"] = key
   return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok2xx = ok2xx + 1
   else
      non2xx = non2xx + 1
   end
end

function done(summary, latency, requests)
   local ok, bad, sent = 0, 0, 0
   for _, thread in ipairs(threads) do
      ok = ok + thread:get("ok2xx")
      bad = bad + thread:get("non2xx")
      sent = sent + thread:get("counter")
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "ok2xx": %d, "non2xx": %d, '
         .. '"generated": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, '
         .. '"timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, '
         .. '"mean": %.1f}}\n',
      summary.requests, summary.duration, summary.bytes, ok, bad, sent,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean))
end
