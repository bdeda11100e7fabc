"""The two commands of the answer key: ``explain`` and ``grade``.

``gradcheck-suite explain CASE [--path PATH ...] [--format text|md|html|tex] [--blank] [--out FILE]
[--lang en|zh] [--variant ID]`` prints (or writes) the answer key of one case; ``--blank``
gives the exercise sheet, ``--variant`` a student's own numbers.
``gradcheck-suite grade ANSWERS... [--path PATH ...] [--out DIR] [--assignment FILE] [--jobs N]``
grades students' answers files and code (files or folders): exit 0 every claim right, 1
students' mistakes (recorded), 2 the instructor's setup is broken (see :mod:`.gradebook`).

Each command has ``add_*_parser(subparsers)`` and a ``*_main(args) -> int``;
``add_parser``/``main`` add and run both (dispatching on ``args.command``).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..case import DTYPES
from ..cli import DEFAULT_PATHS
from ..errors import CaseError, GradcheckError, suggest
from .wording import LANGS

__all__ = ["add_parser", "main", "add_explain_parser", "explain_main", "add_grade_parser", "grade_main",
           "find_case", "render", "render_grades", "FORMATS"]

FORMATS = ("text", "md", "html", "tex")


def add_explain_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "explain", help="explain a case step by step (the answer key)",
        description="The answer key of one case: decomposition, forward and backward pass, Jacobian "
                    "chain, closed form, the three routes, graded claims, graph and step-size pictures.")
    p.add_argument("case", metavar="CASE", help="name of the case")
    p.add_argument("--path", action="append", metavar="PATH", help="case file or folder (repeatable; default cases/)")
    p.add_argument("--format", dest="explain_format", choices=FORMATS, default="text", help="default: text")
    p.add_argument("--blank", action="store_true", help="the exercise sheet: every derivative value blanked")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--dtype", choices=DTYPES, help="default: the case's first dtype")
    p.add_argument("--seed", type=int, default=0, help="run seed added to generated inputs (default 0)")
    p.add_argument("--full", action="store_true", help="text format: every element of every array")
    p.add_argument("--order", type=int, choices=(1, 2), help="2: add the Hessian section (default: the case's order)")
    p.add_argument("--no-harness", action="store_true", help="leave out the three-routes section (faster)")
    p.add_argument("--lang", choices=LANGS, default="en", help="language of headings and labels (default en)")
    p.add_argument("--variant", metavar="ID",
                   help="a student's variant: the inputs moved to values chosen from ID (a number or a student id)")
    p.set_defaults(handler=explain_main)
    return p


def add_grade_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "grade", help="grade students' answers files and code (a class in one go)",
        description="Grade students' claimed derivatives and their numpy backward functions (see "
                    "docs/answer-key.md for the files; code needs an assignment with a code: section and runs "
                    "each submission in its own process). Exit 0 every claim right, 1 students' mistakes "
                    "(recorded in the gradebook), 2 the instructor's setup is broken (cases, assignment, no "
                    "submission).")
    p.add_argument("answers", metavar="ANSWERS", nargs="+",
                   help="answers files (*.yaml), students' code (*.py), or folders of them")
    p.add_argument("--path", action="append", metavar="PATH", help="case file or folder (repeatable; default cases/)")
    p.add_argument("--format", dest="grade_format", choices=("text", "md"), default="text")
    p.add_argument("--out", dest="grade_out", metavar="DIR",
                   help="write gradebook.csv, feedback/STUDENT.{md,html} and summary.md here")
    p.add_argument("--assignment", metavar="FILE", help="tolerance, random points, points and partial credit")
    p.add_argument("--lang", dest="grade_lang", choices=LANGS, default="en", help="language of the feedback")
    p.add_argument("--jobs", dest="grade_jobs", type=_jobs, default=1, metavar="N",
                   help="code submissions graded N at a time (each always in its own process; default 1)")
    p.set_defaults(handler=grade_main)
    return p


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(f"--jobs takes a number from 1 to 64, not {text!r}")
    return n


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add both commands; returns the ``explain`` parser."""
    p = add_explain_parser(subparsers)
    add_grade_parser(subparsers)
    return p


def main(args: argparse.Namespace) -> int:
    """Run the command named by ``args.command`` (``explain`` or ``grade``)."""
    return grade_main(args) if getattr(args, "command", "") == "grade" else explain_main(args)


def find_case(name: str, paths: list[str]) -> Any:
    """Load the cases under ``paths`` and return the one called ``name`` (CaseError if none)."""
    from ..loader import load_paths

    loaded = load_paths(paths)
    for case in loaded.cases:
        if case.name == name:
            return case
    for err in loaded.errors:
        print(f"warning: {err}", file=sys.stderr)
    known = [c.name for c in loaded.cases]
    raise CaseError(f"no case named {name!r} under {', '.join(paths)}{suggest(name, known)}")


def render(ex: Any, fmt: str, *, colour: bool = False, full: bool = False) -> str:
    """The explanation in ``fmt`` (text, md, html or tex)."""
    if fmt == "tex":
        from .tex import render_tex
        return render_tex(ex)
    if fmt == "html":
        from .html import render_html
        return render_html(ex)
    if fmt == "md":
        from .markdown import render_markdown
        return render_markdown(ex)
    from .text import render_text
    return render_text(ex, colour=colour, full=full)


def _write(text: str, out: str | None) -> None:
    if not out:
        sys.stdout.write(text)
        return
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, out)


def explain_main(args: argparse.Namespace) -> int:
    """``explain``: 0 written, 2 the case could not be found, loaded or evaluated."""
    from .build import explain_case

    paths = args.path or list(DEFAULT_PATHS)
    case = find_case(args.case, paths)
    try:
        ex = explain_case(case, dtype=args.dtype, run_seed=args.seed, harness=not (args.no_harness or args.blank),
                          sweep=not args.blank, lang=getattr(args, "lang", "en"), full=args.full,
                          variant=getattr(args, "variant", None), order=getattr(args, "order", None))
    except GradcheckError as exc:
        raise exc.located(file=case.file, case=case.name)
    if args.blank:
        ex = ex.blanked()
    colour = args.explain_format == "text" and not args.out and sys.stdout.isatty() \
        and "NO_COLOR" not in os.environ
    _write(render(ex, args.explain_format, colour=colour, full=args.full), args.out)
    if args.out:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def render_grades(report: Any, fmt: str = "text") -> str:
    """A grade report as text or Markdown: one line per claim (with its diagnosis), then the totals."""
    from .wording import claim_where

    right = sum(g.verdict == "right" for g in report.grades)
    lines = []
    if fmt == "md":
        lines += [f"# Grades for {report.file}" + (f" ({report.student})" if report.student else ""), "",
                  "| case | input | claim | verdict | points | where and by how much |", "|---|---|---|---|---|---|"]
        for g in report.grades:
            cells = [g.case, g.input, f"`{g.claim}`", f"**{g.verdict}**", f"{g.points:g}/{g.max_points:g}",
                     claim_where(g)]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    else:
        lines.append(f"== {report.file}" + (f" ({report.student})" if report.student else ""))
        for g in report.grades:
            if g.kind == "code":
                lines.append(f"{g.verdict.upper():10}  {g.case}: {g.claim}")
            else:
                what = "value ∂/∂" if g.kind == "value" else "∂/∂"
                lines.append(f"{g.verdict.upper():10}  {g.case}: {what}{g.input} = {g.claim}")
            where = claim_where(g)
            if g.verdict != "right" and where:
                lines.append(f"            {where}")
    if report.file_error:
        lines.append(f"unreadable: {report.file_error}")
    for e in report.errors:
        lines.append(f"error: {e}")
    lines.append(f"{right} of {len(report.grades)} claim(s) right; {report.points:g} of {report.max_points:g} point(s)"
                 + (f"; {len(report.errors)} error(s)" if report.errors else ""))
    return "\n".join(lines) + "\n"


def grade_main(args: argparse.Namespace) -> int:
    """``grade``: 0 every claim right, 1 students' mistakes, 2 the instructor's setup is broken."""
    from .gradebook import Assignment, grade_class, read_assignment, write_gradebook

    assignment = Assignment()
    if getattr(args, "assignment", None):
        assignment = read_assignment(args.assignment)  # an AnswersError is a located setup error: exit 2
    result = grade_class(args.answers, args.path or list(DEFAULT_PATHS), assignment,
                         jobs=getattr(args, "grade_jobs", 1))
    for e in result.setup_errors:
        print(f"error: {e}", file=sys.stderr)
    for report in result.reports:
        sys.stdout.write(render_grades(report, getattr(args, "grade_format", "text")))
    if len(result.reports) > 1:
        right = sum(g.verdict == "right" for r in result.reports for g in r.grades)
        total = sum(len(r.grades) for r in result.reports)
        print(f"class: {len(result.reports)} submission(s), {right} of {total} claim(s) right")
    if getattr(args, "grade_out", None):
        written = write_gradebook(result, args.grade_out, lang=getattr(args, "grade_lang", "en"))
        print(f"wrote {len(written)} file(s) into {args.grade_out}", file=sys.stderr)
    return result.exit_code
