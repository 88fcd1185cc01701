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
	$(BIN)/python -m pip install --quiet -e ".[dev,parquet,ray,forest,gym,sb3,tensorboard,search]"
	touch $(BIN)/rlbt

venv: $(BIN)/rlbt

demo: venv
	$(BIN)/rlbt run dqn --data orcl --out runs/demo --overwrite

# The tests, then every benchmark once with timing off so none can rot (no time asserted).
test: venv lint
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest benchmarks -q

# Timed benchmarks beside the course baseline and every installed peer (`bench` extra).
bench: venv
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" -e ".[bench]"
	$(BIN)/python -m pytest benchmarks --benchmark-enable --benchmark-only \
		--benchmark-warmup=on --benchmark-group-by=group \
		--benchmark-columns=median,ops,rounds --benchmark-autosave \
		--benchmark-json=.benchmarks/latest.json -q
	$(BIN)/python benchmarks/report.py .benchmarks/latest.json

lint: venv
	$(BIN)/ruff check rlbt engine strategies agents tests benchmarks
	mkdir -p build/typecheck/rlbt
	for f in rlbt/*.py; do ln -sfn ../../../$$f build/typecheck/$$f; done
	for p in engine strategies agents; do ln -sfn ../../../$$p build/typecheck/rlbt/$$p; done
	$(BIN)/mypy

clean:
	rm -rf $(VENV) runs build .pytest_cache .mypy_cache .ruff_cache
