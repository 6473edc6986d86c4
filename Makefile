# Krisenlotse — `make help` lists the targets. `make run` and `make test` do all set-up by themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON310 ?= $(shell tools/find_python310.sh 2>/dev/null)
WEB_PYTHON ?= python3
RASA_VENV := .venv-rasa
WEB_VENV := .venv-web
RASA_PY := $(RASA_VENV)/bin/python
WEB_PY := $(WEB_VENV)/bin/python
RASA := $(RASA_VENV)/bin/rasa
SPACY_DIR := var/spacy/de_krisenlotse
MODEL := models/krisenlotse.tar.gz
TRAINING_DATA := $(shell find data/nlu data/rules data/stories -name '*.yml' 2>/dev/null | sort)
# Raw rasa commands read the tokens in endpoints.yml from the environment.
WITH_SECRETS := set -a; . var/secrets.env; set +a;
export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING ?= 1
export RASA_TELEMETRY_ENABLED ?= false

.PHONY: help install spacy secrets train run shell test test-fast validate lint bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(RASA_VENV)/.installed $(WEB_VENV)/.installed ## Create both virtual environments (Rasa on Python 3.10, web app)

$(RASA_VENV)/.installed: pyproject.toml constraints/rasa.txt
	@if [ -z "$(PYTHON310)" ]; then tools/find_python310.sh; exit 1; fi
	@echo "Rasa environment ($(PYTHON310)) → $(RASA_VENV)"
	@test -x $(RASA_PY) || $(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_PY) -m pip install -q --upgrade pip wheel
	$(RASA_PY) -m pip install -q -c constraints/rasa.txt -e '.[rasa]'
	@touch $@

$(WEB_VENV)/.installed: pyproject.toml
	@$(WEB_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "the web app needs Python >= 3.10 (set WEB_PYTHON=...)")'
	@echo "Web environment ($$($(WEB_PYTHON) --version)) → $(WEB_VENV)"
	@test -x $(WEB_PY) || $(WEB_PYTHON) -m venv $(WEB_VENV)
	$(WEB_PY) -m pip install -q --upgrade pip
	$(WEB_PY) -m pip install -q -e '.[web,dev]'
	@touch $@

spacy: $(SPACY_DIR)/krisenlotse.json ## Build the German spaCy pipeline (blank de + lookup lemmatizer + entity ruler)

$(SPACY_DIR)/krisenlotse.json: tools/build_spacy_pipeline.py data/nlu/synonyms.yml $(wildcard data/nlu/lookups/*.yml) | $(RASA_VENV)/.installed
	$(RASA_PY) tools/build_spacy_pipeline.py --data data --out $(SPACY_DIR)

secrets: var/secrets.env ## Generate the internal tokens (var/secrets.env, never committed)

var/secrets.env:
	@$(WEB_PYTHON) -c 'import sys; sys.path.insert(0, "."); from tools.stack import load_secrets; load_secrets()'
	@echo "Tokens written to var/secrets.env"

train: $(MODEL) ## Train the Rasa model if data, config or domain changed

$(MODEL): config.yml domain.yml $(TRAINING_DATA) $(SPACY_DIR)/krisenlotse.json | $(RASA_VENV)/.installed var/secrets.env
	$(WITH_SECRETS) $(RASA) train --fixed-model-name krisenlotse --out models
	@touch $@

run: install train secrets ## Start action server, Rasa and the web app (http://127.0.0.1:8080); Ctrl-C stops
	$(WEB_PY) tools/run.py

shell: install train secrets ## Talk to the bot in the terminal (rasa shell; starts the action server)
	$(WITH_SECRETS) $(RASA_PY) -m actions.server & pid=$$!; trap "kill $$pid" EXIT; \
	  $(WITH_SECRETS) $(RASA) shell --model $(MODEL)

validate: install spacy secrets ## rasa data validate --fail-on-warnings + contact directory / routing checks
	$(WITH_SECRETS) $(RASA) data validate --fail-on-warnings
	$(RASA_PY) tools/check_data.py

test: install train secrets ## All tests: lint, actions, NLU gate, rasa data validate, rasa test, web app, browser
	$(WEB_VENV)/bin/ruff check bot actions tools tests benchmarks
	$(RASA_PY) -m pytest tests/actions tests/rasa -q -p no:cacheprovider
	$(MAKE) --no-print-directory validate
	$(WITH_SECRETS) $(RASA) test core --model $(MODEL) --stories tests/test_stories.yml \
	  --fail-on-prediction-errors --out var/results/core
	$(WEB_PY) -m pytest tests/bot tests/scale tests/browser -q -p no:cacheprovider

test-fast: install ## Only the fast tests (no Rasa server, no browser)
	$(RASA_PY) -m pytest tests/actions -q -m "not slow" -p no:cacheprovider
	$(WEB_PY) -m pytest tests/bot -q -m "not slow" -p no:cacheprovider

lint: install ## ruff check
	$(WEB_VENV)/bin/ruff check bot actions tools tests benchmarks

bench: install train secrets ## NLU quality on the held-out test set + latency through the REST channel
	$(RASA_PY) benchmarks/nlu_eval.py --model $(MODEL) --out var/results/nlu
	$(WEB_PY) benchmarks/latency.py

clean: ## Remove generated files (keeps the environments)
	rm -rf models var/spacy var/results .rasa results
