-- wrk script for bench/tracking.py: POST a JSON body read from a template file, with a fresh
-- messageId in every "{{MID}}" slot of every request, and print the run's figures as JSON.
--
--   wrk -t1 -c32 -d10s -s bench/tracking.lua URL -- TEMPLATE AUTHORIZATION RUN_ID
--
-- The template is split once, in init(), into constant text and id slots; request() only fills
-- the slots with "<RUN_ID>-<thread>-<counter>" and joins the pieces with table.concat, so
-- building a 100-event batch body costs one string join, not 100 JSON encodings. The per-event
-- suffix ("-17") is part of the constant text, so every event id in a request is unique too.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

local pieces, slots, headers, prefix
sent = 0 -- global so done() can read it through thread:get("sent")

function init(args)
   local file = assert(io.open(args[1], "rb"))
   local text = file:read("*a")
   file:close()
   pieces, slots = {}, {}
   local start = 1
   while true do
      local first, last = string.find(text, "{{MID}}", start, true)
      if not first then
         break
      end
      pieces[#pieces + 1] = string.sub(text, start, first - 1)
      pieces[#pieces + 1] = ""
      slots[#slots + 1] = #pieces
      start = last + 1
   end
   pieces[#pieces + 1] = string.sub(text, start)
   headers = { ["Authorization"] = args[2], ["Content-Type"] = "application/json" }
   prefix = args[3] .. "-" .. thread_number .. "-"
end

function request()
   sent = sent + 1
   local id = prefix .. sent
   for index = 1, #slots do
      pieces[slots[index]] = id
   end
   return wrk.format("POST", nil, headers, table.concat(pieces))
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
