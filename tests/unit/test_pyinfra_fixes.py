"""Every symbol of pyinfra (or gevent) that convecthub/pyinfra_fixes patches
or reads, as the fixes were written against it (each module's CONTRACT). A
pyinfra upgrade that changes one fails here, before it reaches a cluster."""

import importlib
import inspect
import pkgutil

import pytest

import convecthub.pyinfra_fixes as fixes

MODULES = [importlib.import_module(f"{fixes.__name__}.{info.name}") for info in pkgutil.iter_modules(fixes.__path__)]


def resolve(dotted: str):
    """The object at ``a.b.C.d``: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            target = getattr(target, name)
        return target
    raise ImportError(dotted)


def described(target) -> str:
    """A callable's signature (of what our wrappers wrap), else its repr."""
    if callable(target) and not isinstance(target, type):
        return str(inspect.signature(inspect.unwrap(target)))
    return repr(target)


CASES = [(module.__name__, dotted, expected) for module in MODULES for dotted, expected in module.CONTRACT.items()]


def test_every_fix_module_states_its_contract_and_when_it_can_go():
    assert {module.__name__.rpartition(".")[2] for module in MODULES} >= {
        "changes",
        "connection",
        "host_keys",
        "interrupt",
        "sudo",
    }
    for module in MODULES:
        assert module.CONTRACT, module.__name__
        assert "Upstream:" in module.__doc__ and "Can go when" in module.__doc__, module.__name__


@pytest.mark.parametrize(("fix", "dotted", "expected"), CASES, ids=[case[1] for case in CASES])
def test_pyinfra_still_has_what_the_fix_was_written_against(fix, dotted, expected):
    assert described(resolve(dotted)) == expected, f"{fix} was written against {dotted}{expected}"


def test_the_check_sees_a_changed_signature():
    def changed(host, temp_dir, extra):
        return ""

    assert described(changed) != fixes.sudo.CONTRACT["pyinfra.connectors.util._ensure_sudo_askpass_set_for_host"]
