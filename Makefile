# The two commands from the README:
#   make lab    JupyterLab on notebooks/, against the embedded Okta-compatible dev server
#   make test   lint, type-check and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Both targets share one venv. make test installs .[dev,notebooks]; make lab needs only
# .[notebooks] (no mypy, ruff, pytest or Playwright) and has a stamp of its own for that, but
# a venv that make test installed already has the notebooks' packages, so it uses that one.
STAMP     := $(VENV)/.installed-stamp
LAB_STAMP := $(VENV)/.lab-installed-stamp
LAB_DEPS  := $(if $(wildcard $(STAMP)),$(STAMP),$(LAB_STAMP))
# The JupyterHub end-to-end test's proxy (npm's configurable-http-proxy), kept in the venv.
CHP_DIR   := $(VENV)/chp
CHP       := $(CHP_DIR)/node_modules/.bin/configurable-http-proxy
# make lab LAB_PORT=9999 LAB_ARGS=--no-browser: JupyterLab's port (default 8888, or the next
# free one) and any other JupyterLab options.
LAB_PORT ?=
LAB_ARGS ?=
# JupyterLab refuses to start as root unless told --allow-root; root is the default user in
# Docker, devcontainers and many cloud VMs, so make lab says it there (see the README).
ALLOW_ROOT = $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: install test lab devserver bench mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { echo "make: '$(PYTHON) -m venv' failed; on Debian or \
	Ubuntu install it with 'sudo apt-get install python3-venv', then run make again" >&2; \
	rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks]'
	touch $(STAMP)

$(LAB_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[notebooks]'
	touch $(LAB_STAMP)

install: $(STAMP)

$(CHP): | $(BIN)/python
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		apt-get install -y -qq npm; } || { echo "make test: the JupyterHub test needs npm for \
	configurable-http-proxy: run 'sudo apt-get install -y npm'" >&2; exit 1; }
	npm install --prefix $(CHP_DIR) --no-audit --no-fund --loglevel=error \
		'configurable-http-proxy@^5'

test: $(STAMP) $(CHP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict okta_nb_auth
	@# The JupyterLab browser test drives Debian's chromium (no Playwright browser download).
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		apt-get install -y -qq chromium; } || { echo "make test: the browser test needs \
	Debian's chromium at /usr/bin/chromium: run 'sudo apt-get install -y chromium'" >&2; exit 1; }
	@# The corrected NextAuth callback of notebook 03 runs under Node 18+ (global fetch).
	@command -v node >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		apt-get install -y -qq nodejs; } || { echo "make test: the NextAuth callback test needs \
	Node 18 or newer: run 'sudo apt-get install -y nodejs'" >&2; exit 1; }
	$(BIN)/python -m pytest

# Listens on 127.0.0.1 only and prints the URL with its token; opens a browser if there is one.
lab: $(LAB_DEPS)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(LAB_PORT:%=--ServerApp.port=%) $(ALLOW_ROOT) $(LAB_ARGS) notebooks/

# Writes and prints bench/RESULTS.md; BENCH_ARGS=--quick for a smoke run (under a few minutes).
# httpx-auth pins httpx==0.28.*, so it goes in without its dependencies and runs on the
# project's httpx (its rows say which).
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m pip install --quiet --no-deps 'httpx-auth>=0.23'
	$(BIN)/python bench/report.py $(BENCH_ARGS)

# Mutation testing (mutmut) of the token-handling modules against their own test files, in a
# scratch copy under .mutation/; prints killed / (total - equivalent) per module and in total.
# Not part of make test: it takes about an hour on 2 cores (see bench/MUTATION.md).
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	$(BIN)/python bench/mutation.py

devserver: $(LAB_DEPS)
	$(BIN)/okta-nb-auth devserver

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
