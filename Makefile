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
