"""A real browser opens report.html: the summary is in the DOM and the page's script ran.

Runs where Debian's headless Chromium is installed — ``.ci/run`` installs it (through
``.ci/install-chromium``) wherever apt-get and root are available, and prints a line
saying so or why not; the flags keep it from touching the network.
"""
import re
import subprocess

import pytest

from gradcheck_suite.report import Report, write_reports
from tests.cli.sample import SCRIPT, case, mixed_table

from tests.promised import CHROMIUM, need_chromium


@pytest.fixture(autouse=True)
def _chromium():
    """Skipped without Chromium, failed without it under CI (tests/promised.py)."""
    need_chromium()


def dump_dom(path, tmp_path, fragment: str = "") -> str:
    """The DOM after the page's scripts ran (a fresh profile per call)."""
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
         f"--user-data-dir={profile}", "--dump-dom", path.resolve().as_uri() + fragment],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_browser_shows_the_summary_and_runs_the_filter_script(tmp_path):
    evil = case("sig", title=SCRIPT, description=SCRIPT)
    write_reports(Report(mixed_table(), cases=[evil]), tmp_path, ["html"])
    dom = dump_dom(tmp_path / "report.html", tmp_path)
    assert 'id="summary"' in dom
    assert "pass 4" in dom and "fail 1" in dom and "error 2" in dom
    # filled in by the page's inline script: proves the CSP lets it run
    assert "showing 5 of 5 cases, 6 of 6 rows" in dom
    # the case file's script text stayed text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and SCRIPT not in dom


def test_a_link_to_a_case_opens_its_details(tmp_path):
    write_reports(Report(mixed_table()), tmp_path, ["html"])
    page = tmp_path / "report.html"
    closed = dump_dom(page, tmp_path)
    section = closed[closed.index('id="case-relu_kink"'):]
    assert section[:section.index("</section>")].count("<details>") == 1  # nondiff: folded
    linked = dump_dom(page, tmp_path, "#case-relu_kink")
    section = linked[linked.index('id="case-relu_kink"'):]
    assert '<details open="">' in section[:section.index("</section>")]


def rows_of(dom: str) -> list[list[str]]:
    """The cells of the case × dtype table as the page's script built them."""
    body = dom[dom.index('<table id="case-table">'):]
    body = body[body.index("<tbody>"):body.index("</tbody>")]
    return [re.findall(r"<td[^>]*>(?:<a [^>]*>)?([^<]*)", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body)]


def test_the_script_builds_the_case_table_worst_first(tmp_path):
    write_reports(Report(mixed_table()), tmp_path, ["html"])
    dom = dump_dom(tmp_path / "report.html", tmp_path)
    rows = rows_of(dom)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("nan_case", "float64", "error"), ("cases/broken.yaml", "", "error"), ("sig", "float64", "fail"),
        ("relu_kink", "float64", "nondiff"), ("skipped_case", "float64", "skip"), ("sig", "float32", "pass")]
    assert rows[2][3] == "expect_vs_torch x" and rows[2][4] == "3850000000" and rows[2][5] == "6e-3"
    assert re.search(r'<th data-key="2" data-type="status" aria-sort="ascending">', dom)
    assert float(re.search(r'data-script-ms="([\d.]+)"', dom).group(1)) < 1000


def test_a_report_of_3000_cases_stays_under_5_mb_and_its_script_under_a_second(tmp_path):
    from tests.cli.scale import big_report

    write_reports(big_report(3000), tmp_path, ["html"])
    page = tmp_path / "report.html"
    assert page.stat().st_size < 5_000_000
    dom = dump_dom(page, tmp_path)
    assert "showing 3000 of 3000 cases, 6000 of 6000 rows" in dom
    assert len(rows_of(dom)) == 6000
    times = {k: float(v) for k, v in re.findall(r'data-(script|sort|filter)-ms="([\d.]+)"', dom)}
    assert set(times) == {"script", "sort", "filter"} and times["script"] < 1000, times
