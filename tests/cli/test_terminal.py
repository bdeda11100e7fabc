"""The terminal: a progress bar only on a terminal, and the end-of-run summary."""
import io

from gradcheck_suite.report import Report, progress_bar, render_summary
from gradcheck_suite.report.terminal import MAX_LISTED
from tests.cli.sample import mixed_table, row, table


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_on_a_terminal():
    stream = FakeTerminal()
    with progress_bar(True, stream) as progress:
        assert callable(progress)
        progress(1, 2, "first_case")
        progress(2, 2, "second_case")
    assert "2/2" in stream.getvalue()


def test_no_progress_bar_in_logs_or_when_quiet():
    with progress_bar(True, io.StringIO()) as progress:
        assert progress is None
    stream = FakeTerminal()
    with progress_bar(False, stream) as progress:
        assert progress is None
    assert stream.getvalue() == ""


def test_summary_lists_problems_then_status_then_paths():
    text = render_summary(Report(mixed_table()), ["out/results.csv"]).splitlines()
    assert text[0].startswith("FAIL  sig[float64]: expect_vs_torch x, max_abs_err=0.1")
    assert text[1].startswith("ERROR nan_case[float64]: evaluate") and "— cases/kinks.yaml:9:5:" in text[1]
    assert text[2].startswith("ERROR cases/broken.yaml: load")
    assert text[3] == "FAILED: 4 pass, 1 nondiff, 1 skip, 1 fail, 2 error (9 checks, 4 cases); exit code 2"
    assert text[4] == "report: out/results.csv"


def test_summary_of_a_clean_run_and_a_long_list():
    assert render_summary(Report(table(row(), row(status="nondiff")))) == "OK: 1 pass, 1 nondiff (2 checks, 1 case); exit code 0\n"
    many = table(*[row(case=f"c{i}", status="fail") for i in range(MAX_LISTED + 7)])
    text = render_summary(Report(many))
    assert text.count("\nFAIL ") + text.startswith("FAIL ") == MAX_LISTED
    assert "… and 7 more" in text
