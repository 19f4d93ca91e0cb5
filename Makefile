# Two commands a newcomer needs: `make run` (the whole desk on embedded defaults) and
# `make test`. Both create the virtual environment the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test worker api clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m reschedule_desk.run

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf var .pytest_cache .hypothesis
