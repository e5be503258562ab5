# The README's two commands are `make demo` and `make test`; both install what they need first.
# Every target is idempotent: the virtualenv is rebuilt only when pyproject.toml changes.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv demo test test-all bench lint format clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "error: python3.11 (or python3) not found; install Python 3.11+" >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(STAMP)  ## Create .venv and install shopstream with its dev tools.

demo: $(STAMP)  ## Simulate a day of the shop and show its numbers.
	$(BIN)/shopstream demo

test: $(STAMP)  ## Lint, type-check and run the default test suite (no bench, no slow).
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

test-all: $(STAMP)  ## Run every test, slow ones included (benchmarks excepted).
	$(BIN)/pytest -m 'not bench'

bench: $(STAMP)  ## Run the performance requirements (tests/bench).
	$(BIN)/pytest -m bench tests/bench

lint: $(STAMP)  ## Lint, check formatting and types without changing files.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)  ## Format the code and apply safe lint fixes.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:  ## Remove the virtualenv, caches and demo data.
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis demo-data build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
