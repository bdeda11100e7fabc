"""Students' code (tests/explain/code_class/): each submission in its own process, graded per gradient.

The class plants the submissions a backprop course gets: right, a sign, a transpose,
a missing batch sum, keepdims, a mean for a sum, a factor of 2, code that raises,
loops forever, calls sys.exit, ends its process, prints garbage, monkeypatches numpy,
does not parse, does not import, misspells the function.  Each test asserts the verdict
*and* what the feedback says.
"""
from __future__ import annotations

import builtins
import csv
import dataclasses
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gradcheck_suite.explain.grade import AnswersError
from gradcheck_suite.explain.gradebook import grade_class, read_assignment, write_gradebook

HERE = Path(__file__).resolve().parent / "code_class"
STUDENTS = HERE / "students"
CASES = [str(HERE / "cases.yaml")]
ASSIGNMENT = str(HERE / "assignment.yaml")
LIMIT = 2.0  # seconds per submission in these tests (the fixture assignment says 5)


def assignment(**code_changes):
    a = read_assignment(ASSIGNMENT)
    a.code = dataclasses.replace(a.code, **{"time_limit": LIMIT, **code_changes})
    return a


def by_student(result):
    return {r.student: {(g.case, g.input): g for g in r.grades} for r in result.reports}


@pytest.fixture(scope="module")
def graded_class():
    t0 = time.perf_counter()
    result = grade_class([str(STUDENTS)], CASES, assignment(), jobs=2)
    return result, by_student(result), time.perf_counter() - t0


def verdicts(grades, case="course_affine"):
    return {of: (g.verdict, g.diagnosis_kind) for (c, of), g in grades.items() if c == case}


def test_the_class_is_graded_students_mistakes_exit_1(graded_class):
    result, students, _ = graded_class
    assert not result.setup_errors and result.exit_code == 1
    assert len(students) == len(list(STUDENTS.glob("*.py")))
    assert all(g.kind == "code" for r in result.reports for g in r.grades)


def test_right_submission_every_gradient_right(graded_class):
    _, students, _ = graded_class
    right = students["right"]
    assert {g.verdict for g in right.values()} == {"right"} and len(right) == 8  # forward + 3 + 3 + 1
    assert "subject_vs_fd" in right[("course_affine", "w")].message
    assert right[("course_batchnorm", "forward")].claim == "batchnorm_forward"  # the cache travelled by handle


def test_partial_credit_per_argument_and_the_usual_mistakes(graded_class):
    _, s, _ = graded_class
    assert verdicts(s["sign"]) == {"x": ("wrong", "sign"), "w": ("right", ""), "b": ("right", "")}
    assert verdicts(s["transpose"])["w"] == ("shape", "transpose")
    assert "(3, 2)" in s["transpose"][("course_affine", "w")].diagnosis \
        and "(2, 3)" in s["transpose"][("course_affine", "w")].diagnosis
    assert verdicts(s["batch_sum"])["b"] == ("shape", "batch_sum")
    assert "got (4, 2)" in s["batch_sum"][("course_affine", "b")].diagnosis
    assert verdicts(s["keepdims"])["b"] == ("shape", "shape")
    assert "keepdims" in s["keepdims"][("course_affine", "b")].diagnosis
    assert verdicts(s["mean_db"])["b"] == ("wrong", "factor")
    assert "1/4" in s["mean_db"][("course_affine", "b")].diagnosis
    assert verdicts(s["factor_two"])["w"] == ("wrong", "factor")
    assert "factor of 2" in s["factor_two"][("course_affine", "w")].diagnosis
    assert verdicts(s["loss_sign"], "course_softmax_loss") == {"s": ("wrong", "sign")}
    assert "returned 1 gradient(s) for the 2 argument(s) (s, y)" in s["returns_one"][("course_softmax_loss", "s")].diagnosis
    for student in ("sign", "transpose", "batch_sum", "mean_db", "factor_two"):  # the other layers stay right
        assert {g.verdict for (c, _), g in s[student].items() if c != "course_affine"} == {"right"}


def test_points_partial_credit_in_the_gradebook(graded_class, tmp_path):
    result, _, _ = graded_class
    write_gradebook(result, str(tmp_path))
    with open(tmp_path / "gradebook.csv", encoding="utf-8") as fh:
        rows = {(r["student"], r["case"], r["of"]): r for r in csv.DictReader(fh)}
    dw = rows[("transpose", "course_affine", "w")]
    assert (dw["kind"], dw["verdict"], dw["max_points"], dw["points"]) == ("code", "shape", "2.0", "1.0")  # 0.5 × 2
    dx = rows[("sign", "course_affine", "x")]
    assert (dx["verdict"], dx["points"], dx["diagnosis_kind"]) == ("wrong", "0.0", "sign")
    assert rows[("sign", "course_affine", "w")]["points"] == "2.0"
    feedback = (tmp_path / "feedback" / "hangs.md").read_text(encoding="utf-8")
    assert "**time limit**" in feedback and f"stopped after the time limit of {LIMIT:g} s" in feedback
    assert "— |" not in feedback  # no dangling separator where a code grade has no further message
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| `course_affine` | `w` (code) |" in summary


def test_code_that_raises_or_exits_is_recorded_as_crashed(graded_class):
    _, s, _ = graded_class
    raised = s["raises"][("course_affine", "x")]
    line = (STUDENTS / "raises.py").read_text().splitlines().index("    raise ValueError('not done yet')") + 1
    assert raised.verdict == "crashed" and f"raised ValueError: not done yet (raises.py:{line})" in raised.diagnosis
    exited = s["exits"][("course_affine", "b")]
    assert exited.verdict == "crashed" and "called sys.exit(3)" in exited.diagnosis
    # the process survives a sys.exit: the student's other layers are still graded
    assert s["exits"][("course_batchnorm", "x")].verdict == "right"
    died = s["dies"]
    assert {g.verdict for g in died.values()} == {"crashed"}
    assert "ended by itself" in died[("course_affine", "x")].diagnosis


def test_unreadable_and_missing_code(graded_class):
    _, s, _ = graded_class
    syntax = s["syntax_error"][("course_affine", "x")]
    assert syntax.verdict == "unreadable" and "syntax error at syntax_error.py:5:32: expected ':'" in syntax.diagnosis
    imp = s["import_error"][("course_softmax_loss", "s")]
    assert imp.verdict == "unreadable" and "No module named 'scipy_is_not_a_module_here'" in imp.diagnosis
    missing = s["misnamed"][("course_affine", "w")]
    assert missing.verdict == "missing" and "did you mean 'affine_backwards'?" in missing.diagnosis
    assert s["misnamed"][("course_batchnorm", "x")].verdict == "right"


def test_an_endless_loop_ends_at_the_time_limit_and_the_grader_goes_on():
    t0 = time.perf_counter()
    result = grade_class([str(STUDENTS / "hangs.py"), str(STUDENTS / "right.py")], CASES, assignment())
    elapsed = time.perf_counter() - t0
    hangs, right = (by_student(result)[n] for n in ("hangs", "right"))
    assert {g.verdict for g in hangs.values()} == {"timeout"}
    assert f"time limit of {LIMIT:g} s" in hangs[("course_affine", "x")].diagnosis
    assert {g.verdict for g in right.values()} == {"right"}
    assert elapsed < LIMIT + 15  # the loop is killed at the limit; the rest is the grader's own work


def test_a_submission_that_monkeypatches_numpy_does_not_touch_the_next_one_nor_the_grader():
    result = grade_class([str(STUDENTS / "monkeypatch.py"), str(STUDENTS / "right.py")], CASES, assignment())
    s = by_student(result)
    assert s["monkeypatch"][("course_affine", "b")].verdict == "shape"  # its own np.sum returns 0.0
    assert {g.verdict for g in s["right"].values()} == {"right"}
    assert np.sum(np.ones(3)) == 3.0 and np.mean(np.ones(2)) == 1.0 and builtins.print is print
    assert "submission" not in sys.modules  # never imported here


def test_garbage_on_stdout_does_not_reach_the_grader_output(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gradcheck_suite", "grade", str(STUDENTS / "garbage.py"),
                           "--path", CASES[0], "--assignment", ASSIGNMENT, "--out", str(tmp_path)],
                          capture_output=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"\x1b" not in done.stdout and b"GARBAGE" not in done.stdout and b"\xff" not in done.stdout
    assert b"8 of 8 claim(s) right" in done.stdout
    text = (tmp_path / "gradebook.csv").read_text(encoding="utf-8")
    assert "printed, and the grader ignored" in text and "\\x00\\x01" in text and "\x1b" not in text


def test_exit_codes_right_class_0_setup_errors_2(tmp_path):
    assert grade_class([str(STUDENTS / "right.py")], CASES, assignment()).exit_code == 0
    bad = assignment()
    bad.code = dataclasses.replace(bad.code, functions=[dataclasses.replace(bad.code.functions[0],
                                                                            case="course_afine")])
    result = grade_class([str(STUDENTS / "right.py")], CASES, bad)
    assert result.exit_code == 2 and "no case named 'course_afine' (did you mean 'course_affine'?)" \
        in result.setup_errors[0]
    no_code = grade_class([str(STUDENTS / "right.py")], CASES)
    assert no_code.exit_code == 2 and "code: section" in no_code.setup_errors[0]
    (tmp_path / "a.yaml").write_text("code:\n  functions:\n    - {case: course_affine, backwrd: f}\n")
    with pytest.raises(AnswersError, match="backward"):
        read_assignment(str(tmp_path / "a.yaml"))
    (tmp_path / "b.yaml").write_text("code:\n  functions: [{case: c, backward: f}]\n  time_limit: -1\n")
    with pytest.raises(AnswersError, match="time_limit"):
        read_assignment(str(tmp_path / "b.yaml"))


def test_cli_exit_codes(tmp_path):
    def grade(*args):
        return subprocess.run([sys.executable, "-m", "gradcheck_suite", "grade", *args, "--path", CASES[0]],
                              capture_output=True, text=True, cwd=tmp_path).returncode

    # (0 through the command: the garbage test; code without a code: section: in-process above)
    assert grade(str(STUDENTS / "sign.py"), str(STUDENTS / "syntax_error.py"), "--assignment", ASSIGNMENT,
                 "--jobs", "2") == 1
    (tmp_path / "bad.yaml").write_text("code: {functions: [{case: nope, backward: f}]}\n")
    assert grade(str(STUDENTS / "right.py"), "--assignment", str(tmp_path / "bad.yaml")) == 2


def test_a_folder_per_student_with_a_named_module(tmp_path):
    for name, source in (("ada", "right.py"), ("bob", "sign.py")):
        (tmp_path / name).mkdir()
        shutil.copy(STUDENTS / source, tmp_path / name / "layers.py")
    shutil.copy(STUDENTS / "right.py", tmp_path / "bob" / "right.py")  # a helper module beside it, imported
    (tmp_path / "cy").mkdir()
    shutil.copy(STUDENTS / "right.py", tmp_path / "cy" / "Layers.py")
    (tmp_path / "ada" / "helpers.py").write_text("raise SystemExit('a helper is not a submission')\n")
    result = grade_class([str(tmp_path)], CASES, assignment(module="layers.py"))
    s = by_student(result)
    assert sorted(s) == ["ada", "bob", "cy"]
    assert {g.verdict for g in s["ada"].values()} == {"right"}
    assert s["bob"][("course_affine", "x")].verdict == "wrong"
    assert s["cy"][("course_affine", "x")].verdict == "missing" and "Layers.py" in s["cy"][("course_affine", "x")].diagnosis


def test_chinese_feedback_names_the_code_verdicts(graded_class, tmp_path):
    result, _, _ = graded_class
    write_gradebook(result, str(tmp_path), lang="zh")
    assert "超时" in (tmp_path / "feedback" / "hangs.md").read_text(encoding="utf-8")
    assert "运行出错" in (tmp_path / "feedback" / "raises.html").read_text(encoding="utf-8")
    assert "缺少函数" in (tmp_path / "feedback" / "misnamed.md").read_text(encoding="utf-8")
