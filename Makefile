# The two commands a newcomer needs:
#   make demo   set everything up and run the main job on the embedded default
#   make test   install what the tests need and run the whole suite

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-deps venv bench clean

$(BIN)/python:
	scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)"

venv: $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .

demo: venv
	$(BIN)/python -m mailtriage.demo $(DEMO_ARGS)

test-deps: $(BIN)/python
	scripts/install-test-deps.sh
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'

test: test-deps
	scripts/run-tests.sh $(BIN)/python

bench: test-deps
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis demo-output
