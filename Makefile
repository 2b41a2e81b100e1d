# ZtoApi: `make run` starts the server on :9090, `make test` runs the whole suite.
# Both set up what they need on a fresh machine (Python 3.11 venv, Node packages for the JS tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install run test clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/gunicorn -c config/gunicorn.conf.py wsgi:app

test: $(VENV)/.installed tests/js/node_modules/.installed
	$(PY) -m pytest

clean:
	rm -rf $(VENV) tests/js/node_modules .pytest_cache

# Benchmark (bench/README.md): not part of `make test`; takes about half an hour on 2 cores.
# `make bench` runs scenarios a-d (thinking off and on, 3 runs each), the concurrency search and
# the py-spy profile, and writes bench/results/latest.{json,md}, docs/bench.png, docs/flamegraph-b.svg.
.PHONY: bench bench-smoke soak faults

bench: $(VENV)/.installed
	$(PY) -m bench.run --thinking --max-concurrency-search --profile

bench-smoke: $(VENV)/.installed
	$(PY) -m bench.run --quick --thinking

# Endurance: 10 minutes at 500 concurrent streams; 10 % of upstream streams cut mid-way.
soak: $(VENV)/.installed
	$(PY) -m bench.endurance soak

faults: $(VENV)/.installed
	$(PY) -m bench.endurance faults

# The long fuzzing run (issue 7): FUZZ_EXAMPLES generated requests against the app in-process
# (FUZZ_TARGET=server: over HTTP to gunicorn), and a tenth of that per property test.
.PHONY: fuzz
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-10000} $(PY) -m pytest tests/test_fuzz_api.py tests/test_properties.py
