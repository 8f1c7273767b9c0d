-- Sends the bodies in the file named by BENCH_BODIES in turn, one per request, and checks each answer against the
-- answer expected for its own body. Each line of the file is "<expected substring>\t<body>", and a body's JSON-RPC
-- id is its line number, so an answer (which echoes the id) finds its case whatever order answers arrive in across
-- connections. With N threads, thread n sends only the bodies whose line number is n + 1 modulo N, so no two threads
-- ever send the same body, however their pace drifts.
-- Prints one BENCH_RESULT JSON line at the end, like post.lua (bench/wrk-result.lua).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "wrk-result.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local path = os.getenv("BENCH_BODIES")

function init(args)
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
  check(status, body, id and expects[id])
end
