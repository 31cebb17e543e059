"""Rich tables for people at a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .common import (
    LADDER,
    STATUS_TEXT,
    TIERS,
    change_cell,
    ci,
    goal_targets,
    num,
    pct,
    population_line,
    pp,
    pvalue,
    segment_changes,
    test_note,
    window_text,
)

_STATUS_STYLE = {"met_with_confidence": "bold green", "met": "green", "not_met": "red"}


def _status(s: str) -> Text:
    return Text(STATUS_TEXT.get(s, s), style=_STATUS_STYLE.get(s, "dim"))


def _measurement(m: dict[str, Any]) -> list[RenderableType]:
    goals = goal_targets(m)
    title = (
        m["label"]
        if window_text(m).split(" (")[0].replace(" .. ", "..") in m["label"]
        else (f"{m['label']}: {window_text(m)}")
    )
    t = Table(title=title, caption=f"{window_text(m)}; {population_line(m)}")
    for col in ("Tier", "People", "Rate", "95% interval", "Goal", "Status"):
        t.add_column(col, justify="left" if col in ("Tier", "Status") else "right")
    for tier in TIERS:
        x = m["metrics"][tier]
        g = goals.get(tier)
        t.add_row(
            tier,
            num(x["users"]),
            pct(x["rate"]),
            ci(x["ci95"]),
            pct(g["target"], 0) if g else "–",
            _status(g["status"]) if g else Text("–"),
        )
    ladder = Table(title="Ladder (each person once)")
    for col in ("Inactive", "Reader only", "Reactor only", "Contributor"):
        ladder.add_column(col, justify="right")
    ladder.add_row(*(num(m["ladder"][k]) for k in LADDER))
    out: list[RenderableType] = [t, ladder]
    for dim, rows in m.get("segments", {}).items():
        out.append(_segment_table(dim, rows))
    return out


def _segment_table(dim: str, rows: list[dict[str, Any]]) -> Table:
    s = Table(title=f"By {dim}")
    s.add_column(dim)
    for col in ("Population", "Reader", "Reactor", "Contributor"):
        s.add_column(col, justify="right")
    for r in rows:
        if r["suppressed"]:
            s.add_row(r["value"], Text("suppressed", style="dim"), "–", "–", "–")
        else:
            s.add_row(
                r["value"], num(r["population"]), *(pct(r["metrics"][x]["rate"]) for x in TIERS)
            )
    return s


def _comparison(c: dict[str, Any]) -> list[RenderableType]:
    b, cur = c["baseline"], c["current"]
    goals = {g["metric"]: g for g in c["goals"]}
    t = Table(
        title=f"{b['label']} → {cur['label']}",
        caption=f"baseline: {population_line(b)}\ncurrent: {population_line(cur)}",
    )
    for col in ("Tier", "Baseline", "Current", "Change", "p", "Goal", "Status"):
        t.add_column(col, justify="left" if col in ("Tier", "Status") else "right")
    for tier in TIERS:
        ch = c["changes"][tier]
        g = goals.get(tier)
        t.add_row(
            tier,
            pct(ch["baseline_rate"]),
            pct(ch["current_rate"]),
            pp(ch["delta_pp"]),
            pvalue(ch["p_value"]),
            pct(g["target"], 0) if g else "–",
            _status(g["status"]) if g else Text("–"),
        )
    out: list[RenderableType] = [t, Text(test_note(c), style="dim")]
    for dim, rows in segment_changes(c).items():
        s = Table(title=f"By {dim}: baseline → current (change in pp)")
        s.add_column(dim)
        for tier in TIERS:
            s.add_column(tier.capitalize(), justify="right")
        for r in rows:
            if r["suppressed"]:
                s.add_row(r["value"], Text("suppressed", style="dim"), "–", "–")
            else:
                s.add_row(r["value"], *(change_cell(r["tiers"][x]) for x in TIERS))
        out.append(s)
    return out


def _trend(tr: dict[str, Any]) -> list[RenderableType]:
    t = Table(title=f"Trend per {tr['period']} ({tr['window']['timezone']})")
    for col in ("Period", "From", "To", "Population", "Reader", "Reactor", "Contributor"):
        t.add_column(col, justify="left" if col in ("Period", "From", "To") else "right")
    for r in tr["rows"]:
        t.add_row(
            r["period"],
            r["from"],
            r["to"],
            num(r["population"]["size"]),
            *(pct(r["metrics"][x]["rate"]) for x in TIERS),
        )
    out: list[RenderableType] = [t]
    for r in tr["rows"]:
        for dim, rows in r.get("segments", {}).items():
            tab = _segment_table(dim, rows)
            tab.title = f"{r['period']} by {dim}"
            out.append(tab)
    return out


def to_table(result: dict[str, Any]) -> RenderableType:
    kind = result["kind"]
    parts = {"measurement": _measurement, "comparison": _comparison, "trend": _trend}[kind](result)
    return Group(*parts)
