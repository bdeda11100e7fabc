"""summary.md: status first, failures table, details folded, size-bounded, escaped."""
from gradcheck_suite.report import Report, render_markdown
from tests.cli.sample import SCRIPT, mixed_table, row, table


def test_status_comes_first():
    assert render_markdown(Report(table(row()))).startswith("## ✅ gradcheck-suite: all checks passed")
    assert render_markdown(Report(table(row(), row(status="fail")))).splitlines()[0].startswith("## ❌")
    assert "2 error(s), 1 failure(s)" in render_markdown(Report(mixed_table())).splitlines()[0]


def test_failures_and_errors_table_then_details():
    text = render_markdown(Report(mixed_table()))
    problems, details = text.split("<details>")
    assert "### Failures and errors" in problems
    assert "| fail | sig | float64 | x | expect\\_vs\\_torch |" in problems
    assert "unknown key 'inptus'" in problems  # the load error, found by file
    assert "relu\\_kink" not in problems and "relu\\_kink" in details
    assert details.rstrip().endswith("</details>")


def test_incomplete_runs_say_so():
    text = render_markdown(Report(table(row()), incomplete=True))
    assert text.startswith("## ⚠️ gradcheck-suite: incomplete run; of the finished checks, all checks passed")
    assert "Incomplete run" in text
    assert "Incomplete run" not in render_markdown(Report(table(row())))


def test_cells_are_escaped():
    text = render_markdown(Report(table(row(status="fail", message=f"a | b\n{SCRIPT}"))))
    assert SCRIPT not in text
    assert "a \\| b &lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_large_runs_are_truncated_under_the_limit_with_a_note():
    big = table(*[row(case=f"case_{i:05d}", status="fail" if i % 2 else "pass", message="m" * 80)
                  for i in range(3000)])
    limit = 100_000
    text = render_markdown(Report(big), max_bytes=limit)
    assert len(text.encode("utf-8")) <= limit
    assert "more failure/error rows not shown" in text and "see results.csv" in text
    assert text.count("<details>") == 1 and text.rstrip().endswith("</details>")


def test_default_limit_is_under_one_mebibyte():
    big = table(*[row(case=f"case_{i:05d}", status="fail", message="x" * 300) for i in range(5000)])
    assert len(render_markdown(Report(big)).encode("utf-8")) < 2**20


def test_markdown_syntax_in_case_text_stays_text():
    text = render_markdown(Report(table(row(case="__dunder__", status="fail",
                                            message=r"*not bold* a\b [link](x) ~~gone~~ $x^2$ `tick`"))))
    assert "\\_\\_dunder\\_\\_" in text and "__dunder__" not in text
    assert r"\*not bold\*" in text and r"a\\b" in text and r"\[link\](x)" in text
    assert r"\~\~gone\~\~" in text and r"\$x^2\$" in text and r"\`tick\`" in text


def test_equal_values_of_other_types_keep_their_own_cells():
    # cells are escaped once per distinct value: 1, 1.0 and True are equal keys, yet other cells
    import pandas as pd

    from gradcheck_suite.report.markdown import _rows

    lines = list(_rows(pd.DataFrame({"input": [1, True, 1.0, "1", 1]}, dtype=object), ("input",)))
    assert lines == ["| 1 |\n", "| true |\n", "| 1.0 |\n", "| 1 |\n", "| 1 |\n"]
