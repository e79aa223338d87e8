# Two commands set the project up and run it on a fresh machine:
#   make run    create .venv, train the default model from labels/ if there is none, serve on 127.0.0.1:8000
#   make test   create .venv and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install model bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

models/current: $(STAMP)
	$(BIN)/moderation train

model: models/current

run: models/current
	$(BIN)/moderation serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,dask]'
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python tests/bench/quality.py

clean:
	rm -rf $(VENV) models reports
