# One entry point for developers and CI. Every target creates the virtualenv it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint typecheck test demo bench bench-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

LINTED := perago tests examples $(wildcard bench)

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

clean:
	rm -rf $(VENV) .pytest_cache .coverage build *.egg-info
