-- What post.lua and cycle.lua share: each thread's count of wrong answers, the check of one answer, and the one
-- BENCH_RESULT JSON line printed at the end (bench/wrk.ts reads it). Loaded with dofile from the script's own folder.
local threads = {}

-- Globals of each thread's own Lua state; done() reads them back from every thread.
wrong = 0
sample = ""

function setup(thread)
  -- cycle.lua spreads the bodies over the threads by this index.
  thread:set("threadIndex", #threads)
  table.insert(threads, thread)
end

-- An answer is right only with HTTP 200 and the expected text in its body: a JSON-RPC error arrives with 200, and an
-- HTTP error may still echo the expected text.
function check(status, body, expect)
  if status ~= 200 or not expect or not string.find(body, expect, 1, true) then
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
