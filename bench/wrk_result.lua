-- SPDX-License-Identifier: MIT
-- wrk_result.lua - wrk's summary as the RESULT lines of bench/run.sh: the
-- rate and the p99 latency (wrk measures latency in microseconds).
--   BENCH_NAME=httphello_c100 [BENCH_SERVER_PID=pid] \
--     wrk -t2 -c100 -d3s -s wrk_result.lua URL
-- Socket errors and non-2xx/3xx answers are counted in errors=; a run
-- with errors is suspect (bench/run.sh prints the line as it is).  With
-- BENCH_SERVER_PID, server_us_per_op is the server's CPU time (user and
-- system, from /proc) per request, from wrk's setup to its end.

-- The CPU time of process pid so far in clock ticks (utime + stime), or
-- nil.  Fields are counted from the ')' that ends the name (field 2).
local function cpu_ticks(pid)
  local f = pid and io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return nil end
  local line = f:read("*l")
  f:close()
  local rest = line and line:match(".*%)(.*)")
  if not rest then return nil end
  local fields = {}
  for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
  -- rest begins with field 3: utime and stime are fields 14 and 15
  return tonumber(fields[12]) + tonumber(fields[13])
end

local pid = os.getenv("BENCH_SERVER_PID")
local ticks0

-- setup runs in wrk's main thread, once per load thread, before the load
setup = function(thread)
  ticks0 = ticks0 or cpu_ticks(pid)
end

done = function(summary, latency, requests)
  local name = os.getenv("BENCH_NAME") or "httphello"
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  local secs = summary.duration / 1e6
  local p99 = latency:percentile(99)
  local server = ""
  local ticks1 = cpu_ticks(pid)
  if ticks0 and ticks1 and summary.requests > 0 then
    -- clock ticks are 1/100 s on Linux (USER_HZ)
    local cpu = (ticks1 - ticks0) / 100
    server = string.format(" server_cpu=%.2f server_us_per_op=%.2f",
      cpu / secs, cpu * 1e6 / summary.requests)
  end
  io.write(string.format("RESULT name=%s metric=req_per_s value=%.0f " ..
    "p50_us=%d p99_us=%d max_us=%d requests=%d errors=%d duration_s=%.2f%s\n",
    name, summary.requests / secs, latency:percentile(50), p99, latency.max,
    summary.requests, errors, secs, server))
  io.write(string.format("RESULT name=%s_p99 metric=p99_us value=%d errors=%d\n",
    name, p99, errors))
end
