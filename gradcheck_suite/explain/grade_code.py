"""Grading students' code: numpy backward functions, each submission in a process of its own.

The assignment's ``code:`` section names, per case, the function every student hands
in (``affine_backward(g, x, w, b) -> (dx, dw, db)``, and optionally their forward)::

    code:
      module: layers.py        # a folder per student holding layers.py; without it each *.py is a student
      time_limit: 10           # seconds per submission: its import and every call together
      seeds: [0, 1]            # the case's point with each run seed (generated inputs move)
      functions:
        - case: course_affine
          backward: affine_backward
        - case: course_batchnorm
          forward: batchnorm_forward       # the student's forward as well (returns (out, cache))
          backward: batchnorm_backward     # backward(g, cache)
          cache: true
        - case: course_softmax_loss
          backward: softmax_loss_backward
          args: [s, y]                      # the case's values the functions take (default: its inputs)

Each submission is imported only in a :class:`~.student_process.StudentProcess`; the
grader calls the student's functions there through the harness's own subject checks
(``subject_vs_hand``, ``subject_vs_torch``, ``subject_vs_fd``; ``subject_forward`` for a
forward), at every seed, and grades **each argument's gradient** as a claim of kind
``code`` (dx right, dW wrong: partial credit).  A wrong gradient is diagnosed from one
seeded backward call per point (:func:`.mistakes.diagnose_code`): a sign, a factor
(a mean for a sum), a transpose, a missing sum over the batch axis, a wrong shape.

Verdicts of code: ``right``, ``wrong``, ``shape``, ``crashed`` (raised, called
``sys.exit``, or the process died), ``timeout``, ``unreadable`` (a syntax error, an
import that fails), ``missing`` (no such function).  All are the student's (exit 1);
an assignment that names a case that does not exist is the instructor's (exit 2).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import suggest
from .grade import AnswersError, GradeReport
from .model import ClaimGrade
from .student_process import DEFAULT_TIME_LIMIT, StudentProcess, SubmissionRaised, SubmissionStopped

__all__ = ["CodeTask", "CodeAssignment", "read_code_section", "code_submissions", "grade_submission",
           "check_tasks", "Submission", "grade_submissions"]

_SECTION_KEYS = ("module", "time_limit", "seeds", "functions", "tolerance")
_TASK_KEYS = ("case", "backward", "forward", "args", "cache")
_SUBJECT_CHECKS = ("subject_vs_hand", "subject_vs_torch", "subject_vs_fd")


@dataclass(frozen=True)
class CodeTask:
    """One function every student provides, for one case."""

    case: str
    backward: str
    forward: str | None = None
    args: tuple[str, ...] | None = None
    cache: bool = False


@dataclass
class CodeAssignment:
    """The ``code:`` section of an assignment file."""

    functions: list[CodeTask]
    module: str | None = None
    time_limit: float = DEFAULT_TIME_LIMIT
    seeds: tuple[int, ...] = (0, 1)
    tolerance: dict[str, float] | None = None


def read_code_section(data: Any, path: str) -> CodeAssignment:
    """The ``code:`` section; :class:`AnswersError` (the instructor's) when it is wrong."""
    def fail(message: str) -> AnswersError:
        return AnswersError(f"code: {message}", file=path, key="code")

    if not isinstance(data, dict):
        raise fail("a mapping with functions: [{case: NAME, backward: FUNCTION}, …]")
    for key in data:
        if key not in _SECTION_KEYS:
            raise fail(f"unknown key {key!r}{suggest(str(key), _SECTION_KEYS)}")
    items = data.get("functions")
    if not isinstance(items, list) or not items:
        raise fail("functions: a list of {case: NAME, backward: FUNCTION} (at least one)")
    tasks = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("case"), str) \
                or not isinstance(item.get("backward"), str):
            raise fail(f"functions[{i}] needs case: NAME and backward: FUNCTION")
        for key in item:
            if key not in _TASK_KEYS:
                raise fail(f"functions[{i}]: unknown key {key!r}{suggest(str(key), _TASK_KEYS)}")
        args = item.get("args")
        if args is not None and (not isinstance(args, list) or not all(isinstance(a, str) for a in args)):
            raise fail(f"functions[{i}].args: a list of the case's names")
        for label in ("backward", "forward"):
            name = item.get(label)
            if name is not None and (not isinstance(name, str) or not name.isidentifier()):
                raise fail(f"functions[{i}].{label}: {name!r} is not a Python function name")
        if item.get("cache") and not item.get("forward"):
            raise fail(f"functions[{i}]: cache: true needs the student's forward (forward: NAME) to make the cache")
        tasks.append(CodeTask(item["case"], item["backward"], item.get("forward"),
                              tuple(args) if args is not None else None, bool(item.get("cache", False))))
    try:
        limit = float(data.get("time_limit", DEFAULT_TIME_LIMIT))
        seeds = tuple(int(s) for s in data.get("seeds", (0, 1)))
        tol = {k: float(v) for k, v in dict(data["tolerance"]).items() if k in ("rtol", "atol")} \
            if data.get("tolerance") is not None else None
    except (TypeError, ValueError) as exc:
        raise fail(f"a value is not a number: {exc}") from None
    if not 0 < limit <= 3600:
        raise fail(f"time_limit must be between 0 and 3600 seconds, not {limit:g}")
    if not seeds or any(s < 0 for s in seeds):
        raise fail("seeds: a list of non-negative run seeds")
    module = data.get("module")
    if module is not None and (not isinstance(module, str) or not module.endswith(".py") or "/" in module):
        raise fail(f"module: the file name each student hands in, e.g. layers.py (not {module!r})")
    return CodeAssignment(tasks, module, limit, seeds, tol)


def check_tasks(code: CodeAssignment, cases: Mapping[str, Any]) -> list[str]:
    """The instructor's errors of the code section against the loaded cases (missing case, unknown args)."""
    errors = []
    for task in code.functions:
        case = cases.get(task.case)
        if case is None:
            errors.append(f"assignment code: no case named {task.case!r}{suggest(task.case, cases)}")
            continue
        names = {**case.graph.inputs, **case.graph.constants}
        for a in task.args or ():
            if a not in names:
                errors.append(f"assignment code: case {task.case!r} has no value {a!r}{suggest(a, names)} "
                              f"(it has {', '.join(names)})")
    return errors


# ---- finding the submissions ----------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """One student's code: the module file (``""`` when the student's folder lacks it)."""

    student: str
    file: str
    problem: str = ""


def _hidden(path: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in path.parts)


def code_submissions(paths: Iterable[str], module: str | None) -> list[Submission]:
    """Every code submission under ``paths`` (``.py`` files, or folders of them).

    Without ``module`` every ``*.py`` file is one student's (named by the file); with it,
    every file of that name is one student's (named by its folder), and a sub-folder
    that holds other ``.py`` files but not that one is a submission with a problem.
    """
    found: list[Submission] = []
    for p in paths:
        path = Path(p)
        if path.is_file() and path.suffix == ".py":
            found.append(Submission(path.parent.name if module and path.name == module else path.stem, str(path)))
            continue
        if not path.is_dir():
            continue
        files = sorted(f for f in path.rglob("*.py") if f.is_file() and not _hidden(f.relative_to(path)))
        if module is None:
            found.extend(Submission(f.stem, str(f)) for f in files)
            continue
        found.extend(Submission(f.parent.name, str(f)) for f in files if f.name == module)
        holders = {f.parent for f in files if f.name == module}
        for folder in sorted({f.parent for f in files} - holders):
            if folder == path or any(h in folder.parents for h in holders):
                continue  # a helper of a submission, or loose files beside the student folders
            others = sorted(f.name for f in folder.glob("*.py"))
            found.append(Submission(folder.name, str(folder / module),
                                    f"no {module} in {folder}{suggest(module, others)} (found {', '.join(others)})"))
    return found


# ---- grading one submission -------------------------------------------------------------


def _grade(task: CodeTask, case: Any, of: str, file: str, verdict: str, **fields: Any) -> ClaimGrade:
    what = task.forward if of == "forward" else f"{task.backward} → d{of}"
    return ClaimGrade(case=case.name if case is not None else task.case, input=of, claim=what, verdict=verdict,
                      source=file, kind="code", **fields)


def _claims_of(task: CodeTask, case: Any) -> list[str]:
    args = list(task.args) if task.args is not None else list(case.graph.inputs)
    return (["forward"] if task.forward else []) + [a for a in args if a in case.graph.inputs]


def _verdict(state: str) -> str:
    """The verdict of a submission whose process is in ``state`` (a process that died crashed)."""
    return "crashed" if state == "died" else state


def _all_with(task: CodeTask, case: Any, file: str, verdict: str, diagnosis: str) -> list[ClaimGrade]:
    verdict = _verdict(verdict)
    return [_grade(task, case, of, file, verdict, diagnosis_kind=verdict, diagnosis=diagnosis)
            for of in _claims_of(task, case)]


class _Remote:
    """A student's function as the harness calls it: it runs in the child; what it raised is kept."""

    def __init__(self, proc: StudentProcess, name: str, cache: bool = False) -> None:
        self.proc, self.name, self.cache = proc, name, cache
        self.raised = ""
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args: Any) -> Any:
        try:
            return self.proc.call(self.name, *args, cache=self.cache)
        except SubmissionRaised as exc:
            self.raised = self.raised or str(exc)
            raise


def _tolerances(tol: Mapping[str, float] | None) -> dict | None:
    if not tol:
        return None
    from ..contract import DTYPES, TOLERANCE_KINDS

    return {(d, k): (float(tol.get("rtol", 1e-7)), float(tol.get("atol", 1e-10)))
            for d in DTYPES for k in TOLERANCE_KINDS}


class _Count(Exception):
    """A backward that returns a number of gradients other than its arguments'."""


def _probe(task: CodeTask, case: Any, seed: int, backward: _Remote, forward: _Remote | None
           ) -> tuple[Any, dict[str, np.ndarray], dict[str, Any]]:
    """(evaluation, the engine's gradients, the student's) for one seeded cotangent at run seed ``seed``."""
    from .. import engine

    leaves = case.leaves(seed)
    ev = engine.evaluate(case.graph, leaves, np.float64)
    inputs = list(case.graph.inputs)
    if ev.output.size == 1:
        g = np.ones(ev.output.shape)
    else:
        g = np.random.default_rng([seed, 0xC0DE]).standard_normal(ev.output.shape)
    truth = engine.vjp(ev, g, wrt=inputs)
    args = list(task.args) if task.args is not None else inputs
    arrays = [np.asarray(leaves[a], dtype=np.float64) for a in args]
    if task.cache and forward is not None:
        grads = backward(g, forward(*arrays)[1])
    else:
        grads = backward(g, *arrays)
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) != len(args):
        raise _Count(f"{task.backward} returned {len(grads)} gradient(s) for the {len(args)} argument(s) "
                     f"({', '.join(args)}): return one per argument, in that order (None for a constant)")
    theirs = {a: (np.asarray(grads[i], dtype=np.float64) if i < len(grads) and grads[i] is not None else None)
              for i, a in enumerate(args)}
    return ev, truth, theirs


def _grade_task(proc: StudentProcess, task: CodeTask, case: Any, file: str, seeds: Sequence[int],
                tolerance: Mapping[str, float] | None, errors: list[str]) -> list[ClaimGrade]:
    from ..harness.checks import check_case
    from ..subjects import make_subject
    from .mistakes import GradingPoint, diagnose_code

    if not proc.alive:
        return _all_with(task, case, file, proc.state, proc.error)
    lacking = [n for n in (task.backward, task.forward) if n and n not in proc.functions]
    if lacking:
        text = "; ".join(f"no function {n}() in {Path(file).name}{suggest(n, proc.functions)}" for n in lacking)
        return _all_with(task, case, file, "missing", text)
    backward = _Remote(proc, task.backward)
    forward = _Remote(proc, task.forward, cache=task.cache) if task.forward else None
    subject = dataclasses.replace(make_subject(forward, backward=backward, cache=task.cache, args=task.args,
                                               name=task.backward), origin=file)
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        rows += check_case(case, subject=subject, seed=seed, tolerances=_tolerances(tolerance)).rows
    for r in rows:
        if r["check"] in ("evaluate", "load") or (r["check"] not in _SUBJECT_CHECKS + ("subject_forward",)
                                                  and r["status"] in ("fail", "error")):
            errors.append(f"case {case.name!r} (the reference) does not check cleanly: {r['check']} "
                          f"{r['status']}: {r['message']}")
            return []
    grades = []
    probes: list[tuple[Any, dict, dict]] | None = None
    count = ""
    for of in _claims_of(task, case):
        mine = [r for r in rows if (r["check"] == "subject_forward" if of == "forward"
                                    else r["check"] in _SUBJECT_CHECKS and r["input"] == of)]
        bad = [r for r in mine if r["status"] in ("fail", "error")]
        if not bad:
            ran = sum(r["status"] != "skip" for r in mine)
            grades.append(_grade(task, case, of, file, "right", message=f"right: {ran} check(s) passed at "
                                 f"{len(seeds)} point(s) ({', '.join(sorted({r['check'] for r in mine}))})"))
            continue
        first = bad[0]["message"]
        if not proc.alive:
            grades.append(_grade(task, case, of, file, _verdict(proc.state), diagnosis_kind=_verdict(proc.state),
                                 diagnosis=proc.error))
            continue
        raised = (forward.raised if of == "forward" and forward else "") or backward.raised
        if any(r["status"] == "error" for r in bad) and raised:
            grades.append(_grade(task, case, of, file, "crashed", diagnosis_kind="crashed",
                                 diagnosis=f"{task.forward if of == 'forward' else task.backward} {raised}"))
            continue
        grade = _grade(task, case, of, file, "wrong", message=first)
        if of != "forward":
            if probes is None:
                try:
                    probes = [_probe(task, case, s, backward, forward) for s in seeds]
                except _Count as exc:
                    probes, count = [], str(exc)
                except (SubmissionRaised, SubmissionStopped, TypeError, ValueError, IndexError):
                    probes = []
            if count:
                grade.diagnosis_kind, grade.diagnosis = "shape", count
            points = [GradingPoint(dict(case.leaves(s)), ev, truth[of], claimed=theirs.get(of))
                      for s, (ev, truth, theirs) in zip(seeds, probes)]
            if points and all(p.claimed is not None for p in points):
                verdict, kind, text = diagnose_code(case.graph, of, points)
                grade.verdict, grade.diagnosis_kind, grade.diagnosis = verdict, kind, text
        grades.append(grade)
    return grades


def grade_submission(sub: Submission, code: CodeAssignment, cases: Mapping[str, Any]) -> GradeReport:
    """Grade one student's code: its own process, every task of the assignment, one report."""
    from ..untrusted import visible

    report = GradeReport(file=sub.file, student=sub.student)
    tasks = [t for t in code.functions if t.case in cases]
    if sub.problem:
        for t in tasks:
            report.grades += _all_with(t, cases[t.case], sub.file, "missing", sub.problem)
        return report
    with StudentProcess(sub.file, code.time_limit) as proc:
        for task in tasks:
            report.grades += _grade_task(proc, task, cases[task.case], sub.file, code.seeds, code.tolerance,
                                         report.errors)
        printed = proc.output().strip()
    if printed and report.grades:
        g = report.grades[0]
        g.message = (g.message + " " if g.message else "") + \
            f"(the submission printed, and the grader ignored: “{visible(printed, one_line=True)[:200]}”)"
    if proc.state == "timeout":  # the rest of the tasks never ran: each says why
        for g in report.grades:
            if g.verdict == "timeout" and not g.diagnosis:
                g.diagnosis = proc.error
    return report


def grade_submissions(subs: Sequence[Submission], code: CodeAssignment, cases: Mapping[str, Any], jobs: int = 1
                      ) -> list[GradeReport]:
    """Every submission, ``jobs`` at a time (each grader in a worker process; each student's code in its own)."""
    needed = {t.case: cases[t.case] for t in code.functions if t.case in cases}
    if jobs <= 1 or len(subs) <= 1:
        return [grade_submission(s, code, needed) for s in subs]
    from concurrent.futures import ProcessPoolExecutor

    from ..harness.workers import context, watch_parent

    with ProcessPoolExecutor(max_workers=jobs, mp_context=context(), initializer=watch_parent) as pool:
        return list(pool.map(grade_submission, subs, [code] * len(subs), [needed] * len(subs)))
