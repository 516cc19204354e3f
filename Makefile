# Set-up and entry points. `make run` runs the whole workflow on the embedded default;
# `make test` runs the test suite. Both create the virtual environment on first use.
VENV ?= .venv
PYTHON ?= python3
# CPU build on these machines; on a CUDA machine use e.g. TORCH="torch==2.13.0 --index-url ..."
TORCH ?= torch==2.13.0
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: run test test-cluster report lint format clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	PATH=$(abspath $(BIN)):$$PATH snakemake --profile workflow/profiles/local --cores $(CORES)

report: $(VENV)/.installed
	PATH=$(abspath $(BIN)):$$PATH snakemake --profile workflow/profiles/local --report report.html

test: $(VENV)/.installed
	PATH=$(abspath $(BIN)):$$PATH python -m pytest -q -ra --durations=15

# The SLURM profile on a real single-node SLURM started on this machine (needs root and slurm-wlm).
test-cluster: $(VENV)/.installed
	PATH=$(abspath $(BIN)):$$PATH python -m pytest -q -ra tests/test_slurm.py

lint: $(VENV)/.installed
	PATH=$(abspath $(BIN)):$$PATH snakemake --lint
	PATH=$(abspath $(BIN)):$$PATH snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(VENV)/.installed
	PATH=$(abspath $(BIN)):$$PATH snakefmt Snakefile workflow/rules
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf results .snakemake report.html
