"""The two errors that reach a user: bad input (``InputError``) and a missing tool (``SetupError``).

``InputError`` names the file, the dotted field and the fix; every edge of the
package (scenario and sweep files, networks, the command line, run and sweep
folders) raises it before anything is written, and the CLI turns it into one
message and exit status 2. ``ScenarioError`` is the same class under its older name.

``SetupError`` is for what the user's machine lacks or cannot reach (ffmpeg for
an MP4, the npm registry for the app's browser files): not the input's fault, so
the CLI reports it with exit status 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input.

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


class InputError(ValueError):
    """Bad input: a scenario, network, sweep file, folder or command-line value.

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
    def single(cls, source: str | Path, field: str, message: str, fix: str = "") -> InputError:
        """Build an error with one problem."""
        return cls(source, [Problem(field, message, fix)])

    def _render(self) -> str:
        name = Path(self.source).name if "/" in self.source else self.source
        if len(self.problems) == 1:
            return f"{name}: {self.problems[0]}"
        lines = [f"{name}: {len(self.problems)} problems"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


#: The older name of :class:`InputError`, kept for code written against it.
ScenarioError = InputError


class SetupError(RuntimeError):
    """The machine lacks a tool or cannot reach a service that a command needs.

    Parameters
    ----------
    what : str
        What is missing or failed, e.g. ``"ffmpeg is not installed"``.
    fix : str
        How to get it, e.g. ``"install ffmpeg, or write a .gif"``.
    """

    def __init__(self, what: str, fix: str = "") -> None:
        self.what, self.fix = what, fix
        super().__init__(f"{what} ({fix})" if fix else what)
