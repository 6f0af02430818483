# tb_module_plugin: set up, demo and test. Every target is idempotent: stamp files
# make a second run fast when nothing changed.
#
#   make demo   venv + demo logdir + tensorboard on http://127.0.0.1:6006/#module_graph
#   make test   everything: Python, front-end unit tests, bundle check, browser tests
#   make test-quick   the Python tests that take seconds (no browser, tensorboard or TensorFlow process)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.tb_module_plugin-installed
CHROMIUM := /usr/bin/chromium
NODE_STAMP := frontend/node_modules/.tb_module_plugin-npm-ci
DEMO_LOGDIR := demo_logs
DEMO_STAMP := $(DEMO_LOGDIR)/.written
HOST ?= 127.0.0.1
PORT ?= 6006
PYTEST_ARGS ?=

.PHONY: help venv chromium frontend frontend-deps demo demo-logs test test-quick test-python test-frontend pictures clean \
	bench

help:
	@echo "make demo      create the venv, write demo graphs to $(DEMO_LOGDIR)/, serve them with tensorboard"
	@echo "make test      venv, chromium, front-end tests and bundle check, then pytest tests"
	@echo "make test-quick  the Python tests that start no TensorFlow, tensorboard or browser (under a minute)"
	@echo "make venv      .venv with requirements-dev.txt, requirements-libs.txt (--no-deps) and this package (editable)"
	@echo "make chromium  install Debian's chromium when $(CHROMIUM) is missing"
	@echo "make frontend  npm ci (when the lock file changed) and npm run build"
	@echo "make pictures  rewrite the README's pictures in docs/ (the browser tests that take them; make test leaves docs/ alone)"
	@echo "make bench     the benchmark: Modules tab vs Graphs dashboard on big graphs (BENCH_RUNS=1 for a quick run)"

# --- Python -------------------------------------------------------------------
venv: $(VENV_STAMP)

$(VENV_STAMP): requirements-dev.txt requirements-libs.txt setup.py
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements-dev.txt
	$(VPY) -m pip install --quiet --no-deps -r requirements-libs.txt
	$(VPY) -m pip install --quiet -e .
	touch $@

# --- Browser (Debian's Chromium; Playwright's own browsers are never downloaded) --
chromium:
	@if [ -x $(CHROMIUM) ]; then \
	  echo "chromium: $(CHROMIUM) is installed"; \
	else \
	  echo "chromium: installing Debian's chromium package (apt-get, needs root) for the browser tests"; \
	  if [ "$$(id -u)" != 0 ]; then echo "chromium: not root: run 'sudo make chromium'" >&2; exit 1; fi; \
	  apt-get update && apt-get install -y chromium; \
	fi

# --- Front end ----------------------------------------------------------------
frontend-deps: $(NODE_STAMP)

$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend: frontend-deps
	cd frontend && npm run build

# --- Demo ---------------------------------------------------------------------
demo-logs: $(DEMO_STAMP)

$(DEMO_STAMP): $(VENV_STAMP) $(wildcard tb_module_plugin/summary.py tb_module_plugin/recording/*.py)
	$(VPY) -m tb_module_plugin.recording.demo --logdir $(DEMO_LOGDIR)
	touch $@

demo: venv demo-logs
	@echo
	@echo "Open http://$(HOST):$(PORT)/#module_graph  (Ctrl-C stops tensorboard)"
	@echo
	$(VENV)/bin/tensorboard --logdir $(DEMO_LOGDIR) --host $(HOST) --port $(PORT)

# --- Tests --------------------------------------------------------------------
test: venv chromium test-frontend test-python

test-frontend: frontend-deps
	cd frontend && npm test && npm run check

test-python: venv chromium
	$(VPY) -m pytest tests $(PYTEST_ARGS)

# No browser, no tensorboard or TensorFlow process, no model corpus (tests/conftest.py NEEDS and the `live` marks).
test-quick: venv
	$(VPY) -m pytest tests -m "not browser and not live and not corpus" $(PYTEST_ARGS)

# The README's pictures: the tests that take them, writing into docs/ instead of test-artifacts/pictures/.
PICTURE_TESTS := tests/test_browser.py::test_nested_model_blocks_and_screenshot \
	tests/test_browser_page.py::test_readme_pictures tests/test_costs.py::test_page_colours_by_measured_time \
	tests/test_browser_compare.py::test_pictures_of_the_comparison_light_and_dark

pictures: venv chromium
	README_PICTURES=1 $(VPY) -m pytest $(PICTURE_TESTS)

# --- Benchmark ---------------------------------------------------------------
# Writes its graphs once into .cache/bench/ (git-ignored), then measures; see benchmarks/bench.py for
# BENCH_RUNS, BENCH_WARM, BENCH_GRAPHS, BENCH_RESULTS, BENCH_STRICT.
bench: venv chromium
	$(VPY) -m benchmarks.bench

clean:
	rm -rf $(DEMO_LOGDIR) .cache test-artifacts
