# The two commands a newcomer needs: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NODE_MODULES := node_modules/.installed

.PHONY: install run test test-fast check format openapi types vendor-docs bench golden golden-code clean

$(INSTALLED): pyproject.toml clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e './clients/python[pandas,plot]'
	$(BIN)/python -m service.engine.kernels --warm  # Numba's cache, so no process compiles the kernels itself
	$(BIN)/python -m service.csv_kernel --warm  # the CSV writer too
	touch $(INSTALLED)

# The dashboard's development tools (TypeScript, openapi-typescript), exactly as package-lock.json pins them.
$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_MODULES)

install: $(INSTALLED) $(NODE_MODULES)

run: $(INSTALLED)  ## serve on http://127.0.0.1:8000 with the SQLite default
	$(BIN)/python -m service

check: $(INSTALLED) $(NODE_MODULES)  ## lint, format check and strict typing (Python, and the dashboard's modules)
	$(BIN)/ruff check service tests bench clients
	$(BIN)/ruff format --check service tests bench clients
	$(BIN)/mypy
	$(BIN)/lint-imports
	npm run --silent check

test: check  ## the whole suite (CI runs exactly this)
	$(BIN)/python -m pytest

test-fast: $(INSTALLED) $(NODE_MODULES)  ## the inner loop: the suite without live servers, browsers, containers, fuzzing, golden files
	$(BIN)/python -m pytest -m "not (live or browser or container or fuzz or golden or cluster)"

format: $(INSTALLED)
	$(BIN)/ruff check --fix service tests bench clients
	$(BIN)/ruff format service tests bench clients

openapi: $(INSTALLED) $(NODE_MODULES)  ## regenerate the committed OpenAPI document, and the TypeScript types from it
	$(BIN)/python -m service.openapi openapi/openapi.json
	npm run --silent types

types: $(NODE_MODULES)  ## regenerate service/static/types/api.d.ts from openapi/openapi.json (a test compares them)
	npm run --silent types

SWAGGER_UI_VERSION := 5.35.0
REDOC_VERSION := 2.5.4
REDOC_LOGO := https://cdn.redoc.ly/redoc/logo-mini.svg

vendor-docs:  ## copy Swagger UI and ReDoc (the /docs and /redoc pages) from their npm packages into service/static/vendor
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; cd "$$tmp"; \
	npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) redoc@$(REDOC_VERSION) >/dev/null; \
	mkdir swagger-ui redoc; \
	tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz -C swagger-ui --strip-components=1; \
	tar xzf redoc-$(REDOC_VERSION).tgz -C redoc --strip-components=1; \
	to=$(CURDIR)/service/static/vendor; mkdir -p $$to/swagger-ui $$to/redoc; \
	cp swagger-ui/swagger-ui-bundle.js swagger-ui/swagger-ui-bundle.js.LICENSE.txt swagger-ui/swagger-ui.css \
	   swagger-ui/LICENSE swagger-ui/NOTICE $$to/swagger-ui/; \
	cp redoc/bundles/redoc.standalone.js redoc/bundles/redoc.standalone.js.LICENSE.txt redoc/LICENSE $$to/redoc/; \
	test "$$(grep -o '$(REDOC_LOGO)' $$to/redoc/redoc.standalone.js | wc -l)" = 1; \
	sed -i 's#$(REDOC_LOGO)##' $$to/redoc/redoc.standalone.js; \
	echo $(SWAGGER_UI_VERSION) > $$to/swagger-ui/VERSION; echo $(REDOC_VERSION) > $$to/redoc/VERSION

BENCH_PYTHON ?= $(BIN)/python

bench: $(INSTALLED)  ## benchmarks (not part of the tests); BENCH_PYTHON=<a venv with torch and jax> adds baselines
	$(BIN)/python -m bench.engine
	$(BENCH_PYTHON) -m bench.sweep
	$(BIN)/python -m bench.trace_formats
	$(BIN)/python -m bench.schedule_preview
	$(BIN)/python -m bench.http_latency
	$(BIN)/python -m bench.healthz_under_load
	$(BIN)/python -m bench.hardening --compare 2f13777
	$(BIN)/python -m bench.engine_changes --base 2f13777
	$(BIN)/python -m bench.kernels

golden:  ## regenerate tests/golden/fixtures from the real libraries (own virtualenv; see tests/golden/README.md)
	test -x .venv-golden/bin/python || $(PYTHON) -m venv .venv-golden
	.venv-golden/bin/python -m pip install --quiet -r tests/golden/requirements.txt
	.venv-golden/bin/python -m tests.golden.generate
	$(MAKE) golden-code

golden-code: $(INSTALLED)  ## run every generated program (the run as code) in .venv-golden: tests/golden/code.json
	$(BIN)/python -m tests.golden.code --python .venv-golden/bin/python

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
