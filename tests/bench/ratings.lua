-- tests/bench/ratings.lua — wrk script for the ratings benchmark.
--
-- wrk -s ratings.lua URL -- TASKS_FILE
-- TASKS_FILE (written by seed_ratings.py): raters' tokens and groups' answer ids.
-- Request n of thread t (of T) rates every answer of one group as one rater:
-- combination c = t + n*T, rater = c % R, group = floor(c / R) % G, so no
-- (rater, answer) pair repeats until R*G requests — every 201 stores K new
-- ratings and the stored count can be checked against the acknowledged count.

local threads = {}
local counter = 1

function setup(thread)
	thread:set("thread_index", counter - 1)
	counter = counter + 1
	table.insert(threads, thread)
end

local tokens, groups, R, G, K, T, tid, n = {}, {}, 0, 0, 0, 1, 0, 0
created, other, wrapped = 0, 0, 0

function init(args)
	local f = assert(io.open(args[1], "r"))
	local head = f:read("*l")
	R, G, K = head:match("(%d+) (%d+) (%d+)")
	R, G, K = tonumber(R), tonumber(G), tonumber(K)
	ratings_per_request = K   -- global: done() reads it through thread:get
	for i = 1, R do tokens[i] = f:read("*l") end
	for i = 1, G do
		local ids = {}
		for id in f:read("*l"):gmatch("%d+") do ids[#ids + 1] = id end
		groups[i] = ids
	end
	f:close()
	tid = tonumber(thread_index)  -- global set by setup() in this thread's state
	T = tonumber(args[2] or "1")
end

function request()
	local c = tid + n * T
	n = n + 1
	if c >= R * G then wrapped = 1 end
	local r = (c % R) + 1
	local g = groups[(math.floor(c / R) % G) + 1]
	local parts = {}
	for j = 2, #g do
		parts[#parts + 1] = '{"response_id":' .. g[j] .. ',"score":' .. ((c + j) % 5 + 1) .. '}'
	end
	local body = '{"group_id":' .. g[1] .. ',"ratings":[' .. table.concat(parts, ",") .. ']}'
	return wrk.format("POST", "/api/ratings", {
		["Authorization"] = "Bearer " .. tokens[r],
		["Content-Type"] = "application/json",
	}, body)
end

function response(status, headers, body)
	if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
	local c, o, w, K = 0, 0, 0, 0
	for _, t in ipairs(threads) do
		K = t:get("ratings_per_request")
		c = c + t:get("created")
		o = o + t:get("other")
		w = math.max(w, t:get("wrapped"))
	end
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format("BENCH requests=%d created=%d other_status=%d socket_errors=%d seconds=%.3f\n",
		summary.requests, c, o, e.connect + e.read + e.write + e.timeout, secs))
	io.write(string.format("BENCH ratings_per_request=%d wrapped=%d\n", K, w))
	io.write(string.format("BENCH ratings_per_sec=%.1f p99_ms=%.3f\n", c * K / secs, latency:percentile(99) / 1000))
	io.write(string.format("ratings/s      %.0f   (acknowledged 201s x %d ratings / s)\n", c * K / secs, K))
	io.write(string.format("requests/s     %.0f\n", summary.requests / secs))
	io.write(string.format("latency p50    %.2f ms\n", latency:percentile(50) / 1000))
	io.write(string.format("latency p99    %.2f ms\n", latency:percentile(99) / 1000))
	io.write(string.format("latency max    %.2f ms\n", latency.max / 1000))
end
