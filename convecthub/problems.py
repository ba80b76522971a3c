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


def count(items, noun: str) -> str:
    return f"{len(items)} {noun}{'s' if len(items) != 1 else ''}"


def render(heading: str, problems: list[Problem]) -> str:
    """The one table of problems printed to the operator: the heading, then
    one block per place (a host, hosts sharing a problem, a line of an INI
    file), in order; in each, what is wrong and the fix."""
    lines = [heading]
    by_where: dict[str, list[Problem]] = {}
    for problem in problems:
        by_where.setdefault(problem.where, []).append(problem)
    for where, rows in by_where.items():
        lines += ["", f"    {where}"]
        for index, problem in enumerate(rows):
            lines += [""] if index else []
            lines += [f"        {problem.variable}: {problem.message}", f"        fix: {problem.fix}"]
    return "\n".join(lines)


class Refused(PyinfraError):
    """
    The one way to refuse an operator's mistake: a list of problems, each
    naming where, the variable as the operator wrote it, what is wrong and
    the fix. A PyinfraError: the pyinfra CLI prints the table without a
    traceback and exits 1. Subclasses say what refused (``heading``).
    """

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(render(self.heading(problems), problems))

    @classmethod
    def heading(cls, problems: list[Problem]) -> str:
        return f"refused: {count(problems, 'problem')}, nothing was changed on any host:"


def format_problems(problems: list[Problem]) -> str:
    """The inventory's table (InventoryError's text)."""
    return render(InventoryError.heading(problems), problems)


class InventoryError(Refused):
    """
    Raised before any operation when the inventory has problems.
    """

    @classmethod
    def heading(cls, problems: list[Problem]) -> str:
        return f"the inventory has {count(problems, 'problem')}, nothing was run on any host:"
