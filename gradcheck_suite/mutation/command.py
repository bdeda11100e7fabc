"""``gradcheck-suite mutate [PATH ...]``: the mutation score of a case library.

Loaded by :mod:`gradcheck_suite.cli` as a plug-in (``add_parser``/``main``).  Prints the
report (text, Markdown or JSON) or writes it to ``--out``; exit 0 when every
non-equivalent mutant is caught, 1 when one survives, 2 on errors (cases that do not
load or do not pass un-mutated, an unknown primitive, nothing to mutate).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import DEFAULT_PATHS, positive_int
from ..errors import GradcheckError
from .mutants import KINDS, RULES
from .render import FORMATS, render

__all__ = ["add_parser", "main"]


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]



def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``mutate`` command; returns its parser."""
    p = subparsers.add_parser(
        "mutate", help="mutation score of a case library",
        description="Replace each primitive's VJP and JVP rules, one argument and one kind at a time, with "
                    "wrong ones (sign flipped, scaled by 2, zero, unbroadcast dropped, operands swapped, "
                    "transposed) and check that some case fails.  Exit 0 every non-equivalent mutant caught, "
                    "1 a survivor, 2 errors.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="case files or folders (default: cases/)")
    p.add_argument("--primitive", action="append", type=_names, metavar="NAME",
                   help="mutate only these primitives (repeatable or comma list; default: all)")
    p.add_argument("--rule", choices=RULES, action="append", help="only VJP or only JVP rules (default: both)")
    p.add_argument("--kind", action="append", type=_names, metavar="KIND",
                   help=f"only these kinds (repeatable or comma list): {', '.join(KINDS)}")
    p.add_argument("--jobs", "-j", type=positive_int, default=1, metavar="N", help="primitives in N parallel processes")
    p.add_argument("--seed", type=int, default=0, help="run seed for generated inputs and probes (default 0)")
    p.add_argument("--format", dest="mutate_format", choices=FORMATS, default="text", help="default: text")
    p.add_argument("--out", metavar="FILE", help="write the report here instead of standard output")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(handler=main)
    return p


def _flat(lists: list[list[str]] | None) -> list[str] | None:
    return list(dict.fromkeys(x for xs in lists for x in xs)) if lists else None


def main(args: argparse.Namespace) -> int:
    """Run the mutation score and print or write the report; returns the exit code."""
    from ..report import progress_bar
    from ..report.atomic import write_atomic
    from .score import mutation_score

    if args.seed < 0:
        raise GradcheckError(f"the seed must be a non-negative integer, got {args.seed}")
    kinds = _flat(args.kind)
    for kind in kinds or ():
        if kind not in KINDS:
            raise GradcheckError(f"unknown mutant kind {kind!r}: use one of {', '.join(KINDS)}")
    paths = args.paths or list(DEFAULT_PATHS)
    with progress_bar(not args.quiet) as progress:
        result = mutation_score(paths, _flat(args.primitive), rules=args.rule or RULES, kinds=kinds,
                                jobs=args.jobs, seed=args.seed, progress=progress)
    if not result.outcomes and not result.errors:
        result.errors.append("nothing to mutate: no selected primitive has a differentiable argument")
    if not result.cases:
        result.errors.append(f"no case found under {', '.join(paths)}")
    text = render(result, args.mutate_format)
    if args.out:
        write_atomic(args.out, text)
        print(text.splitlines()[0] if args.mutate_format == "text" else f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    return result.exit_code
