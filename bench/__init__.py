"""Benchmarks for Descent: the engine loop and the HTTP latency of a real server (not part of the tests)."""
