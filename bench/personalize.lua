-- wrk script for bench/personalize.py: GET a path at a fixed total rate, with a random visitor
-- in its "{{WHO}}" slot, and print the run's figures as JSON.
--
--   wrk -t1 -c16 -d20s --latency -s bench/personalize.lua URL -- PATH RATE PROFILES UNKNOWN SEED
--
-- RATE is requests per second per wrk thread (each thread runs its own copy of this script).
--
-- PATH is the request path; "{{WHO}}" in it becomes "userId=user-<n>" with n uniform in
-- [0, PROFILES), or, for a share UNKNOWN (0 to 1) of requests, "anonymousId=new-<n>" (a visitor
-- identity has never seen). A PATH without the slot is sent as it is (the bare endpoint).
--
-- Pacing: delay() hands each request the next free slot on the thread's timetable (one every
-- 1000 / RATE ms), whichever connection asks for it, so the rate holds however long the
-- answers take, as long as a connection is free; the connection waits for its slot and wrk
-- starts the latency clock when it writes. A slot that passed while every connection was busy
-- is not made up: the achieved rate then falls short, which the benchmark prints. delay()
-- answers in whole milliseconds (wrk's unit); the timetable keeps the fractions, so the rate
-- does not drift. The clock is clock_gettime through the FFI of the LuaJIT that wrk embeds.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } nerve_bench_timespec;
int clock_gettime(int clock_id, nerve_bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("nerve_bench_timespec")

local function now_ms()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

local before, after, interval, profiles, unknown, next_slot
sent = 0 -- global so done() can read it through thread:get("sent")

function init(args)
   local path = args[1]
   local first, last = string.find(path, "{{WHO}}", 1, true)
   if first then
      before, after = string.sub(path, 1, first - 1), string.sub(path, last + 1)
   else
      before, after = path, nil
   end
   interval = 1000 / tonumber(args[2]) -- ms between this thread's requests
   profiles = tonumber(args[3])
   unknown = tonumber(args[4])
   math.randomseed(tonumber(args[5]) + thread_number)
   next_slot = nil
end

function delay()
   local now = now_ms()
   if next_slot == nil or next_slot < now then
      next_slot = now
   end
   local wait = next_slot - now
   next_slot = next_slot + interval
   return math.floor(wait + 0.5)
end

function request()
   sent = sent + 1
   if after == nil then
      return wrk.format("GET", before)
   end
   local who
   if math.random() < unknown then
      who = "anonymousId=new-" .. math.random(0, profiles - 1)
   else
      who = "userId=user-" .. math.random(0, profiles - 1)
   end
   return wrk.format("GET", before .. who .. after)
end

function done(summary, latency, requests)
   local total_sent = 0
   for _, thread in ipairs(threads) do
      total_sent = total_sent + thread:get("sent")
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests":%d,"sent":%d,"duration_us":%d,"bytes":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
      summary.requests, total_sent, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max
   ))
end
