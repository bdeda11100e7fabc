"""report.html at scale (issue 17): the table of every case × dtype, how close each check came to
its bound, the nearest the line, the slowest, and a size budget for the cards' details."""
import json
import re

import numpy as np

from gradcheck_suite.report import Report, render_html
from gradcheck_suite.report.results import bound_share, seconds
from tests.cli.sample import case, mixed_table, row, table


def data_of(html: str) -> dict:
    """The page's data island, as its script reads it."""
    text = re.search(r'<script type="application/json" id="overview-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(text)


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start:html.index("</section>", start)]


def test_one_row_per_case_and_dtype_with_its_worst_check_worst_first():
    data = data_of(render_html(Report(mixed_table())))
    rows = [(data["cases"][r[0]][0], r[1], r[2], r[3]) for r in data["rows"]]
    assert rows == [("nan_case", "float64", "error", "evaluate"), ("cases/broken.yaml", "", "error", "load"),
                    ("sig", "float64", "fail", "expect_vs_torch"), ("relu_kink", "float64", "nondiff", "hand_vs_fd"),
                    ("skipped_case", "float64", "skip", "hand_vs_torch"), ("sig", "float32", "pass", "hand_vs_torch")]
    sig = data["rows"][2]
    assert sig[5] == float(f"{0.1 / (1e-12 + 1e-10 * 0.25):.3g}") == 3.85e9  # error ÷ bound of the failing claim
    assert sig[6] == 0.006  # its time: the input's three timings once, though three rows repeat them
    assert data["rows"][0][5] is None  # an error has no bound
    assert data["cases"][sig[0]] == ["sig", "case-sig"]  # each row links to its card


def test_the_worst_check_of_equal_statuses_is_the_one_nearest_its_bound():
    tab = table(row(check="hand_vs_torch", max_abs_err=1e-13), row(check="hand_vs_fd", max_abs_err=5e-13),
                row(check="torch_vs_fd", max_abs_err=2e-13))
    (r,) = data_of(render_html(Report(tab)))["rows"]
    assert r[3] == "hand_vs_fd" and r[5] == float(f"{5e-13 / 2.6e-11:.3g}")


def test_the_histogram_counts_every_judged_check_and_shows_failures_beyond_the_line():
    html = render_html(Report(mixed_table()))
    svg = html[html.index('<svg class="histogram"'):]
    svg = svg[:svg.index("</svg>")]
    totals = [int(t) for t in re.findall(r'<text class="count" x="[\d.]+" y="[\d.-]+" text-anchor="middle">(\d+)</text>', svg)]
    assert sum(totals) == 6  # pass, nondiff and fail rows with a bound; skip and error rows have none
    bars = re.findall(r'data-lo="([^"]+)" data-hi="([^"]+)"><title>([^<]*)</title>', svg)
    assert bars[-1][:2] == ("2", "Infinity") and bars[-1][2].endswith(": 1 fail")  # the claim, 4e9 × its bound
    assert bars[0][:2] == ("-Infinity", "-8")
    assert 'class="fail"' in svg and 'class="tolerance"' in svg
    assert "6 checks judged" in html


def test_nearest_the_line_lists_passing_checks_by_their_share_of_the_bound():
    tab = table(row(case="far", max_abs_err=1e-15), row(case="close", max_abs_err=9e-13),
                row(case="broken", status="fail", max_abs_err=1.0), row(case="middle", max_abs_err=1e-13))
    html = render_html(Report(tab))
    nearest = html[html.index('id="nearest"'):html.index('id="slowest"')]
    names = re.findall(r'<a href="#case-(\w+)">', nearest)
    assert names == ["close", "middle", "far"]  # the failure is not "near": it is over
    assert ": 0.0346</li>" in nearest  # 9e-13 / (1e-12 + 1e-10 · 0.25)


def test_the_slowest_cases_come_first():
    tab = table(row(case="quick", time_fd_s=0.001), row(case="slow", time_fd_s=2.0),
                row(case="slow", check="hand_vs_fd", time_fd_s=2.0), row(case="medium", time_fd_s=0.5))
    html = render_html(Report(tab))
    slowest = html[html.index('id="slowest"'):]
    slowest = slowest[:slowest.index("</ol>")]
    assert re.findall(r'<a href="#case-(\w+)">', slowest) == ["slow", "medium", "quick"]
    assert "slow</a> [float64]: 2 s" in slowest  # one input: its timings counted once


def test_a_case_name_cannot_end_the_data_island():
    evil = "x</script><script>alert(1)</script>"
    html = render_html(Report(table(row(case=evil))))
    assert html.count("</script>") == 2 and data_of(html)["cases"][0][0] == evil


def test_cards_details_keep_to_their_budget_failures_and_errors_first():
    cases = [case("sig"), case("relu_kink"), case("skipped_case"), case("nan_case")]
    full = render_html(Report(mixed_table(), cases=cases))
    bare = render_html(Report(mixed_table(), cases=cases), page_budget=0)  # every card's details left out
    small = render_html(Report(mixed_table(), cases=cases), page_budget=len(bare.encode()) + 4000)
    assert len(bare) < len(small) < len(full) and len(small.encode()) <= len(bare.encode()) + 4000
    for kept in ("case-nan_case", "case-sig"):  # an error and a failure: details whole
        assert '<table class="checks">' in section(small, kept) and "left-out" not in section(small, kept)
    skipped = section(small, "case-skipped_case")
    assert '<table class="checks">' not in skipped and "Details left out to keep this page under 5 MB" in skipped
    assert '<table class="checks">' not in bare
    assert all("left-out" not in section(full, f"case-{c.name}") for c in cases)


def test_the_gradients_side_by_side_go_first_when_a_card_does_not_fit_whole():
    arrays = {("sig", "float64", "x"): {"ours": np.ones((8, 8)), "torch": np.ones((8, 8)), "fd": np.ones((8, 8)),
                                        "abs_err": np.full((8, 8), 1e-12)}}
    report = Report(table(row(shape=(8, 8))), cases=[case()], arrays=arrays)
    whole, bare = render_html(report), render_html(report, page_budget=0)
    html = render_html(report, page_budget=(len(whole) + len(bare)) // 2)
    card = section(html, "case-sig")
    assert '<table class="checks">' in card and "<th>ours</th>" not in card and 'class="heatmap"' not in card
    assert "Gradients side by side left out" in card


def test_bound_share_and_seconds():
    assert bound_share(1e-9, 1e-9, 1e-8, -0.5, 1e-9, "hand_vs_fd") == 1e-9 / (1e-9 + 0.5e-8 + 1e-9)
    assert bound_share(1e-9, 1e-9, 1e-8, -0.5, 1e-9, "hand_vs_torch") == 1e-9 / (1e-9 + 0.5e-8)  # no FD estimate
    assert np.isnan(bound_share(1.0, 0.0, 0.0, 1.0, np.nan, "hand_vs_torch"))  # no bound
    tab = Report(table(row(input="x"), row(input="x", check="hand_vs_fd"), row(input="y", time_fd_s=1.0))).table
    assert seconds(tab) == 0.006 + 1.003
    assert seconds(tab, by=["case"]).to_dict() == {"sig": 0.006 + 1.003}


def test_the_list_of_failures_at_the_top_is_bounded():
    tab = table(*(row(case=f"c{i:03d}", status="fail") for i in range(130)))
    nav = render_html(Report(tab))
    nav = nav[nav.index('id="problems"'):nav.index("</nav>")]
    assert nav.count("<li>") == 100 and "… and 30 more: the table below lists every case × dtype worst first." in nav
