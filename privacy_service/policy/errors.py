"""What is wrong with a policies directory, by file and line.

A bad policy file stops start-up, so these are not domain errors answered over
HTTP: the operator reads them on the terminal and fixes the file. Every
problem names the file, the line (where one is known) and what is wrong, and
never quotes a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PolicyProblem:
    """One thing wrong in one file; ``line`` is 1-based, None when it concerns the whole file."""

    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return f"{where}: {self.message}"


class PolicyError(Exception):
    """The policies cannot be used; ``problems`` lists every problem found in every file."""

    code = "policy_invalid"

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))
