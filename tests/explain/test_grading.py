"""Students' answers files (tests/explain/students/): each verdict and each diagnosis; the gradebook.

The fixtures are the usual submissions of a backprop course: right, equivalent but
written differently, a sign error, a missing path, a transpose, a pasted number, a
wrong shape, a syntax error, a wrong local derivative, a factor of 2, Jacobian claims,
numeric blanks and an unreadable file.  Each test asserts the verdict *and* what the
feedback says.
"""
from __future__ import annotations

import csv
import hashlib
import math
import shutil
import time
from pathlib import Path

import pytest

from gradcheck_suite.cli import main as cli_main
from gradcheck_suite.explain.build import explain_case
from gradcheck_suite.explain.grade import grade_answers
from gradcheck_suite.explain.gradebook import (GRADEBOOK_COLUMNS, Assignment, grade_class, read_assignment,
                                               write_gradebook)
from gradcheck_suite.explain.grade import AnswersError
from gradcheck_suite.explain.text import render_text
from gradcheck_suite.explain.variants import variant_leaves
from tests.explain.conftest import SEED

HERE = Path(__file__).resolve().parent
STUDENTS = HERE / "students"
COURSE = HERE / "course_cases"
PATHS = [str(SEED), str(COURSE)]


def graded(name: str):
    """(case, input, verdict, diagnosis_kind, diagnosis) of every claim of one fixture file."""
    report = grade_answers(str(STUDENTS / f"{name}.yaml"), PATHS)
    assert not report.errors, report.errors
    return report, [(g.case, g.input, g.verdict, g.diagnosis_kind, g.diagnosis) for g in report.grades]


def test_right_answers_are_right_at_every_point():
    report, rows = graded("right")
    assert [r[2] for r in rows] == ["right"] * 5 and report.exit_code == 0
    assert all("4 random point(s)" in g.message for g in report.grades)
    assert report.points == report.max_points == 5


def test_equivalent_but_different_forms_are_right():
    # e^-x/(1+e^-x)² for S(1−S); 2.71828**… for exp (within the students' rtol 1e-5); x, y for u, v
    report, rows = graded("equivalent")
    assert [r[2] for r in rows] == ["right", "right", "right"]


def test_sign_error():
    _, [(case, x, verdict, kind, text)] = graded("sign_error")
    assert (verdict, kind) == ("wrong", "sign") and "sign error" in text


def test_missing_path_names_the_path_and_its_value():
    report, [(_, _, verdict, kind, text)] = graded("missing_path")
    assert (verdict, kind) == ("wrong", "missing_path")
    assert "missing the path through v" in text and "∂z/∂v·∂v/∂x" in text
    x, y = 0.8, -1.1
    lost = x * y * math.cos(x + y)  # ∂z/∂v·∂v/∂x = u·cos(v)·1, the term the student left out
    assert f"{lost:.6g}" in text
    assert math.isclose(report.grades[0].abs_diff, abs(lost), rel_tol=1e-9)


def test_transposed_non_square_is_a_shape_error_diagnosed_as_a_transpose():
    _, [(_, _, verdict, kind, text)] = graded("transposed")
    assert (verdict, kind) == ("shape", "transpose") and "transpose" in text


def test_transposed_square_is_wrong_and_diagnosed_as_a_transpose():
    _, [(_, _, verdict, kind, _)] = graded("transposed_square")
    assert (verdict, kind) == ("wrong", "transpose")


def test_pasted_number_is_a_number_not_a_formula():
    # the number is exactly right at the case's point: graded there alone it would pass
    report, [(_, _, verdict, kind, text)] = graded("pasted_number")
    assert (verdict, kind) == ("number", "number") and "a number, not a formula" in text
    assert report.grades[0].points == 0


def test_scalar_claim_for_a_matrix_gradient_is_a_shape_error():
    report, [(_, _, verdict, _, _)] = graded("wrong_shape")
    assert verdict == "shape" and "has shape 2×3" in report.grades[0].message


def test_syntax_error_is_the_students_mistake_located_in_the_file():
    report, [(_, _, verdict, _, _)] = graded("syntax_error")
    assert verdict == "unreadable" and "syntax_error.yaml:5" in report.grades[0].message
    assert report.exit_code == 1  # recorded, not an instructor's setup error (2)


def test_wrong_local_derivative_is_named_at_its_step():
    _, [(_, _, verdict, kind, text)] = graded("wrong_local")
    assert (verdict, kind) == ("wrong", "local")
    assert "step y" in text and "taken as y instead of y·(1 − y)" in text


def test_factor_of_two():
    _, [(_, _, verdict, kind, text)] = graded("factor_two")
    assert (verdict, kind) == ("wrong", "factor") and "a factor of 2" in text


def test_jacobian_claims_for_a_vector_output():
    _, rows = graded("jacobian")
    assert rows[0][2] == "right"  # B·diag(1 − u²)·A, the tutorial's J_y(u)·J_u(v)
    assert rows[1][2:4] == ("shape", "transpose")


def test_numeric_blanks_of_the_sheet():
    _, rows = graded("numbers")
    assert [(r[1], r[2], r[3]) for r in rows] == [("w", "right", ""), ("g", "wrong", "sign"), ("x", "right", "")]


def test_unreadable_file_is_recorded_not_a_setup_error():
    report = grade_answers(str(STUDENTS / "unreadable.yaml"), PATHS)
    assert report.file_error and "unreadable.yaml:" in report.file_error
    assert not report.errors and report.exit_code == 1


def test_expect_claims_of_the_case_keep_the_tight_tolerance():
    from tests.explain.conftest import case_from_yaml

    case = case_from_yaml("name: s\ninputs: {x: 0.45}\nsteps: {y: sigmoid(x)}\nexpect: {x: y * (1 - y) * 1.000001}\n")
    (g,) = explain_case(case, harness=False, sweep=False).claims
    assert g.verdict == "wrong"  # 1e-6 relative: wrong for the case author, right for a student (1e-5)


# ---- batch grading -------------------------------------------------------------------


def test_gradebook_of_a_folder(tmp_path):
    result = grade_class([str(STUDENTS)], PATHS)
    assert result.exit_code == 1 and not result.setup_errors
    files = write_gradebook(result, str(tmp_path))
    with open(tmp_path / "gradebook.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == GRADEBOOK_COLUMNS
    by = {(r["student"], r["case"], r["of"]): r for r in rows}
    assert by[("Di Missing", "seed_two_paths", "x")]["diagnosis_kind"] == "missing_path"
    assert by[("Gu Pasted", "seed_sigmoid_affine", "x")]["verdict"] == "number"
    assert by[("Ada Right", "course_layer", "W")]["points"] == "1.0"
    assert any(r["verdict"] == "unreadable" and r["kind"] == "file" for r in rows)
    stem = "Di-Missing-" + hashlib.sha256(b"Di Missing").hexdigest()[:8]
    feedback = (tmp_path / "feedback" / f"{stem}.md").read_text(encoding="utf-8")
    assert "missing the path through v" in feedback and "0 / 1" in feedback
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "missing_path ×1" in summary and "Ada Right | 5 / 5" in summary
    html = [f for f in files if f.endswith(".html")]
    assert len(html) == len(result.reports)
    page = Path(html[0]).read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in page and "<script" not in page


def test_points_and_partial_credit_from_the_assignment(tmp_path):
    spec = tmp_path / "assignment.yaml"
    spec.write_text("points: {seed_two_paths: {x: 4}}\npartial_credit: {missing_path: 0.5}\n"
                    "tolerance: {rtol: 1.0e-6}\nrandom_points: 2\n", encoding="utf-8")
    a = read_assignment(str(spec))
    result = grade_class([str(STUDENTS / "missing_path.yaml")], PATHS, a)
    (g,) = result.reports[0].grades
    assert (g.max_points, g.points) == (4.0, 2.0)
    assert "2 random point(s)" not in g.message and g.verdict == "wrong"
    bad = tmp_path / "bad.yaml"
    bad.write_text("partial_credit: {misssing_path: 0.5}\n", encoding="utf-8")
    with pytest.raises(AnswersError, match="did you mean 'missing_path'"):
        read_assignment(str(bad))


def test_exit_codes_of_the_grade_command(tmp_path, capsys):
    right = str(STUDENTS / "right.yaml")
    assert cli_main(["grade", right, "--path", str(SEED), "--path", str(COURSE)]) == 0
    assert cli_main(["grade", right, str(STUDENTS / "sign_error.yaml"), "--path", str(SEED),
                     "--path", str(COURSE), "--out", str(tmp_path / "book")]) == 1
    assert (tmp_path / "book" / "gradebook.csv").exists()
    out = capsys.readouterr().out
    assert "class: 2 submission(s)" in out
    # the instructor's mistakes: a case folder that is missing, no answers file, a bad assignment
    assert cli_main(["grade", right, "--path", str(tmp_path / "nothing")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli_main(["grade", str(empty), "--path", str(SEED)]) == 2
    (tmp_path / "a.yaml").write_text("pointz: 1\n", encoding="utf-8")
    assert cli_main(["grade", right, "--path", str(SEED), "--assignment", str(tmp_path / "a.yaml")]) == 2


def test_a_class_of_100_is_graded_in_one_process_well_under_a_minute(tmp_path):
    fixtures = sorted(STUDENTS.glob("*.yaml"))
    for i in range(100):
        shutil.copy(fixtures[i % len(fixtures)], tmp_path / f"s{i:03d}.yaml")
    start = time.perf_counter()
    result = grade_class([str(tmp_path)], PATHS)
    elapsed = time.perf_counter() - start
    assert len(result.reports) == 100 and not result.setup_errors
    assert elapsed < 60, elapsed


# ---- variants ------------------------------------------------------------------------


def test_a_variant_moves_the_inputs_the_same_way_every_time(seed_cases):
    case = seed_cases["seed_two_paths"]
    a, b = variant_leaves(case, "s1234"), variant_leaves(case, "s1234")
    c = variant_leaves(case, "s9999")
    assert a["x"] == b["x"] and a["y"] == b["y"] and (a["x"], a["y"]) != (c["x"], c["y"])
    assert (float(a["x"]), float(a["y"])) != (0.8, -1.1)
    assert round(float(a["x"]), 2) == float(a["x"])  # two decimals: a sheet is read by people


def test_a_students_sheet_and_grading_use_the_same_variant(tmp_path, seed_cases):
    sheet = explain_case(seed_cases["seed_sigmoid_primitive_steps"], variant="s42", harness=False,
                         sweep=False)
    upstream_w = next(r.upstream for r in sheet.backward if r.name == "w")
    blank = sheet.blanked()
    assert blank.variant == "s42" and "variant s42" in render_text(blank)
    answers = tmp_path / "a.yaml"
    answers.write_text(f"variant: s42\nanswers:\n  - case: seed_sigmoid_primitive_steps\n"
                       f"    claims: {{x: v * (1 - v)}}\n    values: {{w: {upstream_w.full}}}\n", encoding="utf-8")
    report = grade_answers(str(answers), [str(SEED)])
    assert [g.verdict for g in report.grades] == ["right", "right"]
    # the same numbers without the variant are graded at the case's own point: wrong
    answers.write_text(answers.read_text(encoding="utf-8").replace("variant: s42\n", ""), encoding="utf-8")
    assert [g.verdict for g in grade_answers(str(answers), [str(SEED)]).grades] == ["right", "wrong"]
    # seed: is accepted as the same key
    answers.write_text("seed: s42\n" + answers.read_text(encoding="utf-8"), encoding="utf-8")
    assert grade_answers(str(answers), [str(SEED)]).variant == "s42"


def test_feedback_in_chinese(tmp_path):
    result = grade_class([str(STUDENTS / "sign_error.yaml")], PATHS)
    files = write_gradebook(result, str(tmp_path), lang="zh")
    md = next(Path(f) for f in files if f.endswith(".md") and "feedback" in f).read_text(encoding="utf-8")
    assert md.startswith("# 反馈: Cy Sign") and "判定" in md and "**错误**" in md and "诊断" in md
    page = next(Path(f) for f in files if f.endswith(".html")).read_text(encoding="utf-8")
    assert 'lang="zh-Hans"' in page and "PingFang SC" in page
    assert "全班汇总" in (tmp_path / "summary.md").read_text(encoding="utf-8")
