# Every target creates the virtual environment it needs; `make test` and `make demo` work on a
# fresh clone with nothing but python3 (3.11+) installed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test lint format demo bench bench-kubeapi bench-sim crds clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PYTHONPATH=operator $(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

crds: $(STAMP)
	$(BIN)/smartlicensing crds --output-dir crds

bench-sim: $(STAMP)
	$(BIN)/python benchmarks/sim.py

demo: $(STAMP)
	$(BIN)/smartlicensing demo

bench-kubeapi: $(STAMP)
	$(BIN)/python benchmarks/kubeapi.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

.PHONY: bench-clients
bench-clients: $(STAMP)
	PYTHONPATH=operator $(BIN)/python benchmarks/clients.py

.PHONY: bench
bench: $(STAMP)
	$(BIN)/python benchmarks/operator_bench.py

.PHONY: bench-operator-core
bench-operator-core: $(STAMP)
	PYTHONPATH=operator $(BIN)/python benchmarks/operator_core.py

.PHONY: test-scenarios
test-scenarios: $(STAMP)
	$(BIN)/pytest tests/scenarios
