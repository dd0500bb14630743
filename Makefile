# The two commands of the README: `make dev` runs everything locally, `make test` tests it.
# Both set themselves up: a virtual environment with Python 3.13 (the Lambda runtime).

PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
                      $(shell command -v python3.13 2>/dev/null) python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
REQUIREMENTS := functions/shared/requirements.txt tests/requirements.txt

CHROMIUM := /usr/bin/chromium

# The venvs, the browser and the Lambda image are made side by side: on a fresh machine they
# are a minute of downloads each. Each recipe still runs its own lines in order.
MAKEFLAGS += --jobs=3

.PHONY: install dev test lint browser checkov sam-cli sam-local sam-stack clean deploy configure-opentok host-link destroy logs

install: $(VENV)/.installed

$(VENV)/.installed: $(REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

# make dev PARAMETER_OVERRIDES="ArchiveControl=open": template parameters, written as for
# `sam deploy --parameter-overrides`. local.tools.dev reads them from its environment, where make
# puts the variables of its command line: no shell quoting stands between them.
dev: install
	$(BIN)/python -m local.tools.dev --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The browser tests drive Debian's chromium; Playwright never downloads a browser of its own.
browser: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# checkov, which scans template.yaml in the tests, in a venv of its own: it pins boto3 to
# another version than ours.
CHECKOV_VENV := .venv-checkov

checkov: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed: tests/requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

# `sam local invoke` and `sam local start-api`: the SAM CLI in a venv of its own (it pins boto3
# and click to other versions than ours), a Docker engine and the Lambda python3.13 image.
SAM_VENV := .venv-sam

# `sam validate --lint` (a template test) needs the SAM CLI alone; `sam local`, its image too.
sam-cli: $(SAM_VENV)/.installed

sam-local: sam-cli
	PYTHON=$(SAM_VENV)/bin/python local/tools/lambda-image

$(SAM_VENV)/.installed: tests/requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

# What the functions of `sam local` talk to, as local/tools/env.json says: moto and the emulator.
sam-stack: install
	$(BIN)/python -m local.tools.sam_stack

# SAM_TESTS=0 make test: without the sam local tests, and without preparing for them.
# Two files at once, each on a core of its own (a third overloads two cores); a file's tests in
# one process, in order.
test: lint browser checkov sam-cli $(if $(filter 0,$(SAM_TESTS)),,sam-local)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Figures, not a test: cold starts, warm latency, OpenTok calls, readiness, growth, the copy,
# package sizes, the room's signal, the streams split, a call's recordings in the emulator; a
# run of every section writes them to docs/performance.md. `sam build` measures the packages
# when a SAM CLI is found (SAM=/path/to/sam), the layer's Makefile otherwise. BENCH_ARGS=--help
# lists options.
.PHONY: bench
bench: install
	SAM="$${SAM:-$(firstword $(wildcard $(SAM_VENV)/bin/sam) $(shell command -v sam 2>/dev/null))}" \
		$(BIN)/python -m local.tools.bench $(BENCH_ARGS)

# Deploying needs the SAM CLI and AWS credentials; the first deploy asks its questions and
# saves the answers to samconfig.toml, later ones reuse them.
SAM ?= $(firstword $(wildcard $(SAM_VENV)/bin/sam) sam)
STACK = $(shell $(BIN)/python -m deploy.stack 2>/dev/null)

deploy: install
	$(SAM) build
	if grep -q '^parameter_overrides' samconfig.toml; then $(SAM) deploy; else $(SAM) deploy --guided; fi
	$(BIN)/python -m deploy.publish_site
	$(BIN)/python -m deploy.list_unfinished

configure-opentok: install
	$(BIN)/python -m deploy.configure_opentok

# The deployed site's host link (the host key in its fragment) and the participant link.
host-link: install
	$(BIN)/python -m deploy.host_link

destroy: install
	$(BIN)/python -m deploy.empty_site
	$(SAM) delete --stack-name $(STACK)
	@echo "Kept: the archive bucket (your recordings) and the table of rooms and archives."
	@echo "Delete them in the S3 and DynamoDB consoles once you no longer need them."

logs: install
	$(SAM) logs --cw-log-group /aws/lambda/$(STACK) --tail

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam artifacts
