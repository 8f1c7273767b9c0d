-- Sends the bodies in the file named by BENCH_BODIES in turn, one per request, and checks each answer against the
-- answer expected for its own body. Each line of the file is "<expected substring>\t<body>", and a body's JSON-RPC
-- id is its line number, so an answer (which echoes the id) finds its case whatever order answers arrive in across
-- connections. With N threads, thread n sends only the bodies whose line number is n + 1 modulo N, so no two threads
-- ever send the same body, however their pace drifts.
-- Prints one BENCH_RESULT JSON line at the end, like post.lua.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local path = os.getenv("BENCH_BODIES")
local threads = {}

function setup(thread)
  thread:set("threadIndex", #threads)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
  sample = ""
  local threadCount = tonumber(args[1]) or 1
  local own = threadIndex or 0
  local file = assert(io.open(path, "r"))
  prepared, expects = {}, {}
  local lineNumber = 0
  for line in file:lines() do
    local tab = string.find(line, "\t", 1, true)
    if tab == nil then error("no tab in a line of " .. path) end
    lineNumber = lineNumber + 1
    if (lineNumber - 1) % threadCount == own then
      expects[lineNumber] = string.sub(line, 1, tab - 1)
      -- Formatted once here: per request, wrk then only hands over a prepared string.
      prepared[#prepared + 1] = wrk.format(nil, nil, nil, string.sub(line, tab + 1))
    end
  end
  file:close()
  count = #prepared
  if count == 0 then error(path .. " holds no bodies for thread " .. own) end
  position = 0
end

function request()
  position = position % count + 1
  return prepared[position]
end

function response(status, headers, body)
  local id = tonumber(string.match(body, '"id":%s*(%d+)'))
  local expect = id and expects[id]
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
