# The two commands of the README: `make dev` runs everything locally, `make test` tests it.
# Both set themselves up: a virtual environment with Python 3.13 (the Lambda runtime).

PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
                      $(shell command -v python3.13 2>/dev/null) python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
REQUIREMENTS := functions/shared/requirements.txt tests/requirements.txt

CHROMIUM := /usr/bin/chromium

.PHONY: install dev test lint browser clean deploy configure-opentok destroy logs

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

# Deploying needs the SAM CLI and AWS credentials; the first deploy asks its questions and
# saves the answers to samconfig.toml, later ones reuse them.
SAM ?= sam
STACK = $(shell $(BIN)/python -m deploy.stack 2>/dev/null)

deploy: install
	$(SAM) build
	if grep -q '^parameter_overrides' samconfig.toml; then $(SAM) deploy; else $(SAM) deploy --guided; fi
	$(BIN)/python -m deploy.publish_site

configure-opentok: install
	$(BIN)/python -m deploy.configure_opentok

destroy: install
	$(BIN)/python -m deploy.empty_site
	$(SAM) delete --stack-name $(STACK)
	@echo "Kept: the archive bucket (your recordings) and the table of rooms and archives."
	@echo "Delete them in the S3 and DynamoDB consoles once you no longer need them."

logs: install
	$(SAM) logs --cw-log-group /aws/lambda/$(STACK) --tail

clean:
	rm -rf $(VENV) .aws-sam artifacts
