# mlp-bench: `make test` and `make bench` are each the one command a new user types.
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= test,peers,cluster,fused
ifneq ($(wildcard ../shared/data),)
export MLP_BENCH_DATA_DIR ?= $(abspath ../shared/data)
endif

ablation-mnist: $(STAMP) ## The MNIST ablation apart from make bench (12 cells x 5 seeds + Keras, ~17 min on two cores)
	$(PY) -m harness -m +experiment=ablation_mnist runs=5

.PHONY: help install test bench ablation-mnist perf perf-baseline report gpu-check gpu-pack mutation clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its pinned dependencies

test: $(STAMP) ## Install if needed, then run the test suite on every core (a worker more than the cores, a test file each; benchmarks untimed)
	$(PY) -m pytest -q -n auto --dist loadfile

bench: $(STAMP) ## Install if needed, run the article's suite and build the HTML report
	$(PY) -m harness.suite

report: $(STAMP) ## Rebuild tables, figures and the HTML report from results on disk
	$(PY) -m harness.report

# Benchmarks are compared only on the machine that saved them: one storage folder per host.
BENCH_DIR := results/benchmarks/$(shell hostname)
BENCH_ARGS := tests/benchmarks --benchmark-enable --benchmark-only --benchmark-storage=$(BENCH_DIR) $(PERF_ARGS)
BASELINE = $(shell ls $(BENCH_DIR)/*/*_baseline.json 2>/dev/null | sort | tail -n 1 | xargs -r basename | cut -c1-4)

perf-baseline: $(STAMP) ## Time the benchmarks and save them as this machine's baseline
	$(PY) -m pytest $(BENCH_ARGS) --benchmark-save=baseline

perf: $(STAMP) ## Time the benchmarks against this machine's baseline (fails on a 15% median regression)
	@if [ -z "$(BASELINE)" ]; then echo "no baseline for $$(hostname) yet: saving one"; $(MAKE) --no-print-directory perf-baseline; \
	else $(PY) -m pytest $(BENCH_ARGS) --benchmark-autosave \
	  --benchmark-compare=$(BASELINE) --benchmark-compare-fail=median:15%; fi

mutation: $(STAMP) ## Mutation-test the core modules one at a time, each against its fast tests; print the score per module (slow; MODULES="optimizers stats" for some)
	$(PY) scripts/mutation.py $(MODULES)

gpu-check: ## Check CuPy against NumPy and time mnist_gpu (needs a GPU)
	bash scripts/gpu_check.sh

gpu-pack: ## Pack Hydra's wheels and MNIST into .gpu/ for a GPU machine without a package index
	bash scripts/gpu_pack.sh

clean: ## Remove the virtual environment and generated results
	rm -rf $(VENV) outputs multirun .pytest_cache .mutation
	find results -mindepth 1 -maxdepth 1 ! -name reference ! -name benchmarks -exec rm -rf {} +
