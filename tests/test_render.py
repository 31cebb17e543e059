"""The renderers on hand-made results: labels shown exactly as written in every format
(rich markup and control characters escaped), warnings in every format, periods without
data shown as "no data", and a 20,000-person organisation's breakdown rendered in time."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from intranet_metrics.render import to_csv, to_json, to_markdown, to_table
from intranet_metrics.render.common import _CONTROL, printable

TIERS = ("reader", "reactor", "contributor")


def metrics(rate: float | None, n: int) -> dict[str, Any]:
    users = None if rate is None else round(rate * n)
    ci = None if rate is None else [max(rate - 0.05, 0.0), min(rate + 0.05, 1.0)]
    return {t: {"users": users, "rate": rate, "ci95": ci} for t in TIERS}


def measurement(values: list[str], warnings: list[str] = ()) -> dict[str, Any]:
    n = 10 * len(values) or 10
    return {
        "kind": "measurement",
        "label": "Q1",
        "window": {"from": "2026-01-01", "to": "2026-03-31", "timezone": "UTC"},
        "tiers": "cumulative",
        "population": {"basis": "roster", "size": n, "unmatched_actors": 0,
                       "identity_coverage": 1.0},
        "metrics": metrics(0.5, n),
        "ladder": {"inactive": n // 2, "reader_only": n // 2, "reactor_only": 0, "contributor": 0},
        "goals": [],
        "segments": {"team": [
            {"value": v, "population": 10, "suppressed": False, "metrics": metrics(0.5, 10)}
            for v in values
        ]},
        "inputs": [],
        "warnings": list(warnings),
    }  # fmt: skip


def trend(no_data: list[bool], warnings: list[str] = ()) -> dict[str, Any]:
    rows = [
        {
            "period": f"2026-{i + 1:02d}",
            "from": f"2026-{i + 1:02d}-01",
            "to": f"2026-{i + 1:02d}-28",
            "population": {"basis": "roster", "size": 10, "unmatched_actors": 0,
                           "identity_coverage": None},
            "metrics": metrics(None if empty else 0.4, 10),
            "no_data": empty,
        }
        for i, empty in enumerate(no_data)
    ]  # fmt: skip
    return {
        "kind": "trend",
        "period": "month",
        "window": {"from": "2026-01-01", "to": "2026-12-31", "timezone": "UTC"},
        "rows": rows,
        "warnings": list(warnings),
    }


def table_text(result: dict[str, Any], width: int = 200) -> str:
    con = Console(record=True, width=width, file=io.StringIO())
    con.print(to_table(result))
    return con.export_text()


# -- labels exactly as written ---------------------------------------------------------------
@pytest.mark.parametrize("label", ["Finance [old]", "[bold]Sales[/bold]", "R&D [/]", "[red]x"])
def test_markup_in_a_label_is_shown_as_written(label):
    assert label in table_text(measurement([label, "Other"]))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_any_label_renders_as_its_printable_form(label):
    shown = printable(label)
    assert not _CONTROL.search(shown)
    text = table_text(measurement([label]), width=400)
    # Wide enough that rich folds nothing: the label is found as written, on one line.
    assert shown.strip() in text
    assert shown.replace("|", "\\|") in to_markdown(measurement([label]))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("Ops\x1b[31mRed", "Ops\\x1b[31mRed"), ("a\u202eb", "a\\u202eb"), ("é ü", "é ü")],
)
def test_control_characters_are_escaped_in_human_formats(raw, shown):
    """(CSV and JSON keep the value as data: JSON escapes controls itself.)"""
    result = measurement([raw])
    for text in (table_text(result), to_markdown(result)):
        assert shown in text
        assert raw == shown or raw not in text


# -- warnings in every format ----------------------------------------------------------------
W = ["the baseline has no breakdown by team", "2026-03: no counted events, x, y"]


def test_table_shows_the_warnings_under_it():
    text = table_text(measurement(["A"], W))
    assert text.index("Warning: " + W[0]) > text.index("By team")


def test_markdown_has_a_warning_note_under_the_main_table():
    md = to_markdown(measurement(["A"], W))
    assert f"> **Warning:** {W[0]}" in md and f"> **Warning:** {W[1]}" in md
    assert md.index("> **Warning:**") < md.index("### Ladder")


def test_csv_ends_with_one_comment_line_per_warning_and_stays_readable():
    text = to_csv(measurement(["A"], W))
    lines = text.splitlines()
    assert lines[-2:] == [f"# warning: {W[0]}", f"# warning: {W[1]}"]
    rows = list(csv.DictReader(x for x in lines if not x.startswith("#")))
    assert [r["value"] for r in rows] == ["(all)", "A"]


def test_json_keeps_the_warnings_as_a_list():
    assert '"warnings": [\n    "the baseline' in to_json(measurement(["A"], W))


# -- periods without data --------------------------------------------------------------------
def test_periods_without_data_show_no_data_not_zero():
    result = trend([False, True, False], ["2026-02: no data"])
    table = table_text(result)
    feb = next(x for x in table.splitlines() if "2026-02 " in x)
    assert "no data" in feb and "0.0%" not in feb
    md = next(x for x in to_markdown(result).splitlines() if x.startswith("| 2026-02"))
    assert md.count("no data") == 3
    rows = list(csv.DictReader(x for x in to_csv(result).splitlines() if x[:1] != "#"))
    assert [r["note"] for r in rows] == ["", "no data", ""]
    assert rows[1]["reader_rate"] == "" and rows[0]["reader_rate"] == "0.4"


# -- a real organisation's size ---------------------------------------------------------------
def test_a_20000_person_breakdown_renders_in_every_format_in_seconds():
    """20,000 people in 2,000 teams of 10: every format renders in well under 10 s."""
    result = measurement([f"Team {i} [{i % 7}]" for i in range(2000)], W)
    t0 = time.perf_counter()
    outputs = [to_json(result), to_csv(result), to_markdown(result), table_text(result)]
    elapsed = time.perf_counter() - t0
    assert all("Team 1999 [4]" in o for o in outputs)
    assert elapsed < 10, elapsed


def test_a_note_of_several_lines_keeps_its_lines_in_the_table():
    from intranet_metrics.render.sections import Section
    from intranet_metrics.render.table import _draw

    con = Console(record=True, width=100, file=io.StringIO())
    note = "baseline: 1\ncurrent: 2\x1b"
    con.print(_draw(Section("T [x]", ["a wide column to hold the caption"], [["1"]], note=note)))
    lines = [line.strip() for line in con.export_text().splitlines()]
    assert "T [x]" in lines and "baseline: 1" in lines and "current: 2\\x1b" in lines


def _exact_p_comparison() -> dict[str, Any]:
    m = measurement([])
    change = {"baseline_rate": 0.5, "current_rate": 0.5, "delta_pp": 0.0, "test": "mcnemar-midp"}
    changes = {
        "reader": change | {"p_value": 0.03, "p_value_exact": 0.042},
        "reactor": change | {"p_value": 0.0001, "p_value_exact": 0.0002},
        "contributor": change | {"p_value": 0.5, "p_value_exact": None},
    }
    pc = {"stayers": 10, "joiners": 0, "leavers": 0}
    return {"kind": "comparison", "baseline": m, "current": m, "changes": changes,
            "goals": [], "warnings": [], "population_change": pc}  # fmt: skip


def test_the_exact_p_value_is_shown_beside_the_mid_p_in_table_and_markdown():
    from intranet_metrics.render.sections import sections

    c = _exact_p_comparison()
    main = sections(c)[0]
    col = main.header.index("p (exact)")
    assert [row[col] for row in main.rows] == ["0.042", "<0.001", "–"]
    assert "p (exact)" in to_markdown(c) and "| 0.042 |" in to_markdown(c)
    assert "0.042" in table_text(c)
