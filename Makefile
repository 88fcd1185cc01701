# rlbt: `make demo` runs a real backtest on the bundled data, `make test` runs the tests.
# Both create the virtual environment first (CPU PyTorch before the project, so
# pip never pulls a multi-gigabyte CUDA build).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv demo test lint bench clean

$(BIN)/rlbt: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev,parquet,ray,forest]"
	touch $(BIN)/rlbt

venv: $(BIN)/rlbt

demo: venv
	$(BIN)/rlbt run dqn --data orcl --out runs/demo --overwrite

test: venv lint
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check engine strategies agents tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
