# Kopichat — `make` lists the targets. `make run` and `make test` install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
# The offline model's llama.cpp build: portable (default; runs on any x86-64-v3 CPU, see
# scripts/install-llama.sh) or native (KOPICHAT_LLAMA_BUILD=native: faster here, crashes elsewhere).
LLAMA_BUILD := $(or $(KOPICHAT_LLAMA_BUILD),portable)
# One stamp per build flavour: switching flavours (or an older .venv) reinstalls. The stamp holds
# a hash of the files that decide the install (scripts/install-hash.sh): their content counts, not
# their times, so a copied checkout (cp -r) or a fresh clone with its .venv does not reinstall,
# and any change to them, or no .venv at all, does.
STAMP := $(VENV)/.installed-$(LLAMA_BUILD)
INSTALL_INPUTS := pyproject.toml $(LOCK) scripts/install-llama.sh scripts/llama-cmake-args.sh \
	scripts/install-hash.sh
# Empty when the hash cannot be made: the stamp is then out of date, and installing says why.
# (Targets that install nothing, such as deploy, never need it.)
INSTALL_HASH := $(shell bash scripts/install-hash.sh $(INSTALL_INPUTS) 2>/dev/null)
ifneq ($(shell cat $(STAMP) 2>/dev/null),$(INSTALL_HASH))
.PHONY: $(STAMP)
endif
PORT ?= 8000
# Deployment (docs/deployment.md)
STAGE ?= prod
AWS_REGION ?= eu-west-1
STACK ?= kopichat-$(STAGE)
MODEL ?= openai:gpt-4o-mini
SECRETS_REVISION ?= 1
# Empty: off while the stack does not exist yet, then on for prod (scripts/deploy.sh).
DB_DELETION_PROTECTION ?=
# More parameter overrides for sam deploy, e.g. PARAMS="FunctionMemoryMB=2048 AlarmEmail=a@b.c"
PARAMS ?=
LAMBDA_IMAGE ?= kopichat-lambda:latest

.PHONY: help install test test-fast run down clean migrate purge lint lock check-tools build deploy \
	postman-deps bench bench-quick load chromium eval eval-score model-server

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) chromium ## Create .venv and install everything, the offline model and Chromium included

# Runs only when the stamp does not hold the hash of INSTALL_INPUTS (see STAMP above). Ends with a
# smoke run of the offline model in a child process: a build that crashes on this CPU stops the
# install here with one line, not with a segfault later.
$(STAMP):
	@test -n "$(INSTALL_HASH)" || { echo "kopichat: cannot hash $(INSTALL_INPUTS) (scripts/install-hash.sh needs sha256sum or shasum)"; exit 1; }
	@$(MAKE) --no-print-directory check-tools
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "kopichat: installing into $(VENV) (the first time builds llama-cpp-python: 3-6 minutes)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	@rm -f $(VENV)/.installed $(VENV)/.installed-*
	bash scripts/install-llama.sh $(VENV) $(LLAMA_BUILD)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[local,dev,bench,aws,otel]'
	$(BIN)/python -m agent.understanding.langid_model
	$(BIN)/python -m agent.adapters.local_model_check
	@echo $(INSTALL_HASH) > $(STAMP)
	@echo "kopichat: install complete"

check-tools: ## Check for Python >= 3.11, a C/C++ compiler and cmake
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || \
	  { echo "kopichat: Python >= 3.11 is needed as '$(PYTHON)' (Debian/Ubuntu: apt-get install python3 python3-venv; or set PYTHON=python3.12)"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || \
	  { echo "kopichat: Python's venv module is missing (Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
	@command -v cc >/dev/null && command -v c++ >/dev/null || \
	  { echo "kopichat: a C/C++ compiler is needed to build llama-cpp-python (Debian/Ubuntu: apt-get install build-essential; macOS: xcode-select --install)"; exit 1; }
	@command -v cmake >/dev/null || \
	  { echo "kopichat: cmake is needed to build llama-cpp-python (Debian/Ubuntu: apt-get install cmake; macOS: brew install cmake)"; exit 1; }

chromium: ## Install Debian's chromium for the browser tests when missing (as root with apt-get)
	@bash scripts/install-chromium.sh

test: $(STAMP) chromium ## Run the test suite (MariaDB/MySQL tests use KOPICHAT_TEST_MYSQL_URL)
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## Unit and store-contract tests only, on the fake store (under a minute): while you edit
	$(BIN)/python -m pytest tests/unit tests/contract -m "not mysql and not slow and not browser"

run: $(STAMP) ## Serve the API on :8000 (set PORT to change; local uvicorn on embedded defaults when no Docker engine)
	@if [ -f docker-compose.yml ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  echo "kopichat: a Docker engine answers: starting the docker compose stack (MySQL 8 + API)"; \
	  bash scripts/check-docker-versions.sh || exit 1; \
	  test -f .env || { cp .env.example .env; echo "kopichat: created .env from .env.example (edit its passwords)"; }; \
	  KOPICHAT_HOST_PORT=$(PORT) docker compose up --build --detach --wait && echo "kopichat: serving on http://localhost:$(PORT) (make down stops it)"; \
	else \
	  echo "kopichat: no Docker engine answers: serving locally under uvicorn on http://127.0.0.1:$(PORT) (debate page at /)"; \
	  echo "kopichat: model and database come from the environment or .env (defaults: offline model, SQLite)"; \
	  $(BIN)/python -m agent.migrate && PORT=$(PORT) $(BIN)/python -m api; \
	fi

down: ## Stop and remove the compose services, networks, volumes and orphans
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  docker compose down --volumes --remove-orphans; \
	else echo "kopichat: no Docker engine answers: nothing to stop (a local 'make run' stops with Ctrl-C)"; fi

clean: down ## Also remove the images, .venv, caches and local state (SQLite file, SAM build, newman)
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  docker compose down --rmi local --volumes --remove-orphans; docker image rm -f $(LAMBDA_IMAGE) 2>/dev/null || true; fi
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info kopichat.db kopichat.db-* \
	  .aws-sam docs/postman/node_modules
	find . -name __pycache__ -type d -prune -not -path './docs/postman/node_modules/*' -exec rm -rf {} +

migrate: $(STAMP) ## Apply the database migrations to DATABASE_URL
	$(BIN)/python -m agent.migrate

purge: $(STAMP) ## Delete idle conversations (KOPICHAT_RETENTION_DAYS) and day-old idempotency keys
	$(BIN)/python -m agent.purge

lint: $(STAMP) ## ruff and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agent api tests infra/lambda bench evals

bench: $(STAMP) ## Benchmark against the LangChain baseline and the reference apps on MariaDB, with a profile; writes docs/benchmarks.md
	@bash .ci/mariadb-up.sh
	$(BIN)/python -m bench

bench-quick: $(STAMP) ## The same benchmark with fewer turns, no profile; prints only (last line: JSON with the ratios)
	@bash .ci/mariadb-up.sh
	$(BIN)/python -m bench --quick

eval: $(STAMP) ## Scripted debates + labelled openings through the service, configured model (docs/evaluation.md)
	$(BIN)/python -m evals $(EVAL_ARGS)

eval-score: $(STAMP) ## Score a JSONL file of replies, one verdict per line: make eval-score FILE=replies.jsonl
	@test -n "$(FILE)" || { echo "kopichat: usage: make eval-score FILE=replies.jsonl"; exit 1; }
	$(BIN)/python -m evals score $(FILE)

model-server: $(STAMP) ## A real OpenAI-compatible server with the bundled model on :8001 (llama_cpp.server)
	$(BIN)/python -m evals.model_server --port 8001

load: $(STAMP) ## Load run: 32 users for 60 s against the live server on MariaDB (locust; ~75 s); requests/s per core of the server
	@bash .ci/mariadb-up.sh
	$(BIN)/python -m bench.loadtest

lock: ## Re-pin requirements.lock from the current .venv (after changing pyproject.toml)
	$(BIN)/python -m pip freeze --exclude-editable > $(LOCK)

build: ## Build the Lambda image (target lambda) for linux/amd64 with buildx; needs a Docker engine
	docker buildx build --platform linux/amd64 --target lambda --tag $(LAMBDA_IMAGE) --load .

deploy: ## sam build + sam deploy of infra/template.yaml, wait for RDS Proxy, migrate (PARAMS="Key=Value ..." adds overrides)
	STAGE=$(STAGE) AWS_REGION=$(AWS_REGION) STACK=$(STACK) MODEL=$(MODEL) \
	  SECRETS_REVISION=$(SECRETS_REVISION) DB_DELETION_PROTECTION=$(DB_DELETION_PROTECTION) \
	  PARAMS="$(PARAMS)" bash scripts/deploy.sh

postman-deps: ## Install the pinned newman (the tests do this by themselves when it is missing)
	npm ci --prefix docs/postman --no-audit --no-fund --ignore-scripts
