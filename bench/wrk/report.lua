-- wrk hooks shared by the load test: count responses by status in every thread, and at the end print one
-- JSON line (prefixed "WRK_JSON ") with the totals, the socket errors and the latency histogram in microseconds.
-- Used on its own for GET requests; course.lua sets a POST and then loads this file.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   local percentiles = {}
   for _, p in ipairs({50, 90, 99, 99.9}) do
      table.insert(percentiles, string.format('"%g": %d', p, latency:percentile(p)))
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_JSON {"duration_us": %d, "requests": %d, "bytes": %d, "statuses": {%s}, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, "percentiles": {%s}}}\n',
      summary.duration, summary.requests, summary.bytes, table.concat(parts, ", "),
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.min, latency.mean, latency.stdev, latency.max, table.concat(percentiles, ", ")))
end
