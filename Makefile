# Two commands on a fresh machine:
#   make run   - create .venv, install vsim, run scenarios/quickstart.yaml into results/quickstart/
#   make test  - create .venv, install vsim with dev extras, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/vsim run scenarios/quickstart.yaml --out results/quickstart

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 --nbmake tests notebooks

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check vsim tests benchmarks

clean:
	rm -rf $(VENV) results/*/
