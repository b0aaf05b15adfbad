"""Errors raised on bad input: ``ScenarioError`` names the file, the field and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file.

    Parameters
    ----------
    field : str
        Dotted name of the offending field, e.g. ``forces.RU.posture.block``.
    message : str
        What is wrong, e.g. ``= 1.4 must be in [0, 1]``.
    fix : str
        What is allowed or what to do instead.
    """

    field: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.field} {self.message}" if self.field else self.message
        return f"{text} ({self.fix})" if self.fix else text


class ScenarioError(ValueError):
    """Bad input: a scenario, network, sweep file or command-line value.

    Every problem found in one pass is reported together, each naming the
    file, the dotted field and what is allowed.

    Parameters
    ----------
    source : str or Path
        The file (or ``"command line"``) the problems were found in.
    problems : list of Problem
        At least one problem.
    """

    def __init__(self, source: str | Path, problems: list[Problem]) -> None:
        self.source = str(source)
        self.problems = list(problems)
        super().__init__(self._render())

    @classmethod
    def single(cls, source: str | Path, field: str, message: str, fix: str = "") -> ScenarioError:
        """Build an error with one problem."""
        return cls(source, [Problem(field, message, fix)])

    def _render(self) -> str:
        name = Path(self.source).name if "/" in self.source else self.source
        if len(self.problems) == 1:
            return f"{name}: {self.problems[0]}"
        lines = [f"{name}: {len(self.problems)} problems"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)
