# mlp-bench: `make test` and `make bench` are each the one command a new user types.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= test,peers,cluster
export MLP_BENCH_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: help install test bench perf perf-baseline report gpu-check clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its pinned dependencies

test: $(STAMP) ## Install if needed, then run the test suite (benchmarks run once, untimed)
	$(PY) -m pytest -q

bench: $(STAMP) ## Install if needed, run the article's suite and build the HTML report
	$(PY) -m harness.suite

report: $(STAMP) ## Rebuild tables, figures and the HTML report from results on disk
	$(PY) -m harness.report

perf: $(STAMP) ## Time the benchmarks and compare with the saved baseline (fails on a 15% median regression)
	$(PY) -m pytest tests/benchmarks --benchmark-enable --benchmark-only \
	  --benchmark-autosave --benchmark-storage=results/benchmarks \
	  $$(ls results/benchmarks/*/*.json >/dev/null 2>&1 && echo --benchmark-compare --benchmark-compare-fail=median:15%)

gpu-check: ## Check CuPy against NumPy and time mnist_gpu (needs a GPU)
	bash scripts/gpu_check.sh

clean: ## Remove the virtual environment and generated results
	rm -rf $(VENV) outputs multirun .pytest_cache
	find results -mindepth 1 -maxdepth 1 ! -name reference ! -name benchmarks -exec rm -rf {} +
