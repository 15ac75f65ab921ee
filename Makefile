# One entry point for developers and CI. Every target creates the virtualenv it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint typecheck test demo bench bench-smoke soak soak-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

LINTED := perago tests examples $(wildcard bench) $(wildcard soak)

lint: $(STAMP)
	$(BIN)/ruff check --no-cache $(LINTED)
	$(BIN)/ruff format --no-cache --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy --strict perago

# coverage starts before pytest loads its plugins (perago's own pytest plugin imports perago), and follows the
# perago subprocesses that the CLI tests start.
test: $(STAMP)
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report --fail-under=90

demo: $(STAMP)
	$(BIN)/python -m perago dev

bench: $(STAMP)
	$(BIN)/python -m bench

bench-smoke: $(STAMP)
	$(BIN)/python -m bench --smoke

# The chaos soak (issue 12): 200 workflows, 4 worker processes SIGKILLed/SIGTERMed at random, faults on both
# emulators; one summary line, non-zero on any violation. Not part of `make test` (a 30-second smoke of it is).
soak: $(STAMP)
	$(BIN)/python -m soak

soak-smoke: $(STAMP)
	$(BIN)/python -m soak --smoke

clean:
	rm -rf $(VENV) .pytest_cache .coverage build *.egg-info
