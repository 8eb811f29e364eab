-- The course run of the README as wrk's request: POST /v1/runs with a JSON body (bench/load.py checks that
-- this body is bench.http_latency.COURSE_RUN). The counting and reporting hooks come from report.lua.

wrk.method = "POST"
wrk.body = '{"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40}'
wrk.headers["Content-Type"] = "application/json"

-- report.lua sits next to this file; the path wrk was given may have no directory part.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
