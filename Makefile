# Two entry points a newcomer needs: `make demo` and `make test`. Each creates the
# virtual environment and installs trelink on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.trelink-installed
DEMO_OUT ?= out/demo

.PHONY: demo synth test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/trelink demo --out $(DEMO_OUT) --overwrite

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
