"""
Where validation hooks into a pyinfra run.

The pyinfra 3.10 CLI runs, in order: config.py, the inventory module, the
group_data files, ``connect_all`` (SSH to every host), then the deploy files.
Deploy files therefore run *after* connecting, so the first check lives in the
inventory module itself:

+ ``check_before_connect(globals())`` - last line of every inventory module.
  Validates the module's hosts merged with group_data as pyinfra will merge
  them, and raises before pyinfra has opened a single connection. Setting
  CONVECTHUB_DEFER_CHECK=1 skips it (e.g. to ``debug-inventory`` a broken
  inventory); the second check below still stops any operation.
+ ``require_valid_inventory()`` - first line of deploy.py, reset.py and
  check.py. Validates the live inventory (including ``--data`` overrides and
  inventories that do not call the first check) before any operation is added.

+ ``require_verified_bundle(bundle_dir)`` - deploy.py, right after: the
  air-gap bundle on the provisioner is complete and intact, checked once.

Both inventory checks raise InventoryError, a PyinfraError: the CLI prints the problem table on
stderr, without a traceback, and exits 1.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from weakref import WeakKeyDictionary

from pyinfra.context import ctx_state

from convecthub.bundle.errors import BundleError, VerifyError
from convecthub.bundle.manifest import Manifest
from convecthub.bundle.verify import verify_bundle
from convecthub.inventory.model import (
    entries_from_namespace,
    entries_from_pyinfra,
    group_data_folders,
    load_group_data,
)
from convecthub.inventory.validate import find_problems
from convecthub.problems import InventoryError, Problem, Refused, count, merge_same_problems

DEFER_ENV = "CONVECTHUB_DEFER_CHECK"

# One validation per pyinfra run: deploy files execute once per host.
_problems_by_state: WeakKeyDictionary = WeakKeyDictionary()


def check_before_connect(namespace: Mapping, load_problems: Iterable[Problem] = ()) -> None:
    """
    Validate an inventory module from inside it (pass ``globals()``), so that a
    bad inventory stops the run before any SSH connection. ``load_problems``
    are problems the module found while reading its source (e.g. an INI file).
    """

    if os.environ.get(DEFER_ENV) == "1":
        return

    cwd = Path.cwd()
    group_data = load_group_data(group_data_folders(namespace["__file__"], cwd))
    hosts, name_problems = entries_from_namespace(namespace, group_data)
    problems = [*load_problems, *name_problems, *find_problems(hosts, base_dir=cwd)]
    if problems:
        raise InventoryError(merge_same_problems(problems))


def require_valid_inventory(state=None) -> None:
    """
    Validate the whole inventory of the current pyinfra run (once per run) and
    raise InventoryError if anything is wrong. Call it before any operation.
    """

    if state is None:
        state = ctx_state.get()

    if state not in _problems_by_state:
        hosts = entries_from_pyinfra(state.inventory)
        _problems_by_state[state] = find_problems(hosts, base_dir=state.cwd)

    problems = _problems_by_state[state]
    if problems:
        raise InventoryError(problems)


class BundleRefused(Refused):
    """The provisioner's bundle is missing, incomplete or corrupted: one row
    per bad file, each with its fix."""

    @classmethod
    def heading(cls, problems: list[Problem]) -> str:
        return f"the bundle is refused ({count(problems, 'problem')}), nothing was changed on any host:"


def bundle_problems(bundle_dir: str, error: BundleError) -> list[Problem]:
    where = f"provisioner, bundle_dir={bundle_dir}"
    if isinstance(error, VerifyError):
        return [Problem(where, "bundle_dir", problem.what, problem.fix) for problem in error.problems]
    return [Problem(where, "bundle_dir", str(error), f"run `python -m convecthub.bundle build {bundle_dir}`")]


# One full check of the bundle per run, whichever host asks first.
_bundles_by_state: WeakKeyDictionary = WeakKeyDictionary()


def require_verified_bundle(bundle_dir: str, state=None) -> Manifest:
    """
    Check every file of the bundle on the provisioner against bundle.json
    (sizes and sha256) once per run, before any operation, and return its
    manifest. A relative ``bundle_dir`` is relative to where pyinfra runs.
    """

    if state is None:
        state = ctx_state.get()

    if state not in _bundles_by_state:
        path = Path(state.cwd or ".") / bundle_dir
        try:
            _bundles_by_state[state] = verify_bundle(path)
        except BundleError as error:
            _bundles_by_state[state] = error
    result = _bundles_by_state[state]
    if isinstance(result, BundleError):
        raise BundleRefused(bundle_problems(bundle_dir, result))
    return result
