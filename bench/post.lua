-- POSTs the JSON-RPC body in BENCH_BODY and counts answers other than HTTP 200 containing BENCH_EXPECT (a JSON-RPC
-- error arrives with HTTP 200, so wrk's non-2xx count alone would miss it). Prints one BENCH_RESULT JSON line at the
-- end (bench/wrk-result.lua).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "wrk-result.lua")

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"

local expected = os.getenv("BENCH_EXPECT")

function response(status, headers, body)
  check(status, body, expected)
end
