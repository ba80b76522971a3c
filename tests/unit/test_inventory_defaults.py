"""group_data/all.py, the variable catalogue and docs/inventory.md stay in step."""

import ast
import runpy
from pathlib import Path

from convecthub.inventory.variables import (
    BOOLEAN_VARIABLES,
    CONVECTHUB_VARIABLES,
    LOCAL_FILE_VARIABLES,
    PORT_VARIABLES,
    PYINFRA_DEFAULTS,
    SECRET_VARIABLES,
)

REPO = Path(__file__).resolve().parents[2]
ALL_PY = REPO / "group_data" / "all.py"


def test_group_data_defines_exactly_the_catalogued_variables_in_order():
    tree = ast.parse(ALL_PY.read_text())
    names = [node.targets[0].id for node in tree.body if isinstance(node, ast.Assign)]

    assert names == list(CONVECTHUB_VARIABLES) + list(PYINFRA_DEFAULTS)


def test_every_assignment_has_a_comment_saying_why():
    # Each variable, or the block of assignments it belongs to, follows a comment.
    lines = ALL_PY.read_text().splitlines()
    for node in ast.parse(ALL_PY.read_text()).body:
        if not isinstance(node, ast.Assign):
            continue
        above = node.lineno - 2
        while lines[above].split("=")[0].strip().isidentifier() and "=" in lines[above]:
            above -= 1
        assert lines[above].startswith("#"), node.targets[0].id


def test_defaults_have_the_right_types_and_no_secret():
    defaults = runpy.run_path(str(ALL_PY))

    for name in BOOLEAN_VARIABLES:
        assert isinstance(defaults[name], bool), name
    for name in PORT_VARIABLES:
        if name in defaults:
            assert isinstance(defaults[name], int) and 1 <= defaults[name] <= 65535, name
    for name in SECRET_VARIABLES:
        assert defaults.get(name) is None, name
    for name in LOCAL_FILE_VARIABLES:
        assert defaults[name] is None, name
    assert defaults["my_iface"] is None  # per host, required


def test_docs_table_lists_every_variable():
    docs = (REPO / "docs" / "inventory.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in docs.splitlines() if line.startswith("| `")}

    assert set(CONVECTHUB_VARIABLES) | set(PYINFRA_DEFAULTS) <= rows
