"""Batch grading: a class's answers files graded in one process, into a gradebook.

``grade_class(paths, case_paths, assignment)`` grades every answers file found under
``paths`` (files, or folders searched for ``*.yaml``/``*.yml``) against the cases
loaded *once* from ``case_paths``.  ``write_gradebook(result, DIR)`` writes:

``gradebook.csv``
    one row per graded claim: :data:`GRADEBOOK_COLUMNS`.  ``kind`` is ``formula`` (a
    claimed derivative), ``value`` (a numeric blank of the sheet) or ``code`` (one
    argument's gradient from a student's backward function, :mod:`.grade_code`).
``feedback/STUDENT.md`` and ``feedback/STUDENT.html``
    each student's claims with verdict, points and what is wrong.
``summary.md``
    the class: per claim how many are right and the most common diagnoses; per student
    the points.

Submissions are answers files (``*.yaml``) and students' code (``*.py``, graded when
the assignment has a ``code:`` section; each in its own process, ``jobs`` at a time).

Exit codes (:attr:`ClassResult.exit_code`): 0 every claim of every student right;
1 students made mistakes (all recorded in the gradebook — an unreadable file, a
claim that does not parse, a wrong value, code that raises, hangs or does not import);
2 the instructor's setup is broken (a case file that does not load, an assignment file
that does not read or names a case that does not exist, no submission found, code
submissions without a ``code:`` section).

The assignment file (optional, ``--assignment``)::

    tolerance: {rtol: 1e-5, atol: 1e-9}   # for every claim of the assignment
    random_points: 4                      # besides the case's point
    points:                               # default 1 per claim
      seed_two_paths: {x: 2, y: 2}
      seed_sigmoid_affine: 3              # every claim of the case
    partial_credit:                       # fraction of the points per diagnosis
      sign: 0.5
      missing_path: 0.5
    code:                                 # students' functions (see grade_code)
      functions: [{case: course_affine, backward: affine_backward}]
"""
from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import jinja2
import yaml
from markupsafe import Markup

from ..errors import suggest
from .grade import RANDOM_POINTS, AnswersError, GradeReport, grade_report
from .grade_code import CodeAssignment, check_tasks, code_submissions, grade_submissions, read_code_section
from .model import ClaimGrade

__all__ = ["Assignment", "read_assignment", "submission_files", "ClassResult", "grade_class", "write_gradebook",
           "GRADEBOOK_COLUMNS", "DIAGNOSIS_KINDS", "student_name"]

#: the columns of gradebook.csv, in order
GRADEBOOK_COLUMNS = ("student", "file", "variant", "case", "kind", "of", "claim", "verdict", "points", "max_points",
                     "diagnosis_kind", "diagnosis", "message")
#: the diagnoses partial credit can be given for
DIAGNOSIS_KINDS = ("sign", "factor", "transpose", "missing_path", "local", "number", "shape", "batch_sum")
_ASSIGNMENT_KEYS = ("tolerance", "random_points", "points", "partial_credit", "code")


@dataclass
class Assignment:
    """How an assignment is graded: tolerance, random points, points and partial credit."""

    tolerance: dict[str, float] | None = None
    random_points: int = RANDOM_POINTS
    points: dict[str, Any] = field(default_factory=dict)
    partial_credit: dict[str, float] = field(default_factory=dict)
    code: CodeAssignment | None = None

    def max_points(self, case: str, of: str) -> float:
        p = self.points.get(case, 1.0)
        if isinstance(p, dict):
            return float(p.get(of, 1.0))
        return float(p)


def read_assignment(path: str) -> Assignment:
    """Read an assignment file; :class:`AnswersError` (an instructor's error) if it is wrong."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AnswersError(f"cannot read the assignment file: {exc}", file=path) from None
    if not isinstance(data, dict):
        raise AnswersError("an assignment file is a mapping (tolerance, random_points, points, partial_credit, "
                           "code)", file=path)
    for key in data:
        if key not in _ASSIGNMENT_KEYS:
            raise AnswersError(f"unknown key {key!r}{suggest(str(key), _ASSIGNMENT_KEYS)}", file=path, key=str(key))
    a = Assignment()
    try:
        if data.get("tolerance") is not None:
            a.tolerance = {k: float(v) for k, v in dict(data["tolerance"]).items() if k in ("rtol", "atol")}
        a.random_points = int(data.get("random_points", RANDOM_POINTS))
        a.points = dict(data.get("points") or {})
        a.partial_credit = {str(k): float(v) for k, v in dict(data.get("partial_credit") or {}).items()}
    except (TypeError, ValueError) as exc:
        raise AnswersError(f"a value of the assignment file is not a number: {exc}", file=path) from None
    for kind, frac in a.partial_credit.items():
        if kind not in DIAGNOSIS_KINDS:
            raise AnswersError(f"partial_credit: unknown diagnosis {kind!r}{suggest(kind, DIAGNOSIS_KINDS)}",
                               file=path)
        if not 0 <= frac <= 1:
            raise AnswersError(f"partial_credit: {kind} must be a fraction between 0 and 1, not {frac}", file=path)
    if not 0 <= a.random_points <= 50:
        raise AnswersError("random_points must be between 0 and 50", file=path)
    if "code" in data:
        a.code = read_code_section(data["code"], path)
    return a


def submission_files(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """(answers files, setup errors): each path a file or a folder of ``*.yaml``/``*.yml`` files
    (``*.py`` files are code submissions: :func:`.grade_code.code_submissions`)."""
    files: list[str] = []
    errors: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(str(f) for f in path.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file())
            if not found and not any(f.is_file() for f in path.rglob("*.py")):
                errors.append(f"{p}: no answers file (*.yaml) or code (*.py) in this folder")
            files.extend(found)
        elif path.is_file() and path.suffix == ".py":
            continue
        elif path.is_file():
            files.append(str(path))
        else:
            errors.append(f"{p}: no such file or folder")
    return files, errors


@dataclass
class ClassResult:
    """Every answers file's report, and the instructor's setup errors."""

    reports: list[GradeReport] = field(default_factory=list)
    setup_errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.setup_errors or any(r.errors for r in self.reports):
            return 2
        return 1 if any(r.exit_code for r in self.reports) else 0


def _score(g: ClaimGrade, assignment: Assignment) -> None:
    g.max_points = assignment.max_points(g.case, g.input)
    if g.verdict == "right":
        g.points = g.max_points
    else:
        g.points = g.max_points * assignment.partial_credit.get(g.diagnosis_kind, 0.0)


def grade_class(paths: Iterable[str], case_paths: Iterable[str], assignment: Assignment | None = None,
                *, jobs: int = 1) -> ClassResult:
    """Grade every answers file and code submission under ``paths``; the cases are loaded once.

    Code submissions run each in its own process, ``jobs`` of them at a time.
    """
    from ..loader import load_paths

    assignment = assignment or Assignment()
    paths = list(paths)
    files, errors = submission_files(paths)
    code_subs = code_submissions(paths, assignment.code.module if assignment.code else None)
    if code_subs and assignment.code is None:
        errors.append(f"{len(code_subs)} code submission(s) (*.py) but no assignment names the functions to grade: "
                      "give --assignment FILE with a code: section (docs/answer-key.md)")
        code_subs = []
    result = ClassResult(setup_errors=errors)
    loaded = load_paths(list(case_paths))
    result.setup_errors.extend(str(e) for e in loaded.errors)
    if not loaded.cases:
        result.setup_errors.append(f"no case found under {', '.join(case_paths)}")
    by_name = {c.name: c for c in loaded.cases}
    for f in files:
        report = grade_report(f, by_name, random_points=assignment.random_points, tolerance=assignment.tolerance)
        for g in report.grades:
            _score(g, assignment)
        result.reports.append(report)
    if assignment.code is not None:
        problems = check_tasks(assignment.code, by_name)
        result.setup_errors.extend(problems)
        if not problems and by_name:
            for report in grade_submissions(code_subs, assignment.code, by_name, jobs=jobs):
                for g in report.grades:
                    _score(g, assignment)
                result.reports.append(report)
    if not files and not code_subs and not errors:
        result.setup_errors.append("no submission found")
    return result


def student_name(report: GradeReport) -> str:
    """The student's name, or the answers file's name without its suffix."""
    return report.student or Path(report.file).stem


def _rows(result: ClassResult) -> list[dict[str, Any]]:
    rows = []
    for r in result.reports:
        if r.file_error:
            rows.append(dict(student=student_name(r), file=r.file, variant=r.variant, case="", kind="file", of="",
                             claim="", verdict="unreadable", points=0, max_points=0, diagnosis_kind="",
                             diagnosis="", message=r.file_error))
        for g in r.grades:
            rows.append(dict(student=student_name(r), file=r.file, variant=r.variant, case=g.case, kind=g.kind,
                             of=g.input, claim=g.claim, verdict=g.verdict, points=round(g.points, 4),
                             max_points=g.max_points, diagnosis_kind=g.diagnosis_kind, diagnosis=g.diagnosis,
                             message=g.message))
    return rows


_FEEDBACK_HTML = jinja2.Environment(autoescape=True).from_string(r"""<!DOCTYPE html>
<html lang="{{ 'zh-Hans' if lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<title>{{ L.feedback }}: {{ name }}</title><style>{{ css }} body{margin:1em 2em} th{white-space:nowrap}</style></head>
<body><section class="answer-key">
<h1>{{ L.feedback }}: {{ name }}</h1>
<p class="note">{{ report.file }}{% if report.variant %} · {{ L.variant }} {{ report.variant }}{% endif %} · {{ L.points }} {{ "%g"|format(report.points) }} / {{ "%g"|format(report.max_points) }}</p>
{% if report.file_error %}<p class="error">{{ L.unreadable }}: {{ report.file_error }}</p>{% endif %}
<table><tr><th>{{ L.case }}</th><th>{{ L.input }}</th><th>{{ L.claim }}</th><th>{{ L.verdict }}</th><th>{{ L.points }}</th><th>{{ L.diagnosis }}</th></tr>
{% for g in report.grades %}<tr><td><code>{{ g.case }}</code></td><td><code>{{ g.input }}</code></td><td><code>{{ g.claim }}</code></td><td class="{{ 'right' if g.verdict == 'right' else 'wrong' }}">{{ V(g.verdict) }}</td><td>{{ "%g"|format(g.points) }} / {{ "%g"|format(g.max_points) }}</td><td>{{ g.diagnosis }}{% if g.verdict != 'right' %}<br><span class="note">{{ g.message }}</span>{% endif %}</td></tr>
{% endfor %}</table></section></body></html>
""")


def _verdict_label(L: dict[str, str], verdict: str) -> str:
    return L.get({"number": "number", "shape": "shape_error"}.get(verdict, verdict), verdict)


def _feedback_md(report: GradeReport, L: dict[str, str]) -> str:
    out = [f"# {L['feedback']}: {student_name(report)}", "",
           f"{report.file}" + (f" · {L['variant']} {report.variant}" if report.variant else "")
           + f" · {L['points']} {report.points:g} / {report.max_points:g}", ""]
    if report.file_error:
        out += [f"**{L['unreadable']}**: {report.file_error}", ""]
    out += [f"| {L['case']} | {L['input']} | {L['claim']} | {L['verdict']} | {L['points']} | {L['diagnosis']} |",
            "|---|---|---|---|---|---|"]
    for g in report.grades:
        why = g.diagnosis + ("" if g.verdict == "right" or not g.message else
                             ((" — " if g.diagnosis else "") + g.message))
        cells = [f"`{g.case}`", f"`{g.input}`", f"`{g.claim}`", f"**{_verdict_label(L, g.verdict)}**",
                 f"{g.points:g} / {g.max_points:g}", why]
        out.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(out) + "\n"


def _summary_md(result: ClassResult, L: dict[str, str]) -> str:
    out = [f"# {L['summary']}", "", f"{len(result.reports)} answers file(s).", ""]
    if result.setup_errors:
        out += [f"**{L['error']}**:", ""] + [f"- {e}" for e in result.setup_errors] + [""]
    by_claim: dict[tuple[str, str, str], list[ClaimGrade]] = {}
    for r in result.reports:
        for g in r.grades:
            by_claim.setdefault((g.case, g.kind, g.input), []).append(g)
    out += [f"| {L['case']} | {L['input']} | {L['right']} | {L['diagnosis']} |", "|---|---|---|---|"]
    for (case, kind, of), grades in sorted(by_claim.items()):
        right = sum(g.verdict == "right" for g in grades)
        common = Counter(g.diagnosis_kind or g.verdict for g in grades if g.verdict != "right").most_common(3)
        out.append(f"| `{case}` | `{of}`{' (' + kind + ')' if kind != 'formula' else ''} | {right} / {len(grades)} | "
                   + ", ".join(f"{k} ×{n}" for k, n in common) + " |")
    out += ["", f"| {L['student']} | {L['points']} | {L['right']} |", "|---|---|---|"]
    for r in result.reports:
        right = sum(g.verdict == "right" for g in r.grades)
        out.append(f"| {student_name(r).replace('|', '/')} | {r.points:g} / {r.max_points:g} | {right} / {len(r.grades)}"
                   + (f" ({L['unreadable']})" if r.file_error else "") + " |")
    return "\n".join(out) + "\n"


def write_gradebook(result: ClassResult, out_dir: str, *, lang: str = "en") -> list[str]:
    """Write gradebook.csv, feedback/STUDENT.{md,html} and summary.md into ``out_dir``; returns the paths."""
    from ..report.results import unique_safe_name
    from .html import CSP, CSS
    from .wording import labels

    L = labels(lang)
    os.makedirs(os.path.join(out_dir, "feedback"), exist_ok=True)
    written = []
    path = os.path.join(out_dir, "gradebook.csv")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(GRADEBOOK_COLUMNS))
        writer.writeheader()
        writer.writerows(_rows(result))
    written.append(path)
    seen: set[str] = set()
    for r in result.reports:
        stem = unique_safe_name(student_name(r))
        if stem in seen:  # two files with the same student name: tell them apart by the file's name
            stem = unique_safe_name(f"{student_name(r)}-{Path(r.file).stem}")
        while stem in seen:
            stem += "_"
        seen.add(stem)
        md = os.path.join(out_dir, "feedback", stem + ".md")
        with open(md, "w", encoding="utf-8") as fh:
            fh.write(_feedback_md(r, L))
        page = os.path.join(out_dir, "feedback", stem + ".html")
        with open(page, "w", encoding="utf-8") as fh:
            fh.write(_FEEDBACK_HTML.render(report=r, name=student_name(r), L=L, lang=lang, csp=CSP, css=Markup(CSS),
                                           V=lambda v: _verdict_label(L, v)))
        written += [md, page]
    path = os.path.join(out_dir, "summary.md")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_summary_md(result, L))
    written.append(path)
    return written
