# The two commands a newcomer needs: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test test-fast check format openapi bench golden clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m service.engine.kernels --warm  # Numba's cache, so no process compiles the kernels itself
	touch $(INSTALLED)

install: $(INSTALLED)

run: $(INSTALLED)  ## serve on http://127.0.0.1:8000 with the SQLite default
	$(BIN)/python -m service

check: $(INSTALLED)  ## lint, format check and strict typing
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: check  ## the whole suite (CI runs exactly this)
	$(BIN)/python -m pytest

test-fast: $(INSTALLED)  ## the inner loop: the suite without live servers, browsers, containers, fuzzing, golden files
	$(BIN)/python -m pytest -m "not (live or browser or container or fuzz or golden or cluster)"

format: $(INSTALLED)
	$(BIN)/ruff check --fix service tests bench
	$(BIN)/ruff format service tests bench

openapi: $(INSTALLED)  ## regenerate the committed OpenAPI document
	$(BIN)/python -m service.openapi openapi/openapi.json

BENCH_PYTHON ?= $(BIN)/python

bench: $(INSTALLED)  ## benchmarks (not part of the tests); BENCH_PYTHON=<a venv with torch and jax> adds baselines
	$(BIN)/python -m bench.engine
	$(BENCH_PYTHON) -m bench.sweep
	$(BIN)/python -m bench.trace_formats
	$(BIN)/python -m bench.http_latency
	$(BIN)/python -m bench.healthz_under_load
	$(BIN)/python -m bench.hardening --compare 2f13777
	$(BIN)/python -m bench.engine_changes --base 2f13777
	$(BIN)/python -m bench.kernels

golden:  ## regenerate tests/golden/fixtures from the real libraries (own virtualenv; see tests/golden/README.md)
	test -x .venv-golden/bin/python || $(PYTHON) -m venv .venv-golden
	.venv-golden/bin/python -m pip install --quiet -r tests/golden/requirements.txt
	.venv-golden/bin/python -m tests.golden.generate

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
