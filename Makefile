# Two commands for a newcomer: `make demo` runs the main job on embedded defaults,
# `make test` runs the whole test suite. Each creates its own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/sigma-lab demo

test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check sigma_lab api tests benchmarks

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/indicators_vs_talib.py

clean:
	rm -rf $(VENV) workspace .pytest_cache
