# semroute — `make serve` and `make test` work on a fresh machine with only Python.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8080
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: serve prepare test check lint typecheck unit bench chaos train train-multilingual eval fmt clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Every install takes the exact versions of constraints.txt (what the suite passed with).
# torch first, pinned, so pip takes the CPU build and never pulls the multi-GB CUDA one: from
# a local wheel where pip finds one, else from TORCH_INDEX, e.g.
#   make serve TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
PIP_INSTALL := $(PIP) install -q -c constraints.txt
$(VENV)/.runtime: $(PY) pyproject.toml constraints.txt
	$(PIP_INSTALL) torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP_INSTALL) -e '.[dev]'
	touch $@

# Rewrite constraints.txt from the dev venv (after changing a dependency; then make test).
.PHONY: lock
lock: $(VENV)/.dev
	{ sed -n '/^#/p' constraints.txt; $(PIP) freeze --exclude-editable | \
	  sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# The encoder files the default config builds from the local model (~10 s on 2 cores, then
# instant: the ONNX export and its int8 copy), then every machine-dependent encoder file is
# checked on the hold-out against the figures recorded with the shipped artifacts.
prepare: $(VENV)/.runtime
	$(VENV)/bin/semroute prepare

serve: prepare
	$(VENV)/bin/semroute serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev redis-server-installed
	$(MAKE) --no-print-directory check
	$(VENV)/bin/semroute prepare
	$(PY) -m pytest -q

check: lint typecheck

# The Redis ledger / cache / breaker tests start a real redis-server on loopback
# (tests/redis_server.py): install it with apt when it is missing (needs root).
.PHONY: redis-server-installed
redis-server-installed:
	@command -v redis-server >/dev/null || { \
	  command -v apt-get >/dev/null || { \
	    echo "redis-server is missing and apt-get is unavailable: install redis-server (>= 6) and re-run" >&2; \
	    exit 1; }; \
	  echo "installing redis-server with apt-get ..."; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } || { \
	    echo "apt-get could not install redis-server (root needed?): install it and re-run" >&2; \
	    exit 1; }; \
	}
	@redis-server --version

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check router service training tests bench
	$(VENV)/bin/ruff format --check router service training tests bench

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy

fmt: $(VENV)/.dev
	$(VENV)/bin/ruff format router service training tests bench
	$(VENV)/bin/ruff check --fix router service training tests bench

# Every benchmark (each bounded; ~30 min in all on 2 cores, mostly the 1M-entry cache index),
# then bench/RESULTS.md is rewritten from their JSON results.
BENCHES := route_latency http_route proxy_overhead messages_overhead rate_limits cache_lookup baselines \
	truncation encoders peers chaos
bench: $(VENV)/.dev prepare
	for b in $(BENCHES); do (cd bench && ../$(PY) $$b.py) || exit 1; done
	cd bench && ../$(PY) http_route.py --rate 400 800 --concurrency 64 --sets real --requests 2000
	cd bench && ../$(PY) report.py

# Fault injection on the default execution settings (bounded: 15 min at most; about 30 s):
# 2,000 requests at concurrency 32, one provider silent, one failing half its calls.
# Fails unless 0 requests are lost and 0 truncated answers are reported as successes.
CHAOS_ARGS ?= --requests 2000 --concurrency 32 --max-seconds 900
chaos: $(VENV)/.dev
	cd bench && ../$(PY) chaos.py $(CHAOS_ARGS)

# Rebuild the shipped centroids from the training set in training/data/ (see its README).
TRAIN_DATA := training/data/public_train.jsonl training/data/seed_prompts.jsonl \
	training/data/seed_prompts_2.jsonl
train: $(VENV)/.runtime
	$(VENV)/bin/semroute train --out centroids --promote --k 8 $(TRAIN_DATA:%=--data %)

# The multilingual stage's centroids (USE v3): the files above, multilingual_train.jsonl and
# (fitted on, not calibrating) the real and chatbot-style prompts; three fits pooled.
train-multilingual: $(VENV)/.runtime
	$(PY) -m training.fit_multilingual --version multilingual-v3

eval: $(VENV)/.runtime
	$(VENV)/bin/semroute eval --data ../shared/data/routing/dev.jsonl

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
