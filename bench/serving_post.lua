-- wrk script for bench/serving_bench.sh: POSTs one JSON body (read from a file) to the URL.
--
--   wrk -t2 -c8 -d10s --latency -s bench/serving_post.lua URL -- BODY_FILE
--       saturation: every connection sends its next request as soon as the last one is answered;
--       wrk's own figures (Requests/sec, --latency) are the result.
--   wrk -t8 -c8 -d10s -s bench/serving_post.lua URL -- BODY_FILE RATE THREADS
--       fixed rate: RATE requests/s in total, spread evenly over the connections, each on its own
--       schedule (staggered). THREADS is wrk's -t, which must equal -c: a wrk thread's
--       script cannot tell its connections apart, so it matches responses to requests only with one
--       connection per thread.
--       Latency is measured from each request's *scheduled* time (or from when it was sent, if
--       the timer fired early), so a slow response delays the clock of the requests behind it and
--       shows in the tail instead of lowering the rate (no coordinated omission). Prints one line:
--       "paced requests=N errors=E seconds=S rate=R p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=.."
--       errors: responses other than 200 (socket errors are in wrk's own summary).

local ffi = require("ffi")
ffi.cdef [[
  struct plinth_timespec { long tv_sec; long tv_nsec; };
  int clock_gettime(int clk_id, struct plinth_timespec *tp);
]]
local ts = ffi.new("struct plinth_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

-- Setup phase (the main script environment): number the threads, keep them for done().
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

-- Running phase (one environment per thread).
thread_index = 0
thread_count = 1
lat = {}   -- latencies in microseconds, this thread's
errs = 0

function init(args)
  local path = args[1]
  if path == nil then error("serving_post.lua: pass the body file after --") end
  local f = assert(io.open(path, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
  local rate = tonumber(args[2] or "")
  if rate == nil then
    -- Saturation: a static request, no per-request Lua.
    delay, request, response = nil, nil, nil
    return
  end
  thread_count = tonumber(args[3] or "1")
  local interval = 1e6 * thread_count / rate -- microseconds between this thread's requests
  local next_at = nil                       -- scheduled time of the next request
  local start = nil                         -- when the request in flight counts from
  local req = nil

  local function schedule(now)
    if next_at == nil then
      -- The first request of each thread; stagger the threads' schedules over one interval.
      next_at = now + interval * (thread_index - 1) / thread_count
    end
  end

  function delay()
    local now = now_us()
    schedule(now)
    -- wrk's timers have millisecond resolution: round down and send up to 1 ms early rather
    -- than late (the latency then counts from the actual send).
    local wait = math.floor((next_at - now) / 1000)
    if wait < 0 then wait = 0 end
    return wait
  end

  function request()
    if req == nil then req = wrk.format() end
    local now = now_us()
    schedule(now)
    start = math.min(next_at, now)
    next_at = next_at + interval
    return req
  end

  function response(status, headers, body)
    lat[#lat + 1] = now_us() - start
    if status ~= 200 then errs = errs + 1 end
  end
end

local function percentile(sorted, p)
  if #sorted == 0 then return 0 end
  local i = math.ceil(p / 100 * #sorted)
  if i < 1 then i = 1 end
  return sorted[i]
end

function done(summary, latency, requests)
  local all, errors, paced = {}, 0, false
  for _, t in ipairs(threads) do
    local l = t:get("lat")
    if l ~= nil and #l > 0 then paced = true end
    for _, v in ipairs(l or {}) do all[#all + 1] = v end
    errors = errors + (t:get("errs") or 0)
  end
  if not paced then return end
  table.sort(all)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "paced requests=%d errors=%d seconds=%.2f rate=%.1f p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f\n",
    #all, errors, seconds, #all / seconds, percentile(all, 50), percentile(all, 90),
    percentile(all, 99), percentile(all, 99.9), all[#all] or 0))
end
