# Two commands set the project up and run it on a fresh machine:
#   make run    create .venv, train the default model from labels/ if there is none, serve on 127.0.0.1:8000
#   make test   create .venv and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The project's modules compiled to bytecode now, as pip compiles an installed package's: where
# PYTHONDONTWRITEBYTECODE is set, every command would otherwise compile them again (~0.1 s a start).
BYTECODE := $(BIN)/python -m compileall -q moderation service

.PHONY: run test install model bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dask]'
	$(BYTECODE)
	touch $(STAMP)

install: $(STAMP)

models/current: $(STAMP)
	$(BIN)/moderation train

model: models/current

run: models/current
	$(BIN)/moderation serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/python -m pytest

# The benchmarks print figures against a reference measured in the same run (see README).
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,dask,bench]'
	$(BYTECODE)
	$(BIN)/python tests/bench/quality.py
	$(BIN)/python tests/bench/robustness.py
	$(BIN)/python tests/bench/throughput.py --n-jobs 1 2
	$(BIN)/python tests/bench/service.py
	$(BIN)/python tests/bench/train.py

clean:
	rm -rf $(VENV) models reports
