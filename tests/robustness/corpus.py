"""The bad-input corpus (``tests/bad_cases/``): its files and what each must produce.

The directives are the leading comment lines of each file (``tests/bad_cases/README.md``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BAD_CASES", "GOOD_CASES", "Expectation", "corpus", "MARKER_PREFIX"]

BAD_CASES = Path(__file__).resolve().parents[1] / "bad_cases"
#: a file with good cases, run together with the corpus
GOOD_CASES = Path(__file__).resolve().parent / "good_cases.yaml"
#: files the unsafe-tag cases would create if anything in them were executed
MARKER_PREFIX = "pwned"


@dataclass
class Expectation:
    """What one corpus file must produce."""

    name: str
    about: str = ""
    errors: list[str] = field(default_factory=list)  # exact one-line load errors
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (check, status, message)
    passes: bool = False
    load_with: str | None = None

    @property
    def path(self) -> Path:
        return BAD_CASES / self.name


def _read(path: Path) -> Expectation:
    found = Expectation(path.name)
    text = path.read_bytes().decode("utf-8", "replace")
    for line in text.split("\n"):
        if not line.startswith("#"):
            break
        directive, _, rest = line[1:].strip().partition(":")
        rest = rest.strip()
        if directive == "about":
            found.about = rest
        elif directive == "expect":
            found.errors.append(rest)
        elif directive == "expect-row":
            head, _, message = rest.partition(": ")
            check, status = head.split(" ")
            found.rows.append((check, status, message))
        elif directive == "expect-pass":
            found.passes = True
        elif directive == "load-with":
            found.load_with = rest
        else:
            raise ValueError(f"{path.name}: unknown directive {line!r}")
    return found


def corpus() -> list[Expectation]:
    """Every corpus file's expectation, by file name."""
    return [_read(p) for p in sorted(BAD_CASES.glob("*.yaml"))]
