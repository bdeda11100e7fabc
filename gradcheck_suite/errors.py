"""The project's own error type: every problem a user can cause carries its location.

A :class:`CaseError` names the file, and as far as known the line, the column, the
case, the step or key — and says what to do.  Its ``str`` is one line, the form every
command prints instead of a traceback:

    cases/bad.yaml:4:12: case 'sig', step 'y': unknown primitive 'sigmoidd' (did you mean 'sigmoid'?)
"""
from __future__ import annotations

import difflib
from typing import Iterable

__all__ = ["GradcheckError", "CaseError", "EvalError", "LimitError", "SkippedPath", "suggest"]


class GradcheckError(Exception):
    """Base class of every error gradcheck-suite reports to a user."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 col: int | None = None, case: str | None = None, step: str | None = None,
                 key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.col = col
        self.case = case
        self.step = step
        self.key = key

    def located(self, **where: object) -> "GradcheckError":
        """Fill in location fields that are still unknown (returns self)."""
        for k, v in where.items():
            if v is not None and getattr(self, k, None) in (None, 0):
                setattr(self, k, v)
        return self

    @property
    def location(self) -> str:
        """``file:line:col`` as far as known ("" if nothing is)."""
        parts = [self.file or ""]
        if self.line:
            parts.append(str(self.line))
            if self.col:
                parts.append(str(self.col))
        return ":".join(parts) if parts[0] or len(parts) > 1 else ""

    def __str__(self) -> str:
        where = []
        if self.case:
            where.append(f"case {self.case!r}")
        if self.step:
            where.append(f"step {self.step!r}")
        elif self.key:
            where.append(f"key {self.key!r}")
        text = self.message
        if where:
            text = ", ".join(where) + ": " + text
        loc = self.location
        return f"{loc}: {text}" if loc else text


class CaseError(GradcheckError):
    """A case file that cannot be read, parsed or checked for shapes."""


class EvalError(GradcheckError):
    """A case that parsed but could not be evaluated (shapes, domains, non-finite values)."""


class LimitError(CaseError):
    """A case beyond a configured limit (array size, expression depth or length, time)."""


class SkippedPath(GradcheckError):
    """Not an error: a path a folder walk left out, and why (a ``skip`` row, a line on stderr)."""


def suggest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the nearest known name, or ""."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
