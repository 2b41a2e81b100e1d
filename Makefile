# ZtoApi: `make run` serves on :9090, `make demo` serves against a local fake chat.z.ai, `make test`
# runs the whole suite. Each sets up what it needs on a fresh machine: a Python 3.11+ venv with
# the runtime requirements only (run, demo) or with the test requirements too (test), and for the
# tests Chromium, redis-server and npm (scripts/test-deps.sh) and the Node packages in tests/js.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run demo test clean python-check

python-check:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "ZtoApi needs Python 3.11 or newer, and $(PYTHON) is not: pick another, e.g. PYTHON=python3.11 make run" >&2; \
	  exit 1; }

$(VENV)/.runtime: requirements.txt | python-check
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund
	touch $@

run: $(VENV)/.runtime
	$(VENV)/bin/gunicorn -c config/gunicorn.conf.py wsgi:app

demo: $(VENV)/.runtime
	$(PY) -m scripts.demo

test: | python-check
	scripts/test-deps.sh
	$(MAKE) --no-print-directory $(VENV)/.dev tests/js/node_modules/.installed
	$(PY) -m pytest

clean:
	rm -rf $(VENV) tests/js/node_modules .pytest_cache

# Benchmark (bench/README.md): not part of `make test`; takes about an hour on 2 cores (about
# 18 minutes per upstream, then 5 for the search and the profile).
# `make bench` runs scenarios a-d for each upstream (chat.z.ai's 2025 and 2026 dialects, Z.ai's API;
# thinking off and on, 3 runs each), then the concurrency search and the py-spy profile (2025), and
# writes bench/results/latest.{json,md}, docs/bench.png, docs/flamegraph-b.svg.
# `make bench-smoke` (about 40 s, also in `make test`): every upstream at smoke size.
.PHONY: bench bench-smoke soak faults

bench: $(VENV)/.dev
	$(PY) -m bench.run --thinking --max-concurrency-search --profile

bench-smoke: $(VENV)/.dev
	$(PY) -m bench.run --quick --thinking --dialects 2025,2026:on,api:on

# Endurance: 10 minutes at 500 concurrent streams; 10 % of upstream streams cut mid-way.
soak: $(VENV)/.dev
	$(PY) -m bench.endurance soak

faults: $(VENV)/.dev
	$(PY) -m bench.endurance faults

# The long fuzzing run (issue 7): FUZZ_EXAMPLES generated requests against the app in-process
# (FUZZ_TARGET=server: over HTTP to gunicorn), and a tenth of that per property test.
.PHONY: fuzz
fuzz: $(VENV)/.dev
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-10000} $(PY) -m pytest tests/test_fuzz_api.py tests/test_properties.py
