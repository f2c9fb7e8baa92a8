# Two commands on a fresh machine: `make up` (the whole stack on loopback, demo data) and
# `make test` (the full suite). Both install what is missing first.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := pdns-server pdns-backend-sqlite3 pebble caddy chromium sqlite3 openssl curl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: up down test install apt lint bench bench-expiry clean bench-csv

up: install
	$(BIN)/edgeward stack up

down:
	@if [ -x $(BIN)/edgeward ]; then $(BIN)/edgeward stack down; else echo "nothing to stop"; fi

test: install lint
	$(BIN)/pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check schema activities workflows starter worker.py tests bench
	$(BIN)/mypy

install: apt $(STAMP)

$(STAMP): pyproject.toml
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

# Benchmarks are not part of `make test`: each prints its figures side by side (minutes).
bench: bench-expiry bench-csv

bench-csv: install
	$(BIN)/python bench/csv_export.py

bench-expiry: install
	$(BIN)/python bench/expiry_sweep.py

clean: down
	rm -rf .run
