# The two commands of the README: `make dev` runs everything locally, `make test` tests it.
# Both set themselves up: a virtual environment with Python 3.13 (the Lambda runtime).

PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
                      $(shell command -v python3.13 2>/dev/null) python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
REQUIREMENTS := functions/shared/requirements.txt tests/requirements.txt

CHROMIUM := /usr/bin/chromium

.PHONY: install dev test lint browser clean

install: $(VENV)/.installed

$(VENV)/.installed: $(REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

dev: install
	$(BIN)/python -m local.dev --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The browser tests drive Debian's chromium; Playwright never downloads a browser of its own.
browser: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

test: lint browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .aws-sam artifacts
