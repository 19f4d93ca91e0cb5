# Two commands a newcomer needs: `make run` (the whole desk on embedded defaults) and
# `make test`. Both create the virtual environment the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-faults bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m reschedule_desk.run

test: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not faults" $(PYTEST_ARGS)

# The long part: real processes killed and restarted, outages, load (tests/faults/).
test-faults: $(BIN)/.installed
	$(BIN)/python -m pytest -m faults $(PYTEST_ARGS)

# The benchmark: starts its own servers, prints one table, keeps JSON and a plot in var/bench/.
bench: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .hypothesis
