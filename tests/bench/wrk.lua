-- tests/bench/wrk.lua - wrk script of the mica benchmark (bench only).
--
-- With BENCH_BODIES=FILE (one request body per line, already encoded as
-- the server wants it) every request is a POST of the next body, each
-- thread starting at its own offset in the pool; BENCH_CTYPE is the
-- Content-Type and BENCH_AUTH, if set, the Authorization header. Without
-- BENCH_BODIES the URL given to wrk is fetched with GET.
--
-- At the end one line is printed for the harness to parse:
--   BENCH {"requests":N,"duration_us":N,"bytes":N,"errors":{...},
--          "status_errors":N,"lat_us":{"p50":N,"p90":N,"p99":N,"max":N,"mean":N}}
-- wrk records the latency of every request it completes (microseconds),
-- so the percentiles are per request, not per interval.

local bodies_path = os.getenv("BENCH_BODIES")
local ctype = os.getenv("BENCH_CTYPE") or "application/json"
local auth = os.getenv("BENCH_AUTH")

local threads = {}
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("tid", counter)
	table.insert(threads, thread)
end

local bodies = nil
local n = 0
local i = 0

function init(args)
	if bodies_path == nil or bodies_path == "" then
		return
	end
	bodies = {}
	for line in io.lines(bodies_path) do
		if #line > 0 then
			bodies[#bodies + 1] = line
		end
	end
	n = #bodies
	if n == 0 then
		error("no request bodies in " .. bodies_path)
	end
	-- Spread the threads over the pool (tid is set by setup()).
	i = ((tid or 1) - 1) * math.floor(n / 8)
	wrk.method = "POST"
	wrk.headers["Content-Type"] = ctype
	if auth ~= nil and auth ~= "" then
		wrk.headers["Authorization"] = auth
	end
end

function request()
	if bodies == nil then
		return wrk.format()
	end
	i = i % n + 1
	return wrk.format(nil, nil, nil, bodies[i])
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
		'"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
		'"status_errors":%d,' ..
		'"lat_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
		summary.requests, summary.duration, summary.bytes,
		e.connect, e.read, e.write, e.timeout, e.status,
		latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max, latency.mean))
end
