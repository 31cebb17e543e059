"""Issue 14.1: one self-contained HTML report (the browser test is test_html_browser.py)."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli
from intranet_metrics.render import to_html
from intranet_metrics.render.i18n import Lang

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample_logs"
GOLDEN = Path(__file__).parent / "golden" / "i18n"
# The SVG namespaces are names, not addresses a browser fetches.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def report(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def charts(page: str) -> dict[str, str]:
    return dict(re.findall(r'<figure class="chart" data-chart="(\w+)">(.*?)</figure>', page, re.S))


def data_marks(svg: str) -> int:
    """Drawn data marks (bars, lines, points, rules) in a Vega SVG, axes and legends not."""
    groups = re.findall(r'<g class="mark-\w+ role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    return sum(len(re.findall(r'<(?:path|line)[^>]*?(?: d="M| x2=)', g)) for g in groups)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("baseline", {"rates", "ladder"}),
        ("compare", {"rates", "ladder"}),
        ("trend", {"trend", "ladder"}),
    ],
)
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_each_report_has_its_charts_drawn(name, expected, lang):
    page = to_html(report(name), Lang(lang))
    found = charts(page)
    assert set(found) == expected
    for chart, svg in found.items():
        assert svg.startswith("<svg") and data_marks(svg) >= 3, chart


@pytest.mark.parametrize("name", ["baseline", "compare", "trend"])
def test_self_contained_no_script_no_address(name):
    page = to_html(report(name), Lang())
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= NAMESPACES
    assert not re.search(r"\b(?:src|href)=", page)
    assert len(page.encode()) < 1_000_000


def test_compare_tiles_say_goal_gap_change_and_whether_it_is_real():
    r = report("compare")
    r["changes"]["contributor"]["p_value"] = 0.2  # as if the change could be chance
    page = to_html(r, Lang())
    assert page.count('class="tile"') == 3
    assert "72.5%" in page and "goal 55%" in page and "met (95% sure)" in page
    assert "+22.3 pp since the baseline: a real change (p &lt;0.001)" in page
    assert "+9.4 pp since the baseline: could be chance (p = 0.200)" in page


def test_baseline_tiles_show_the_gap_to_an_unmet_goal():
    page = to_html(report("baseline"), Lang())
    # reader 50.3% against 55%: 4.7 pp to go.
    assert "gap to goal: +4.7 pp" in page and "not met" in page


def test_segments_shaded_and_suppressed_groups_shown_as_such():
    page = to_html(report("compare"), Lang())
    table = page[page.index('<table class="segments">') :]
    assert table.count('class="suppressed" colspan="4">suppressed<') == 2  # HR and Legal
    assert "rgba(0, 114, 178," in table


def test_appendix_names_every_input_with_its_sha256_and_the_tool():
    r = report("compare")
    page = to_html(r, Lang())
    appendix = page[page.index("<h2>Appendix</h2>") :]
    for i in r["current"]["inputs"]:
        assert i["sha256"] in appendix and i["file"] in appendix
    assert "intranet-metrics 0.1.0" in appendix
    assert "mcnemar-midp" in appendix and "HR roster" in appendix
    assert "concealed names" in appendix  # the warnings


def test_dutch_page():
    page = to_html(report("compare"), Lang("nl"))
    assert '<html lang="nl">' in page
    assert "72,5%" in page and "1 januari 2026" in page and "Bijlage" in page
    assert "een echte verandering (p &lt;0,001)" in page
    # Axis numbers in the charts too (Vega's nl-NL locale; 20% has no decimals).
    assert "Aandeel" in charts(page)["rates"]


def test_labels_are_escaped():
    r = report("baseline")
    r["segments"]["department"][0]["value"] = "<script>alert(1)</script>"
    r["label"] = "Q1 <b>"
    page = to_html(r, Lang())
    assert "<script>" not in page and "&lt;script&gt;" in page and "Q1 &lt;b&gt;" in page


def test_a_trend_period_without_data_is_no_data_not_zero():
    r = report("trend")
    gap = r["rows"][4]
    gap["no_data"] = True
    for t in gap["metrics"].values():
        t.update(users=None, rate=None, ci95=None)
    page = to_html(r, Lang())
    assert "<td>no data</td>" in page
    assert data_marks(charts(page)["trend"]) >= 3


def test_html_at_a_real_organisations_size():
    """A daily trend over a year and a 2,000-value segment table: rendered in seconds."""
    trend = report("trend")
    row = trend["rows"][0]
    trend["rows"] = [
        {**copy.deepcopy(row), "period": f"2026-d{i:03d}", "from": "2026-01-01"} for i in range(366)
    ]
    base = report("baseline")
    seg = base["segments"]["department"][0]
    base["segments"]["team"] = [{**seg, "value": f"team {i}"} for i in range(2000)]
    t0 = time.perf_counter()
    pages = [to_html(trend, Lang("nl")), to_html(base, Lang("nl"))]
    elapsed = time.perf_counter() - t0
    assert data_marks(charts(pages[0])["trend"]) >= 366
    assert pages[1].count("<td>team ") == 2000
    assert elapsed < 30


# -- the CLI --------------------------------------------------------------------------------
def run(store: Path, *args: object):
    r = CliRunner().invoke(cli, ["--store", str(store), *map(str, args)])
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    s = tmp_path_factory.mktemp("html") / "store"
    run(s, "ingest", SAMPLE / "exports", "--format", "json")
    return s


def test_output_html_on_baseline_compare_and_report(store, tmp_path):
    roster, goals = SAMPLE / "roster.csv", SAMPLE / "goals.toml"
    q1 = ("--from", "2026-01-01", "--to", "2026-03-31")
    base = tmp_path / "b.json"
    run(store, "baseline", "--roster", roster, *q1, "-o", base)
    run(store, "baseline", "--roster", roster, *q1, "--by", "department", "-o", tmp_path / "b.html")
    run(
        store,
        "compare",
        "--baseline",
        base,
        "--roster",
        roster,
        "--goals",
        goals,
        "--from",
        "2026-07-01",
        "--to",
        "2026-09-30",
        "--lang",
        "nl",
        "-o",
        tmp_path / "c.html",
    )
    out = run(store, "report", "--roster", roster, "--format", "html").stdout
    assert set(charts(out)) == {"trend", "ladder", "lifecycle"}
    assert set(charts((tmp_path / "b.html").read_text(encoding="utf-8"))) == {"rates", "ladder"}
    nl = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert '<html lang="nl">' in nl and "72,5%" in nl
    # The paired change's interval and split, drawn (issue 13's results in the page).
    assert set(charts(nl)) == {"rates", "change", "split", "ladder"}


def test_science_figures_shown_when_present():
    r = report("baseline")
    assert "Inequality" not in to_html(r, Lang())
    r["inequality"] = {"gini": 0.8123, "top1_share": 0.25, "top10_share": 0.6}
    r["interaction"] = {"reply_coverage": 0.5, "median_first_response_hours": 3.25}
    page = to_html(r, Lang("nl"))
    assert "Ongelijkheid en interactie" in page and "0,81" in page and "60,0%" in page


def test_trend_tiles_name_the_latest_period_and_show_its_segments():
    r = report("trend")
    r["rows"][-1]["segments"] = report("baseline")["segments"]
    page = to_html(r, Lang())
    assert "Readers · 2026-09" in page
    assert "<h3>By department</h3>" in page and page.count(">suppressed<") == 2


def test_an_empty_window_and_no_goals_render_without_error():
    r = report("baseline")
    r["goals"] = []
    r["segments"] = {}
    for t in r["metrics"].values():
        t.update(users=0, rate=None, ci95=None)
    r["ladder"] = dict.fromkeys(r["ladder"], 0)
    r["population"].update(size=0, identity_coverage=None)
    page = to_html(r, Lang("nl"))
    assert page.count("geen doel gesteld") == 3
    assert set(charts(page)) == {"rates", "ladder"}


def test_a_change_without_a_test_says_so():
    r = report("compare")
    r["changes"]["reader"].update(p_value=None, p_value_exact=None, delta_pp=None)
    assert "– since the baseline: not tested" in to_html(r, Lang())


# -- issue 13's results in the page (issue 14's closing gaps) ---------------------------------
SCIENCE = Path(__file__).parent / "golden"  # made by the CLI on sample_logs/, with issue 13


def science(name: str) -> dict:
    return json.loads((SCIENCE / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_compare_shows_each_change_with_its_interval_and_split(lang):
    r = science("compare")
    page = to_html(r, Lang(lang))
    found = charts(page)
    assert {"change", "split"} <= set(found)
    # A whisker and a point per tier; three parts per tier.
    assert data_marks(found["change"]) >= 6 and data_marks(found["split"]) >= 9
    L = Lang(lang)
    iv = L.interval_pp(r["changes"]["reader"]["interval_pp"])
    assert f"95%: {iv}" in page  # in the reader's tile
    assert page.count(iv) >= 2  # and in the table of the change in detail
    stayers = L.pp(r["changes"]["reader"]["split"]["stayers"]["contribution_pp"])
    assert f"<td>{stayers}</td>" in page


def test_a_withheld_change_draws_no_change_chart():
    r = science("compare")
    for ch in r["changes"].values():
        ch.update(interval_pp=None, split=None, p_value=None, delta_pp=None)
    found = charts(to_html(r, Lang()))
    assert "change" not in found and "split" not in found


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_trend_shows_the_lifecycle(lang):
    r = science("report")
    page = to_html(r, Lang(lang))
    found = charts(page)
    assert data_marks(found["lifecycle"]) >= 3 * len(r["rows"])
    assert Lang(lang).t("How people come and go") in page


LEADERSHIP = {
    "managers": {"population": 12, "suppressed": False}
    | {"reader_rate": 0.75, "reactor_rate": 0.5, "contributor_rate": 0.25},
    "others": {"population": 170, "suppressed": False}
    | {"reader_rate": 0.5, "reactor_rate": 0.25, "contributor_rate": 0.05},
    "thread_starts": 40,
    "threads_with_manager": 10,
    "manager_thread_share": 0.25,
}


def test_leadership_shown_with_a_chart_when_the_result_has_it():
    r = science("baseline") | {"leadership": LEADERSHIP}
    page = to_html(r, Lang("nl"))
    assert data_marks(charts(page)["leadership"]) >= 6
    assert "Aanwezigheid van leidinggevenden" in page and "<td>75,0%</td>" in page
    assert "25,0% van 40 gestarte gesprekken" in page


def test_goals_per_segment_from_the_result():
    r = science("baseline")
    r["segment_goals"] = [
        {"dimension": "department", "value": "IT", "suppressed": False}
        | {"metric": "reader", "target": 0.6, "actual": 0.448, "status": "not_met"},
        {"dimension": "department", "value": "HR", "suppressed": True}
        | {"metric": "reader", "target": 0.6, "actual": None, "status": "no_data"},
    ]
    page = to_html(r, Lang())
    table = page[page.index("<h2>Goals per segment</h2>") :]
    assert "department IT" in table and '<td class="notmet label">not met</td>' in table
    assert '<td class="suppressed">suppressed</td>' in table


@pytest.mark.parametrize("name", ["baseline", "compare", "trend"])
def test_no_empty_section_when_the_result_lacks_them(name):
    # The documents of tests/golden/i18n/ predate issue 13: none of its sections appear.
    page = to_html(report(name), Lang())
    for title in (
        "The change and its 95% interval",
        "Leadership presence",
        "How people come and go",
        "Goals per segment",
        "Goals on inequality and interaction",
    ):
        assert title not in page


# -- the trend's goals come from the result ---------------------------------------------------
def test_trend_goals_come_from_the_result_not_from_elsewhere():
    r = report("trend")
    r["goals"] = [{"metric": "reader", "target": 0.7}]
    page = to_html(r, Lang())
    assert "goal 70%" in page and page.count("no goal set") == 2
    del r["goals"]  # a trend written before the goals were carried: no goal lines
    assert to_html(r, Lang()).count("no goal set") == 3


def test_trend_html_from_stored_json_is_the_html_the_cli_writes(store, tmp_path):
    goals = tmp_path / "goals.toml"
    goals.write_text("[goals]\nreader = 70\nreactor = 30\ncontributor = 2\n", encoding="utf-8")
    config = tmp_path / "intranet-metrics.toml"
    config.write_text(f"goals = {json.dumps(str(goals))}\n", encoding="utf-8")
    args = ["--config", str(config), "--store", str(store), "report", "--roster"]
    args += [str(SAMPLE / "roster.csv"), "--lang", "nl"]
    direct = CliRunner().invoke(cli, [*args, "--format", "html"])
    stored = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert direct.exit_code == 0 and stored.exit_code == 0, direct.output + stored.output
    doc = json.loads(stored.stdout)
    assert [g["target"] for g in doc["goals"]] == [0.7, 0.3, 0.02]
    assert "doel 70%" in direct.stdout
    assert to_html(doc, Lang("nl")) == direct.stdout
