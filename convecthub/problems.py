"""
A problem found in an inventory, and the error that carries a list of them.

Problems name where (host, or a line of an INI file), which variable, what is
wrong and how to fix it. They never contain a secret value: the code that
builds them says *that* a secret is wrong, never what it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pyinfra.api.exceptions import PyinfraError


@dataclass(frozen=True)
class Problem:
    where: str  # a host name, several joined by ", ", or "inv.toml line 3"
    variable: str  # a variable or group name
    message: str  # what is wrong, as a phrase following the variable name
    fix: str  # what to do, as an imperative phrase

    @property
    def text(self) -> str:
        return f"{self.where}: {self.variable} {self.message}. Fix: {self.fix}."


def merge_same_problems(problems: Iterable[Problem]) -> list[Problem]:
    """
    One row per distinct problem: a mistake in ``[all:vars]`` shows once, naming
    every host it affects, instead of once per host.
    """

    merged: dict[tuple[str, str, str], list[str]] = {}
    for problem in problems:
        key = (problem.variable, problem.message, problem.fix)
        places = merged.setdefault(key, [])
        if problem.where not in places:
            places.append(problem.where)

    return [Problem(", ".join(places), variable, message, fix) for (variable, message, fix), places in merged.items()]


def format_problems(problems: list[Problem]) -> str:
    """The list printed to the operator: where, then what is wrong, then the fix."""

    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    lines = [f"the inventory has {count}, nothing was run on any host:"]
    for problem in problems:
        lines.append("")
        lines.append(f"    {problem.where}")
        lines.append(f"        {problem.variable} {problem.message}")
        lines.append(f"        fix: {problem.fix}")
    return "\n".join(lines)


class InventoryError(PyinfraError):
    """
    Raised before any operation when the inventory has problems. A PyinfraError,
    so the pyinfra CLI prints it without a traceback and exits 1.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(format_problems(problems))
