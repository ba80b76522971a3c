# Two commands for a newcomer (README.md):
#   make lab    bring up the lab of nodes and run the deploy on it
#   make test   run the tests: the unit tier, then the lab's end-to-end tier
# Both install what they need (Docker engine, debootstrap, a Python venv).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Extra pytest arguments, e.g. `make test PYTEST_ARGS=-x`.
PYTEST_ARGS ?=

.PHONY: lab lab-down test test-unit test-e2e docker e2e-deps venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

venv: $(VENV)/.installed

docker:
	scripts/ensure-docker.sh

# What the end-to-end tier runs beside Docker: a real registry (distribution)
# on loopback, and a static busybox for the stand-in images.
E2E_PACKAGES := docker-registry busybox-static

e2e-deps: docker
	scripts/ensure-packages.sh $(E2E_PACKAGES)

lab: docker venv
	$(BIN)/python -m tests.lab up
	$(BIN)/pyinfra -y inventories/lab.py deploy.py

lab-down: venv
	$(BIN)/python -m tests.lab down

# One pytest process per tier: importing pyinfra_cli (unit tests do)
# monkey-patches the whole process with gevent, under the lab's Docker client.
test: test-unit test-e2e

test-unit: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests/unit

test-e2e: e2e-deps venv
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS) tests/e2e
