-- tests/bench/wrk.lua - wrk script of the mica benchmark (bench only).
--
-- With BENCH_BODIES=FILE (one request body per line, already encoded as
-- the server wants it) every request is a POST of the next body, each
-- thread starting at its own offset in the pool; BENCH_CTYPE is the
-- Content-Type and BENCH_AUTH, if set, the Authorization header. With
-- BENCH_HEX=1 each line is the hex of a binary body (an OCSP request's
-- DER). With BENCH_PATHS=FILE (one path a line) every request is a GET of
-- the next path instead. Without either the URL given to wrk is fetched
-- with GET.
--
-- At the end one line is printed for the harness to parse:
--   BENCH {"requests":N,"duration_us":N,"bytes":N,"errors":{...},
--          "status_errors":N,"lat_us":{"p50":N,"p90":N,"p99":N,"max":N,"mean":N}}
-- wrk records the latency of every request it completes (microseconds),
-- so the percentiles are per request, not per interval.

local bodies_path = os.getenv("BENCH_BODIES")
local ctype = os.getenv("BENCH_CTYPE") or "application/json"
local auth = os.getenv("BENCH_AUTH")
local paths_path = os.getenv("BENCH_PATHS")
local hex = os.getenv("BENCH_HEX") == "1"

-- With BENCH_NO_PROBE=1 wrk does not open (and close at once) the test
-- connection it makes to every address before the load: OpenSSL 3.0's
-- 'openssl ocsp -port' responder spins on such an empty connection
-- forever instead of answering the next one.
if os.getenv("BENCH_NO_PROBE") == "1" then
	wrk.resolve = function(host, service)
		wrk.addrs = wrk.lookup(host, service)
	end
end

local threads = {}
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("tid", counter)
	table.insert(threads, thread)
end

local bodies = nil
local paths = nil
local n = 0
local i = 0

local function unhex(s)
	return (s:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
end

function init(args)
	if paths_path ~= nil and paths_path ~= "" then
		paths = {}
		for line in io.lines(paths_path) do
			if #line > 0 then
				paths[#paths + 1] = line
			end
		end
		n = #paths
		if n == 0 then
			error("no paths in " .. paths_path)
		end
		i = ((tid or 1) - 1) * math.floor(n / 8)
		return
	end
	if bodies_path == nil or bodies_path == "" then
		return
	end
	bodies = {}
	for line in io.lines(bodies_path) do
		if #line > 0 then
			bodies[#bodies + 1] = hex and unhex(line) or line
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
	if paths ~= nil then
		i = i % n + 1
		return wrk.format("GET", paths[i])
	end
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
