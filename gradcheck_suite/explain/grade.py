"""Grading claimed derivatives: a case's ``expect:`` claims and a student's answers file.

A claim is graded against the engine's gradient at the case's point: right when
every element satisfies |claim − gradient| ≤ atol + rtol·|gradient|, otherwise wrong,
with the element where they differ most, both values there and the differences.

The answers file (documented in ``docs/answer-key.md``)::

    student: Ada            # optional
    answers:
      - case: sigmoid_steps
        claims:
          x: v * (1 - v)

(a top-level list of entries, or a single ``case``/``claims`` mapping, is accepted too).
Each claim is an expression of the case's inputs, constants and steps; it is parsed by
the expression language exactly like an ``expect:`` entry of the case file.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import yaml

from .. import engine
from ..errors import CaseError, GradcheckError, suggest
from ..expr import Origin, parse_expression
from ..graph import Graph
from .model import ClaimGrade, format_number, show

__all__ = ["grade_claim", "grade_answers", "read_answers", "Answer", "GradeReport",
           "DEFAULT_TOLERANCE", "AnswersError", "compile_claim"]

#: (rtol, atol) per dtype when the case sets none; a claim off by 1e-4 relative is wrong in float64
DEFAULT_TOLERANCE = {"float64": (1e-7, 1e-10), "float32": (1e-4, 1e-6)}


class AnswersError(CaseError):
    """An answers file that cannot be read."""


def _tolerance(dtype: np.dtype, tolerance: Mapping[str, float] | None) -> tuple[float, float]:
    rtol, atol = DEFAULT_TOLERANCE.get(str(dtype), DEFAULT_TOLERANCE["float64"])
    if tolerance:
        rtol = float(tolerance.get("rtol", rtol))
        atol = float(tolerance.get("atol", atol))
    return rtol, atol


def _index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]" if index else "(scalar)"


def grade_claim(case: str, input_name: str, claim: str, claim_graph: Graph | None,
                ev: engine.Evaluation, leaves: Mapping[str, Any], *,
                tolerance: Mapping[str, float] | None = None, source: str = "expect") -> ClaimGrade:
    """Grade one claimed derivative of the (scalar) output with respect to ``input_name``."""
    grade = ClaimGrade(case=case, input=input_name, claim=claim, verdict="error", source=source)
    if input_name not in ev.graph.inputs:
        grade.message = f"{input_name!r} is not an input of case {case!r}{suggest(input_name, ev.graph.inputs)}"
        return grade
    if ev.output.size != 1:
        grade.message = "claims are derivatives of a scalar output; this case's output is an array"
        return grade
    if claim_graph is None:
        grade.message = "the claim could not be compiled"
        return grade
    correct = engine.gradient(ev, [input_name])[input_name]
    correct = correct.reshape(ev.values[ev.graph.inputs[input_name]].shape)
    try:
        claimed = engine.evaluate(claim_graph, leaves, ev.dtype).output
    except GradcheckError as exc:
        grade.message = f"the claim could not be evaluated: {exc.message}"
        return grade
    grade.correct = show(correct, derivative=True)
    grade.claimed = show(claimed, derivative=True)
    grade.total_elements = int(correct.size)
    try:
        claimed_b = np.broadcast_to(claimed, correct.shape)
    except ValueError:
        grade.verdict = "wrong"
        grade.message = (f"the claim has shape {claimed.shape} but the gradient with respect to "
                         f"{input_name} has shape {correct.shape}")
        return grade
    rtol, atol = _tolerance(ev.dtype, tolerance)
    with np.errstate(all="ignore"):
        diff = np.abs(claimed_b - correct)
        allowed = atol + rtol * np.abs(correct)
        bad = ~(diff <= allowed)  # NaN is never right
        excess = np.where(np.isnan(diff), np.inf, diff - allowed)
    flat = int(np.argmax(excess)) if excess.size else 0
    index = np.unravel_index(flat, correct.shape) if correct.shape else ()
    worst_diff = float(diff[index]) if correct.shape else float(diff)
    ref = float(abs(correct[index])) if correct.shape else float(abs(correct))
    grade.worst_index = _index_text(tuple(int(i) for i in index))
    grade.claimed_at_worst = show(claimed_b[index] if correct.shape else claimed_b, derivative=True)
    grade.correct_at_worst = show(correct[index] if correct.shape else correct, derivative=True)
    grade.abs_diff = worst_diff
    grade.rel_diff = worst_diff / ref if ref > 0 else (0.0 if worst_diff == 0 else float("inf"))
    grade.wrong_elements = int(np.count_nonzero(bad))
    if grade.wrong_elements:
        grade.verdict = "wrong"
        grade.message = (f"at {grade.worst_index} the claim gives {grade.claimed_at_worst.compact} but "
                         f"∂{ev.graph[ev.graph.output].name}/∂{input_name} = {grade.correct_at_worst.compact} "
                         f"(off by {format_number(worst_diff, 3)}, relative {format_number(grade.rel_diff, 3)}; "
                         f"{grade.wrong_elements} of {grade.total_elements} element(s) wrong; "
                         f"tolerance atol {atol:g} + rtol {rtol:g}·|gradient|)")
    else:
        grade.verdict = "right"
        grade.message = f"right within atol {atol:g} + rtol {rtol:g}·|gradient|"
    return grade


# ---- a student's answers file -------------------------------------------------------


@dataclass
class Answer:
    """One entry of an answers file: claims for one case."""

    case: str
    claims: dict[str, str]
    line: int = 0
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)  # claim → (line, col)


@dataclass
class GradeReport:
    """Every graded claim of an answers file, and the problems that stopped grading."""

    file: str
    student: str = ""
    grades: list[ClaimGrade] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 every claim right, 1 any wrong, 2 any error."""
        if self.errors or any(g.verdict == "error" for g in self.grades):
            return 2
        return 1 if any(g.verdict == "wrong" for g in self.grades) else 0


_ENTRY_KEYS = ("case", "claims")
_TOP_KEYS = ("student", "answers")


def _line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def read_answers(path: str) -> tuple[str, list[Answer]]:
    """Parse an answers file into (student, entries); raises :class:`AnswersError`."""
    from ..loader import read_yaml  # the case files' guarded reader: size, tags, aliases, duplicate keys

    try:
        data, root = read_yaml(path, what="answers file")
    except CaseError as exc:
        raise AnswersError(exc.message, file=exc.file, line=exc.line, col=exc.col) from None
    student = ""
    entries_node = root
    if isinstance(data, dict) and "answers" in data:
        for key in data:
            if key not in _TOP_KEYS:
                raise AnswersError(f"unknown key {key!r}{suggest(str(key), _TOP_KEYS)}", file=path, key=str(key))
        student = str(data.get("student") or "")
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
        claims = item.get("claims")
        if not isinstance(item.get("case"), str) or not isinstance(claims, dict) or not claims:
            raise AnswersError("an entry needs 'case: NAME' and 'claims: {input: expression}'",
                               file=path, line=line)
        claims_node = next(v for k, v in node.value if k.value == "claims")
        for (key, value), (_, v) in zip(claims.items(), claims_node.value):
            if not isinstance(v, yaml.ScalarNode) or isinstance(value, bool) or value is None:
                raise AnswersError(f"the claim for {key!r} must be an expression (text), e.g. x: 2 * x",
                                   file=path, line=_line_of(v), col=v.start_mark.column + 1)
        positions = {str(k.value): (_line_of(v), v.start_mark.column + 1 + (1 if v.style in ("'", '"') else 0))
                     for k, v in claims_node.value}
        answers.append(Answer(item["case"], {str(k): str(v) for k, v in claims.items()}, line, positions))
    return student, answers


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


def _grade_entry(answer: Answer, case: Any, file: str) -> list[ClaimGrade]:
    dtype = case.dtypes[0] if case.dtypes else "float64"
    leaves = case.leaves()
    ev = engine.evaluate(case.graph, leaves, dtype)
    grades = []
    for name, text in answer.claims.items():
        line, col = answer.positions.get(name, (answer.line, 1))
        try:
            graph = compile_claim(case, name, text, file=file, line=line, col=col)
        except GradcheckError as exc:
            grades.append(ClaimGrade(case=case.name, input=name, claim=text, verdict="error", source=file,
                                     message=f"the claim could not be read: {exc}"))
            continue
        grades.append(grade_claim(case.name, name, text, graph, ev, leaves,
                                  tolerance=getattr(case, "tolerance", None) or None, source=file))
    return grades


def grade_answers(answers_path: str, case_paths: Iterable[str]) -> GradeReport:
    """Grade every claim of a student's answers file against the cases found under ``case_paths``."""
    from ..loader import load_paths

    report = GradeReport(file=answers_path)
    try:
        report.student, answers = read_answers(answers_path)
    except AnswersError as exc:
        report.errors.append(str(exc))
        return report
    loaded = load_paths(list(case_paths))
    report.errors.extend(str(e) for e in loaded.errors)
    by_name = {c.name: c for c in loaded.cases}
    for answer in answers:
        case = by_name.get(answer.case)
        if case is None:
            report.grades.extend(
                ClaimGrade(case=answer.case, input=n, claim=t, verdict="error", source=answers_path,
                           message=f"{answers_path}:{answer.line}: no case named {answer.case!r}"
                                   f"{suggest(answer.case, by_name)}")
                for n, t in answer.claims.items())
            continue
        try:
            report.grades.extend(_grade_entry(answer, case, answers_path))
        except GradcheckError as exc:
            report.errors.append(str(exc.located(file=case.file, case=case.name)))
    return report


