# Two commands for a newcomer (README.md):
#   make lab    bring up the lab of nodes and run the deploy on it
#   make test   run the tests: the unit tier, then the lab's end-to-end tier
# Both first run `provisioner`: the packages of scripts/provisioner-packages.txt
# and a running Docker engine (scripts/ensure-provisioner.sh), then the venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Extra pytest arguments, e.g. `make test PYTEST_ARGS=-x`.
PYTEST_ARGS ?=

.PHONY: lab lab-down test test-unit test-e2e provisioner venv

# python3-venv comes from the provisioner list, so the venv is made after it.
$(VENV)/.installed: pyproject.toml | provisioner
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

venv: $(VENV)/.installed

provisioner:
	scripts/ensure-provisioner.sh

lab: provisioner venv
	$(BIN)/python -m tests.lab up
	$(BIN)/pyinfra -y inventories/lab.py deploy.py

lab-down: venv
	$(BIN)/python -m tests.lab down

# One pytest process per tier: importing pyinfra_cli (unit tests do)
# monkey-patches the whole process with gevent, under the lab's Docker client.
test: provisioner test-unit test-e2e

test-unit: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests/unit

test-e2e: provisioner venv
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS) tests/e2e
