# The two commands from the README:
#   make lab    JupyterLab on notebooks/, against the embedded Okta-compatible dev server
#   make test   lint, type-check and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install test lab devserver bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV) || { echo "make: '$(PYTHON) -m venv' failed; on Debian or \
	Ubuntu install it with 'sudo apt-get install python3-venv', then run make again" >&2; \
	rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict okta_nb_auth
	@# The JupyterLab browser test drives Debian's chromium (no Playwright browser download).
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		apt-get install -y -qq chromium; } || { echo "make test: the browser test needs \
	Debian's chromium at /usr/bin/chromium: run 'sudo apt-get install -y chromium'" >&2; exit 1; }
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 notebooks/

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/bench_session.py
	$(BIN)/python bench/bench_store.py

devserver: $(STAMP)
	$(BIN)/okta-nb-auth devserver

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
