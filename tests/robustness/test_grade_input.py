"""``grade`` reads its answers file with the case files' guarded reader (issue 18, item 5)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from gradcheck_suite.explain.grade import AnswersError, read_answers

CASE = "name: sq\ninputs: {x: 0.5}\nexpr: x * x\n"


def _bomb(depth: int) -> str:
    """The alias bomb of the issue (depth 9 expands to 9⁹ strings), here shallow."""
    parts = ['student: [&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    parts += [f", &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, depth)]
    return "".join(parts) + "]\nanswers:\n  - case: sq\n    claims: {x: 2 * x}\n"


def _grade(tmp_path, answers: str):
    (tmp_path / "c.yaml").write_text(CASE)
    (tmp_path / "a.yaml").write_text(answers)
    return subprocess.run([sys.executable, "-m", "gradcheck_suite", "grade", "a.yaml", "--path", "c.yaml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_the_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    done = _grade(tmp_path, _bomb(3))
    assert done.returncode == 1  # a student's unreadable file: recorded, exit 1 (2 is the instructor's setup)
    assert "a.yaml:1:" in done.stdout and "YAML aliases of lists and mappings (*name) are not supported" in done.stdout


def test_the_full_size_bomb_is_refused_at_once(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(_bomb(9))
    with pytest.raises(AnswersError, match="aliases"):
        read_answers(str(path))


def test_a_list_valued_claim_is_a_located_error(tmp_path):
    done = _grade(tmp_path, "answers:\n  - case: sq\n    claims: {x: [1, 2]}\n")
    assert done.returncode == 1  # a student's unreadable file: recorded, exit 1 (2 is the instructor's setup)
    assert "a.yaml:3:17: the claim for 'x' must be an expression (text)" in done.stdout
    assert "internal error" not in done.stdout + done.stderr and "AttributeError" not in done.stdout + done.stderr


@pytest.mark.parametrize("answers, message", [
    ("answers:\n  - case: sq\n    claims: {x: 2 * x, x: 3 * x}\n", "duplicate key 'x'"),
    ("answers: []\nanswers:\n  - case: sq\n    claims: {x: 2 * x}\n", "duplicate key 'answers'"),
    ("answers:\n  - case: sq\n    claims: {x: !!python/object/apply:os.system [ls]}\n", "YAML tag"),
])
def test_duplicate_keys_and_tags_are_refused(tmp_path, answers, message):
    path = tmp_path / "a.yaml"
    path.write_text(answers)
    with pytest.raises(AnswersError, match=message):
        read_answers(str(path))


def test_the_file_size_limit_applies(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("# " + "x" * 2**20 + "\nanswers:\n  - case: sq\n    claims: {x: 2 * x}\n")
    with pytest.raises(AnswersError, match="the limit is 1,048,576"):
        read_answers(str(path))
