-- POSTs the JSON-RPC body in BENCH_BODY and counts answers that do not contain BENCH_EXPECT (a JSON-RPC error
-- arrives with HTTP 200, so wrk's non-2xx count alone would miss it). Prints one BENCH_RESULT JSON line at the end.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"

local expected = os.getenv("BENCH_EXPECT")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
  sample = ""
end

function response(status, headers, body)
  if not string.find(body, expected, 1, true) then
    wrong = wrong + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 200) end
  end
end

local function quote(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local wrongTotal, firstWrong = 0, ""
  for _, t in ipairs(threads) do
    wrongTotal = wrongTotal + t:get("wrong")
    if firstWrong == "" then firstWrong = t:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,' ..
    '"non2xx":%d,"timeouts":%d,"wrong":%d,"wrongSample":%s,"p50Us":%d,"p90Us":%d,"p99Us":%d,"meanUs":%.1f,"maxUs":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    wrongTotal, quote(firstWrong), latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
