"""Claimed derivatives are graded with where and by how much; the answers-file grader."""
from __future__ import annotations

import math

from gradcheck_suite.cli import main as cli_main
from gradcheck_suite.explain.build import explain_case
from gradcheck_suite.explain.grade import grade_answers, read_answers
from gradcheck_suite.explain.text import render_text
from tests.explain.conftest import SEED, case_from_yaml


def _sig(x):
    return 1 / (1 + math.exp(-x))


def test_wrong_claim_is_graded_wrong_with_its_difference():
    case = case_from_yaml("name: s\ninputs: {x: 0.45}\nsteps: {f: -x, g: exp(f), w: 1 + g, v: 1 / w}\n"
                          "expect: {x: v * (1 + v)}\n")
    ex = explain_case(case, harness=False, sweep=False)
    (g,) = ex.claims
    v = _sig(0.45)
    assert g.verdict == "wrong"
    assert math.isclose(float(g.claimed.full), v * (1 + v), rel_tol=1e-12)
    assert math.isclose(g.abs_diff, abs(v * (1 + v) - v * (1 - v)), rel_tol=1e-9)
    assert g.wrong_elements == 1 == g.total_elements
    text = render_text(ex)
    assert "wrong" in text and "off by" in text


def test_claim_off_by_1e4_relative_is_caught_in_float64():
    case = case_from_yaml("name: s\ninputs: {x: 0.45}\nsteps: {y: sigmoid(x)}\n"
                          "expect: {x: y * (1 - y) * 1.0001}\n")
    (g,) = explain_case(case, harness=False, sweep=False).claims
    assert g.verdict == "wrong" and math.isclose(g.rel_diff, 1e-4, rel_tol=1e-6)


def test_array_claim_reports_the_worst_element():
    case = case_from_yaml("name: a\ninputs: {x: [0.5, -1.0, 2.0]}\nsteps: {y: sum(x * x)}\n"
                          "expect: {x: '2 * x + [0, 0, 0.5]'}\n")
    (g,) = explain_case(case, harness=False, sweep=False).claims
    assert g.verdict == "wrong" and g.worst_index == "[2]" and g.wrong_elements == 1
    assert math.isclose(g.abs_diff, 0.5)


def test_right_claims_of_the_seed_cases(explained):
    grades = [g for ex in explained.values() for g in ex.claims]
    assert len(grades) == 4 and all(g.verdict == "right" for g in grades)


def _answers(tmp_path, text):
    p = tmp_path / "ANSWERS.yaml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_grader_on_a_small_answers_file(tmp_path):
    path = _answers(tmp_path, """\
student: Ada
answers:
  - case: seed_sigmoid_primitive_steps
    claims:
      x: v * (1 - v)
  - case: seed_two_paths
    claims:
      x: sin(v) * y + u * cos(v)
      y: sin(v) * x
""")
    report = grade_answers(path, [str(SEED)])
    assert report.student == "Ada"
    assert [(g.case, g.input, g.verdict) for g in report.grades] == [
        ("seed_sigmoid_primitive_steps", "x", "right"), ("seed_two_paths", "x", "right"),
        ("seed_two_paths", "y", "wrong")]
    wrong = report.grades[-1]
    x, y = 0.8, -1.1
    assert math.isclose(wrong.abs_diff, abs(x * y * math.cos(x + y)), rel_tol=1e-9)
    assert report.exit_code == 1


def test_grader_exit_codes_through_the_cli(tmp_path, capsys):
    right = _answers(tmp_path, "case: seed_sigmoid_affine\nclaims: {x: y * (1 - y) * w}\n")
    assert cli_main(["grade", right, "--path", str(SEED)]) == 0
    assert "1 of 1 claim(s) right" in capsys.readouterr().out
    (tmp_path / "wrong.yaml").write_text("- case: seed_sigmoid_affine\n  claims: {x: y * (1 - y)}\n")
    assert cli_main(["grade", str(tmp_path / "wrong.yaml"), "--path", str(SEED)]) == 1
    out = capsys.readouterr().out
    assert "WRONG" in out and "off by" in out
    # a student's mistakes (a case that does not exist, a claim that does not parse) are recorded: exit 1
    (tmp_path / "unknown.yaml").write_text("case: seed_sigmoid_afine\nclaims: {x: y}\n")
    assert cli_main(["grade", str(tmp_path / "unknown.yaml"), "--path", str(SEED)]) == 1
    assert "did you mean 'seed_sigmoid_affine'" in capsys.readouterr().out
    (tmp_path / "bad.yaml").write_text("case: seed_sigmoid_affine\nclaims:\n  x: y * (1 - \n")
    assert cli_main(["grade", str(tmp_path / "bad.yaml"), "--path", str(SEED)]) == 1
    assert "UNREADABLE" in capsys.readouterr().out
    # the instructor's setup error (no such case folder) is exit 2
    assert cli_main(["grade", right, "--path", str(tmp_path / "no_such_folder")]) == 2


def test_answers_file_errors_are_located(tmp_path):
    path = _answers(tmp_path, "answers:\n  - case: a\n    claim: {x: 1}\n")
    report = grade_answers(path, [str(SEED)])
    assert report.exit_code == 1 and not report.errors  # the student's file: recorded, not a setup error
    assert "ANSWERS.yaml:2" in report.file_error and "did you mean 'claims'" in report.file_error


def test_claim_that_does_not_parse_is_an_error_with_its_column(tmp_path):
    path = _answers(tmp_path, "case: seed_sigmoid_affine\nclaims:\n  x: y * import\n")
    report = grade_answers(path, [str(SEED)])
    (g,) = report.grades
    assert g.verdict == "unreadable" and "ANSWERS.yaml:3" in g.message
    assert read_answers(path)[1][0].positions["x"] == (3, 6)
