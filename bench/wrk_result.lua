-- SPDX-License-Identifier: MIT
-- wrk_result.lua - wrk's summary as the two RESULT lines of bench/run.sh:
-- the rate and the p99 latency (wrk measures latency in microseconds).
--   BENCH_NAME=httphello_c100 wrk -t2 -c100 -d3s -s wrk_result.lua URL
-- Socket errors and non-2xx/3xx answers are counted in errors=; a run
-- with errors is suspect (bench/run.sh prints the line as it is).
done = function(summary, latency, requests)
  local name = os.getenv("BENCH_NAME") or "httphello"
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  local secs = summary.duration / 1e6
  local p99 = latency:percentile(99)
  io.write(string.format("RESULT name=%s metric=req_per_s value=%.0f " ..
    "p50_us=%d p99_us=%d max_us=%d requests=%d errors=%d duration_s=%.2f\n",
    name, summary.requests / secs, latency:percentile(50), p99, latency.max,
    summary.requests, errors, secs))
  io.write(string.format("RESULT name=%s_p99 metric=p99_us value=%d errors=%d\n",
    name, p99, errors))
end
