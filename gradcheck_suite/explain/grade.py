"""Grading claimed derivatives: a case's ``expect:`` claims and students' answers files.

A claim is graded against the engine's derivative at the case's point *and* at
several seeded random points of the input domain (:func:`.variants.random_points`):
right when at every point every element satisfies |claim − derivative| ≤ atol +
rtol·|derivative|.  Otherwise the verdict says what is wrong:

``wrong``       the values differ; :mod:`.mistakes` names the usual mistake when every
                point agrees on it (a sign, a factor of 2, a transpose, a missing path,
                a wrong local derivative at a named step);
``number``      a number, not a formula: the claim is the same at every point while
                the derivative changes (a pasted value);
``shape``       the claim's shape is not the derivative's (a scalar for a matrix
                gradient, a transposed matrix);
``unreadable``  the claim does not parse or cannot be evaluated (a student's mistake);
``error``       the claim names no input of the case, or no such case.

For a vector output the claim is the Jacobian J_y(x), of shape y.shape + x.shape.
A numeric blank of the exercise sheet (``values: {node: number}``) is graded against
the upstream gradient ∂out/∂node with :data:`VALUE_RTOL`.

The answers file (documented in ``docs/answer-key.md``)::

    student: Ada            # optional
    variant: s1234          # optional: the variant of the sheet (``seed:`` is the same)
    answers:
      - case: sigmoid_steps
        claims:
          x: v * (1 - v)
        values:             # optional: numeric blanks, ∂out/∂node
          w: -0.3729

(a top-level list of entries, or a single ``case``/``claims`` mapping, is accepted too).
Each claim is an expression of the case's inputs, constants and steps, parsed by the
expression language exactly like an ``expect:`` entry.  The claim kinds are
``formula`` and ``value``; students' backward functions are graded by :mod:`.grade_code`
into claims of kind ``code``, one per argument's gradient.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import yaml

from .. import engine
from ..errors import CaseError, GradcheckError, suggest
from ..expr import Origin, parse_expression
from ..graph import Graph
from .mistakes import GradingPoint, close, diagnose
from .model import ClaimGrade, format_number, show

__all__ = ["grade_claim", "grade_value", "grade_answers", "grade_entry", "read_answers", "Answer", "GradeReport",
           "DEFAULT_TOLERANCE", "STUDENT_TOLERANCE", "VALUE_RTOL", "RANDOM_POINTS", "VERDICTS", "AnswersError",
           "compile_claim", "local_text"]

#: (rtol, atol) per dtype for a case's own ``expect:`` claims: a claim off by 1e-4 relative is wrong
DEFAULT_TOLERANCE = {"float64": (1e-7, 1e-10), "float32": (1e-4, 1e-6)}
#: (rtol, atol) per dtype for students' claims: ``2.71828**x`` for eˣ is right, a slip of 1e-4 is not
STUDENT_TOLERANCE = {"float64": (1e-5, 1e-9), "float32": (1e-4, 1e-6)}
#: relative tolerance of a numeric blank (students copy a handful of digits)
VALUE_RTOL = 1e-3
#: random points a student's claim is graded at, besides the case's own point
RANDOM_POINTS = 4
#: every verdict of a graded claim, best first; ``crashed``, ``timeout`` and ``missing`` are for
#: students' code only (:mod:`.grade_code`)
VERDICTS = ("right", "wrong", "number", "shape", "unreadable", "crashed", "timeout", "missing", "error")


class AnswersError(CaseError):
    """An answers file (or an assignment file) that cannot be read."""


def _tolerance(dtype: np.dtype, tolerance: Mapping[str, float] | None, table=DEFAULT_TOLERANCE
               ) -> tuple[float, float]:
    rtol, atol = table.get(str(dtype), table["float64"])
    if tolerance:
        rtol = float(tolerance.get("rtol", rtol))
        atol = float(tolerance.get("atol", atol))
    return rtol, atol


def _index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]" if index else "(scalar)"


def _truth(ev: engine.Evaluation, name: str) -> np.ndarray:
    """∂out/∂name: the gradient (scalar output) or the Jacobian, shape out + input (vector output)."""
    shape = ev.values[ev.graph.inputs[name]].shape
    if ev.output.size == 1:
        return engine.gradient(ev, [name])[name].reshape(shape)
    return engine.jacobian(ev, [name])[name]


def local_text(graph: Graph, j: int, k: int) -> str:
    """The right local derivative of node ``j`` w.r.t. argument ``k``, in the forward names."""
    node = graph[j]
    from .facts import local_derivative_form

    form = local_derivative_form(node.op)
    if form is not None:
        import sympy as sp

        from .symbolic import teach_text

        syms = [sp.Symbol(graph[a].name) if not graph[a].op == "literal" else sp.sympify(graph[a].value)
                for a in node.args]
        try:
            return teach_text(sp.sympify(form(sp.Symbol(node.name), *syms)[k]))
        except (TypeError, ValueError, IndexError):
            pass
    from ..ops import registry

    texts = registry.get(node.op).derivative_text({a: graph[i].name for a, i in zip(registry.get(node.op).args,
                                                                                       node.args)}, out=node.name)
    return texts[k] if k < len(texts) else "?"


def _at_worst(grade: ClaimGrade, claimed: np.ndarray, correct: np.ndarray, rtol: float, atol: float) -> None:
    with np.errstate(all="ignore"):
        diff = np.abs(claimed - correct)
        allowed = atol + rtol * np.abs(correct)
        bad = ~(diff <= allowed)
        excess = np.where(np.isnan(diff), np.inf, diff - allowed)
    flat = int(np.argmax(excess)) if excess.size else 0
    index = np.unravel_index(flat, correct.shape) if correct.shape else ()
    worst = float(diff[index]) if correct.shape else float(diff)
    ref = float(abs(correct[index])) if correct.shape else float(abs(correct))
    grade.worst_index = _index_text(tuple(int(i) for i in index))
    grade.claimed_at_worst = show(claimed[index] if correct.shape else claimed, derivative=True)
    grade.correct_at_worst = show(correct[index] if correct.shape else correct, derivative=True)
    grade.abs_diff = worst
    grade.rel_diff = worst / ref if ref > 0 else (0.0 if worst == 0 else float("inf"))
    grade.wrong_elements = int(np.count_nonzero(bad))
    grade.total_elements = int(correct.size)


def _point_text(case_graph: Graph, leaves: Mapping[str, Any]) -> str:
    parts = []
    for name in case_graph.inputs:
        v = np.asarray(leaves[name])
        parts.append(f"{name} = {format_number(v.item(), 4)}" if v.size == 1 else f"{name} = (another array)")
    return ", ".join(parts)


def grade_claim(case: str, input_name: str, claim: str, claim_graph: Graph | None,
                ev: engine.Evaluation, leaves: Mapping[str, Any], *,
                tolerance: Mapping[str, float] | None = None, source: str = "expect",
                extra_points: Sequence[Mapping[str, Any]] = (), student: bool = False) -> ClaimGrade:
    """Grade one claimed derivative of the output with respect to ``input_name``.

    ``extra_points`` are further leaves to grade at (a student's claim: random points);
    ``student`` chooses :data:`STUDENT_TOLERANCE` over :data:`DEFAULT_TOLERANCE`.
    """
    grade = ClaimGrade(case=case, input=input_name, claim=claim, verdict="error", source=source)
    graph = ev.graph
    if input_name not in graph.inputs:
        grade.message = f"{input_name!r} is not an input of case {case!r}{suggest(input_name, graph.inputs)}"
        return grade
    if claim_graph is None:
        grade.verdict, grade.message = "unreadable", "the claim could not be compiled"
        return grade
    out = graph[graph.output].name
    points = [GradingPoint(dict(leaves), ev, _truth(ev, input_name))]
    for extra in extra_points:
        p_ev = engine.evaluate(graph, extra, ev.dtype)
        points.append(GradingPoint(dict(extra), p_ev, _truth(p_ev, input_name)))
    for p in points:
        try:
            p.claimed = np.asarray(engine.evaluate(claim_graph, p.leaves, ev.dtype).output, dtype=np.float64)
        except GradcheckError as exc:
            grade.verdict, grade.message = "unreadable", f"the claim could not be evaluated: {exc.message}"
            return grade
        if p.claimed.size == 1 and p.correct.size == 1:
            p.claimed = p.claimed.reshape(p.correct.shape)
    first = points[0]
    grade.correct = show(first.correct, derivative=True)
    grade.claimed = show(first.claimed, derivative=True)
    grade.total_elements = int(first.correct.size)
    rtol, atol = _tolerance(ev.dtype, tolerance, STUDENT_TOLERANCE if student else DEFAULT_TOLERANCE)
    what = f"∂{out}/∂{input_name}" if ev.output.size == 1 else f"the Jacobian J_{out}({input_name})"
    if first.claimed.shape != first.correct.shape:
        grade.verdict = "shape"
        grade.diagnosis_kind = "shape"
        grade.message = (f"the claim has shape {_shape(first.claimed.shape)} but {what} has shape "
                         f"{_shape(first.correct.shape)}")
        if first.claimed.ndim == 2 and first.claimed.shape[::-1] == first.correct.shape \
                and close(first.claimed.T, first.correct, rtol, atol):
            grade.diagnosis_kind = "transpose"
            grade.diagnosis = "transposed: the claim is the derivative's transpose (dW has W's shape)"
        elif ev.output.size > 1 and first.claimed.shape == first.correct.shape[ev.output.ndim:]:
            grade.diagnosis = (f"{out} is a vector: claim the Jacobian J_{out}({input_name}) of shape "
                               f"{_shape(first.correct.shape)}, rows the elements of {out}")
        return grade
    wrong = [i for i, p in enumerate(points) if not close(p.claimed, p.correct, rtol, atol)]
    if not wrong:
        grade.verdict, grade.points = "right", grade.max_points
        grade.message = (f"right within atol {atol:g} + rtol {rtol:g}·|gradient|"
                         + (f" at the case's point and {len(points) - 1} random point(s)" if len(points) > 1 else ""))
        _at_worst(grade, first.claimed, first.correct, rtol, atol)
        return grade
    at = points[wrong[0]]
    _at_worst(grade, at.claimed, at.correct, rtol, atol)
    where = "" if wrong[0] == 0 else f"right at the case's point but wrong at {_point_text(graph, at.leaves)}: "
    varies = any(not close(p.correct, first.correct, 1e-9, 1e-12) for p in points[1:])
    constant_claim = all(close(p.claimed, first.claimed, 1e-12, 1e-15) for p in points[1:])
    if len(points) > 1 and varies and constant_claim and not _uses_names(claim_graph, graph):
        grade.verdict, grade.diagnosis_kind = "number", "number"
        grade.diagnosis = (f"a number, not a formula: {what} changes from point to point "
                           f"({first.correct.ravel()[0]:.6g} here, {at.correct.ravel()[0]:.6g} at "
                           f"{_point_text(graph, at.leaves)})")
    else:
        grade.verdict = "wrong"
        kind, sentence = diagnose(graph, input_name, points, rtol, atol, lambda j, k: local_text(graph, j, k))
        grade.diagnosis_kind, grade.diagnosis = kind, sentence
    grade.message = (where + f"at {grade.worst_index} the claim gives {grade.claimed_at_worst.compact} but "
                     f"{what} = {grade.correct_at_worst.compact} (off by {format_number(grade.abs_diff, 3)}, "
                     f"relative {format_number(grade.rel_diff, 3)}; {grade.wrong_elements} of "
                     f"{grade.total_elements} element(s) wrong; tolerance atol {atol:g} + rtol {rtol:g}·|gradient|)")
    return grade


def _shape(shape: tuple[int, ...]) -> str:
    return "scalar" if not shape else "×".join(str(s) for s in shape)


def _uses_names(claim_graph: Graph, case_graph: Graph) -> bool:
    """Does the claim's own expression name an input, a constant or a step, or is it only numbers?"""
    n_case = len(case_graph)
    return any(i < n_case and claim_graph[i].op != "literal" for i in claim_graph.ancestors(claim_graph.output))


def grade_value(case: str, name: str, number: Any, ev: engine.Evaluation, *, source: str = "",
                rtol: float = VALUE_RTOL) -> ClaimGrade:
    """Grade a numeric blank: ``number`` against ∂out/∂name (the upstream gradient of a node)."""
    graph = ev.graph
    out = graph[graph.output].name
    grade = ClaimGrade(case=case, input=name, claim=str(number), verdict="error", source=source, kind="value")
    ids = {n.name: n.id for n in graph if n.id in graph.ancestors(graph.output)}
    if name not in ids:
        grade.message = f"{name!r} is no node of case {case!r}{suggest(name, ids)}"
        return grade
    try:
        value = np.asarray(number, dtype=np.float64)
    except (TypeError, ValueError):
        grade.verdict, grade.message = "unreadable", f"{number!r} is not a number (or a list of numbers)"
        return grade
    trace = engine.Trace()
    engine.vjp(ev, np.ones(ev.output.shape, dtype=ev.dtype), trace=trace)
    if ids[name] == graph.output:
        correct = np.ones(ev.output.shape)
    elif ids[name] in trace.upstream:
        correct = np.asarray(trace.upstream[ids[name]], dtype=np.float64)
    else:
        correct = np.zeros(ev.values[ids[name]].shape)
    if value.size == 1 and correct.size == 1:
        value = value.reshape(correct.shape)
    grade.claimed, grade.correct = show(value, derivative=True), show(correct, derivative=True)
    if value.shape != correct.shape:
        grade.verdict = "shape"
        grade.message = f"the value has shape {_shape(value.shape)} but ∂{out}/∂{name} has shape {_shape(correct.shape)}"
        return grade
    _at_worst(grade, value, correct, rtol, 1e-8)
    if close(value, correct, rtol, 1e-8):
        grade.verdict, grade.message, grade.points = "right", f"right within rtol {rtol:g}", grade.max_points
    else:
        grade.verdict = "wrong"
        if close(value, -correct, rtol, 1e-8):
            grade.diagnosis_kind, grade.diagnosis = "sign", "a sign error"
        grade.message = (f"∂{out}/∂{name} = {grade.correct_at_worst.compact}, the sheet says "
                         f"{grade.claimed_at_worst.compact}")
    return grade


# ---- a student's answers file -------------------------------------------------------


@dataclass
class Answer:
    """One entry of an answers file: claims (and numeric blanks) for one case."""

    case: str
    claims: dict[str, str]
    line: int = 0
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)  # claim → (line, col)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class GradeReport:
    """Every graded claim of one answers file.

    ``file_error`` is the student's: the file itself cannot be read (its claims are
    then ungraded); ``errors`` are the instructor's: case files that cannot be loaded.
    """

    file: str
    student: str = ""
    variant: str = ""
    grades: list[ClaimGrade] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    file_error: str = ""

    @property
    def exit_code(self) -> int:
        """0 every claim right, 1 any student mistake, 2 a setup error (the instructor's)."""
        if self.errors:
            return 2
        if self.file_error or any(g.verdict != "right" for g in self.grades):
            return 1
        return 0

    @property
    def points(self) -> float:
        return float(sum(g.points for g in self.grades))

    @property
    def max_points(self) -> float:
        return float(sum(g.max_points for g in self.grades))


_ENTRY_KEYS = ("case", "claims", "values")
_TOP_KEYS = ("student", "variant", "seed", "answers")


def _line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def read_answers(path: str) -> tuple[str, list[Answer]]:
    """Parse an answers file into (student, entries); raises :class:`AnswersError`."""
    student, _, answers = read_answers_file(path)
    return student, answers


def read_answers_file(path: str) -> tuple[str, str, list[Answer]]:
    """Parse an answers file into (student, variant, entries); raises :class:`AnswersError`."""
    from ..loader import read_yaml  # the case files' guarded reader: size, tags, aliases, duplicate keys

    try:
        data, root = read_yaml(path, what="answers file")
    except CaseError as exc:
        raise AnswersError(exc.message, file=exc.file, line=exc.line, col=exc.col) from None
    student = variant = ""
    entries_node = root
    if isinstance(data, dict) and "answers" in data:
        for key in data:
            if key not in _TOP_KEYS:
                raise AnswersError(f"unknown key {key!r}{suggest(str(key), _TOP_KEYS)}", file=path, key=str(key))
        student = str(data.get("student") or "")
        v = data.get("variant", data.get("seed"))
        variant = "" if v is None else str(v)
        entries = data["answers"]
        entries_node = next(v for k, v in root.value if k.value == "answers")
    elif isinstance(data, dict):
        entries = [data]
        entries_node = yaml.SequenceNode("tag:yaml.org,2002:seq", [root])
    else:
        entries = data
    if not isinstance(entries, list) or not entries:
        raise AnswersError("expected a list of entries, each with 'case' and 'claims'", file=path)
    answers = []
    for item, node in zip(entries, entries_node.value):
        line = _line_of(node)
        if not isinstance(item, dict):
            raise AnswersError("an entry must be a mapping with 'case' and 'claims'", file=path, line=line)
        for key in item:
            if key not in _ENTRY_KEYS:
                raise AnswersError(f"unknown key {key!r}{suggest(str(key), _ENTRY_KEYS)}", file=path,
                                   line=line, key=str(key))
        claims = item.get("claims") or {}
        values = item.get("values") or {}
        if not isinstance(item.get("case"), str) or not isinstance(claims, dict) or not isinstance(values, dict) \
                or not (claims or values):
            raise AnswersError("an entry needs 'case: NAME' and 'claims: {input: expression}' "
                               "(or 'values: {node: number}')", file=path, line=line)
        positions = {}
        if claims:
            claims_node = next(v for k, v in node.value if k.value == "claims")
            for (key, value), (_, v) in zip(claims.items(), claims_node.value):
                if not isinstance(v, yaml.ScalarNode) or isinstance(value, bool) or value is None:
                    raise AnswersError(f"the claim for {key!r} must be an expression (text), e.g. x: 2 * x",
                                       file=path, line=_line_of(v), col=v.start_mark.column + 1)
            positions = {str(k.value): (_line_of(v), v.start_mark.column + 1 + (1 if v.style in ("'", '"') else 0))
                         for k, v in claims_node.value}
        answers.append(Answer(item["case"], {str(k): str(v) for k, v in claims.items()}, line, positions,
                              {str(k): v for k, v in values.items()}))
    return student, variant, answers


def compile_claim(case: Any, input_name: str, text: str, *, file: str | None = None,
                  line: int = 1, col: int = 1) -> Graph:
    """The case's graph with ``text`` appended; its output is the claim's node.

    Parsed by the expression language (``gradcheck_suite.expr``) exactly like an
    ``expect:`` entry: it may use the case's inputs, constants and steps.  Raises
    :class:`CaseError` located in the answers file.
    """
    graph = Graph(nodes=[dataclasses.replace(n) for n in case.graph.nodes], inputs=dict(case.graph.inputs),
                  constants=dict(case.graph.constants), steps=dict(case.graph.steps), output=case.graph.output)
    names = {**graph.inputs, **graph.constants, **graph.steps}
    origin = Origin(file=file, case=case.name, key=input_name, line=line, col=col)
    graph.output = parse_expression(text, graph, names, origin=origin)
    return graph


def grade_entry(answer: Answer, case: Any, file: str, *, variant: str = "", random_points: int = RANDOM_POINTS,
                tolerance: Mapping[str, float] | None = None) -> list[ClaimGrade]:
    """Grade one entry at the case's point (or the variant's) and ``random_points`` random points."""
    from .variants import random_points as draw, variant_leaves, variant_seed

    dtype = case.dtypes[0] if case.dtypes else "float64"
    leaves = variant_leaves(case, variant) if variant else case.leaves()
    ev = engine.evaluate(case.graph, leaves, dtype)
    extra = draw(case, leaves, random_points, seed=variant_seed(variant or case.name)) if random_points else []
    tol = tolerance or getattr(case, "tolerance", None) or None
    grades = []
    for name, text in answer.claims.items():
        line, col = answer.positions.get(name, (answer.line, 1))
        try:
            graph = compile_claim(case, name, text, file=file, line=line, col=col)
        except GradcheckError as exc:
            grades.append(ClaimGrade(case=case.name, input=name, claim=text, verdict="unreadable", source=file,
                                     message=f"the claim could not be read: {exc}"))
            continue
        grades.append(grade_claim(case.name, name, text, graph, ev, leaves, tolerance=tol, source=file,
                                  extra_points=extra, student=True))
    for name, number in answer.values.items():
        grades.append(grade_value(case.name, name, number, ev, source=file))
    return grades


def grade_report(answers_path: str, by_name: Mapping[str, Any], *, random_points: int = RANDOM_POINTS,
                 tolerance: Mapping[str, float] | None = None) -> GradeReport:
    """Grade one answers file against already loaded cases (``by_name``)."""
    report = GradeReport(file=answers_path)
    try:
        report.student, report.variant, answers = read_answers_file(answers_path)
    except AnswersError as exc:
        report.file_error = str(exc)
        return report
    for answer in answers:
        case = by_name.get(answer.case)
        if case is None:
            report.grades.extend(
                ClaimGrade(case=answer.case, input=n, claim=t, verdict="error", source=answers_path,
                           message=f"{answers_path}:{answer.line}: no case named {answer.case!r}"
                                   f"{suggest(answer.case, by_name)}")
                for n, t in list(answer.claims.items()) + [(k, str(v)) for k, v in answer.values.items()])
            continue
        try:
            report.grades.extend(grade_entry(answer, case, answers_path, variant=report.variant,
                                             random_points=random_points, tolerance=tolerance))
        except GradcheckError as exc:
            report.errors.append(str(exc.located(file=case.file, case=case.name)))
    return report


def grade_answers(answers_path: str, case_paths: Iterable[str], *, random_points: int = RANDOM_POINTS
                  ) -> GradeReport:
    """Grade every claim of a student's answers file against the cases found under ``case_paths``."""
    from ..loader import load_paths

    loaded = load_paths(list(case_paths))
    report = grade_report(answers_path, {c.name: c for c in loaded.cases}, random_points=random_points)
    report.errors[:0] = [str(e) for e in loaded.errors]
    return report
