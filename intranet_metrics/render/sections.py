"""The human formats' one model of a report: titled sections of text cells.

Every human renderer (rich table, Markdown, and later HTML) draws these same sections, so
they show the same numbers, rounded the same way, and a new format is only a drawing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .common import (
    FIGURES,
    LADDER,
    LIFECYCLE,
    NO_DATA,
    STATUS_TEXT,
    TIERS,
    change_cell,
    ci,
    figure,
    figures_of,
    goal_targets,
    interval_pp,
    label,
    num,
    pct,
    population_line,
    pp,
    pvalue,
    segment_changes,
    test_note,
    tiers_of,
    window_text,
)

SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Section:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str | None = None
    # How many leading columns hold labels (left-aligned); the rest are numbers.
    labels: int = 1
    # Columns whose cells are goal statuses (renderers may colour them).
    status_columns: tuple[int, ...] = field(default=())


def _status(g: dict[str, Any] | None) -> str:
    return STATUS_TEXT.get(g["status"], g["status"]) if g else "–"


def _value(x: dict[str, Any]) -> str:
    """A metric's cell: a tier's rate, or an aggregate's value (3 significant digits)."""
    if "rate" in x:
        return pct(x["rate"])
    return "–" if x.get("value") is None else f"{x['value']:.3g}"


def _rates(metrics: dict[str, Any], no_data: bool = False) -> list[str]:
    return [NO_DATA if no_data else _value(x) for x in metrics.values()]


def _segments(title: str, dim: str, rows: list[dict[str, Any]], no_data: bool = False) -> Section:
    names = list(rows[0]["metrics"]) if rows else []
    return Section(
        title=title,
        header=[dim, "Population", *(label(t) for t in names)],
        rows=[
            [r["value"], SUPPRESSED, *("–" for _ in names)]
            if r["suppressed"]
            else [r["value"], num(r["population"]), *_rates(r["metrics"], no_data)]
            for r in rows
        ],
    )


def _measurement(m: dict[str, Any]) -> list[Section]:
    goals = goal_targets(m)
    window = window_text(m)
    compact = window.split(" (")[0].replace(" .. ", "..")
    tiers = Section(
        title=m["label"] if compact in m["label"] else f"{m['label']}: {window}",
        header=["Tier", "People", "Rate", "95% interval", "Goal", "Status"],
        rows=[
            [
                t,
                num(m["metrics"][t]["users"]),
                pct(m["metrics"][t]["rate"]),
                ci(m["metrics"][t]["ci95"]),
                pct(goals[t]["target"], 0) if t in goals else "–",
                _status(goals.get(t)),
            ]
            for t in tiers_of(m)
        ],
        note=f"{window}; {population_line(m)}",
        status_columns=(5,),
    )
    ladder = Section(
        title="Ladder (each person once)",
        header=["Inactive", "Reader only", "Reactor only", "Contributor"],
        rows=[[num(m["ladder"][k]) for k in LADDER]],
        labels=0,
    )
    segs = [_segments(f"By {d}", d, rows) for d, rows in m.get("segments", {}).items()]
    return [tiers, ladder, *_aggregates(m), *segs, *_science(m), *_more_goals(m)]


def _goal_value(name: str, value: float | None) -> str:
    """A goal's actual or target in the metric's unit (rates and shares in %)."""
    return figure(value, FIGURES[name][1]) if name in FIGURES else pct(value)


def _more_goals(doc: dict[str, Any]) -> list[Section]:
    """Goals on the figures and per segment (the tier goals are in the first table)."""
    out = []
    side = "current_goal" if doc.get("kind") == "comparison" else None
    figs = [g for g in doc.get("goals", []) if g["metric"] in FIGURES]
    if figs:
        out.append(
            Section(
                title="Goals on inequality and interaction",
                header=["Figure", "Actual", "Goal", "Status"],
                rows=[_goal_cells(g, side) for g in figs],
                status_columns=(3,),
            )
        )
    seg = doc.get("segment_goals") or []
    if seg:
        out.append(
            Section(
                title="Goals per segment",
                header=["Segment", "Metric", "Actual", "Goal", "Status"],
                rows=[
                    [f"{g['dimension']} {g['value']}", *_goal_cells(g, side)]
                    if not g["suppressed"]
                    else [f"{g['dimension']} {g['value']}", g["metric"], SUPPRESSED, "–", "–"]
                    for g in seg
                ],
                labels=2,
                status_columns=(4,),
            )
        )
    return out


def _goal_cells(g: dict[str, Any], side: str | None) -> list[str]:
    row = g[side] if side and g.get(side) else g
    name = g["metric"]
    return [
        name,
        _goal_value(name, row.get("actual")),
        _goal_value(name, g["target"]),
        _status(row) if "status" in row else "–",
    ]


def _science(m: dict[str, Any]) -> list[Section]:
    """Issue 13's figures, when the measurement has them (older documents have not)."""
    figs = figures_of(m)
    if not figs:
        return []
    out = [
        Section(
            title="Inequality and interaction",
            header=["Figure", "Value"],
            rows=[[FIGURES[k][0], figure(v, FIGURES[k][1])] for k, v in figs.items()],
        )
    ]
    shares = (m.get("inequality") or {}).get("ladder_shares")
    if shares:
        ref = m["inequality"].get("nielsen") or {}
        out.append(
            Section(
                title="The active people's ladder beside Nielsen's 90-9-1",
                header=["Step", "Share of the active", "90-9-1"],
                rows=[[k, pct(v), pct(ref.get(k), 0)] for k, v in shares.items()],
            )
        )
    if m.get("leadership"):
        out.append(_leadership(m["leadership"]))
    for dim, rows in m.get("segments", {}).items():
        if any(figures_of(r) for r in rows):
            out.append(_segment_figures(dim, rows))
    return out


def _leadership(le: dict[str, Any]) -> Section:
    groups = (("Managers", le["managers"]), ("Everyone else", le["others"]))
    return Section(
        title="Leadership presence",
        header=["Group", "Population", *(t for t in TIERS)],
        rows=[
            [name, num(g["population"]), *(pct(g.get(f"{t}_rate")) for t in TIERS)]
            for name, g in groups
        ],
        note=f"threads with a manager taking part: {pct(le.get('manager_thread_share'))} "
        f"of {num(le.get('thread_starts'))} thread starts",
    )


SEGMENT_FIGURES = ("gini", "top10_share", "reply_coverage", "median_first_response_hours")


def _segment_cells(r: dict[str, Any]) -> list[str]:
    figs = figures_of(r)
    return [figure(figs.get(k), FIGURES[k][1]) for k in SEGMENT_FIGURES]


def _segment_figures(dim: str, rows: list[dict[str, Any]]) -> Section:
    return Section(
        title=f"By {dim}: inequality and interaction",
        header=[dim, "Gini", "Top 10% share", "Reply coverage", "Median hours to response"],
        rows=[
            [r["value"], SUPPRESSED, *("–" for _ in SEGMENT_FIGURES[1:])]
            if r["suppressed"]
            else [
                r["value"],
                *(figure(figures_of(r).get(k), FIGURES[k][1]) for k in SEGMENT_FIGURES),
            ]
            for r in rows
        ],
    )


def _aggregates(m: dict[str, Any]) -> list[Section]:
    """Aggregate metrics (one value each), when the registry has any."""
    rows = [[label(t), _value(x)] for t, x in m["metrics"].items() if "rate" not in x]
    return [Section(title="Other metrics", header=["Metric", "Value"], rows=rows)] if rows else []


def _comparison(c: dict[str, Any]) -> list[Section]:
    b, cur = c["baseline"], c["current"]
    goals = {g["metric"]: g for g in c["goals"]}
    main = Section(
        title=f"{b['label']} → {cur['label']}",
        # The exact p beside the mid-p: the exact (conservative) value a reader may be
        # asked for; "–" under the unpaired z test, which has none.
        header=["Tier", "Baseline", "Current", "Change", "p", "p (exact)", "Goal", "Status"],
        rows=[
            [
                t,
                pct(c["changes"][t]["baseline_rate"]),
                pct(c["changes"][t]["current_rate"]),
                pp(c["changes"][t]["delta_pp"]),
                pvalue(c["changes"][t]["p_value"]),
                pvalue(c["changes"][t].get("p_value_exact")),
                pct(goals[t]["target"], 0) if t in goals else "–",
                _status(goals.get(t)),
            ]
            for t in c["changes"]
        ],
        note=f"baseline: {population_line(b)}\ncurrent: {population_line(cur)}\n" + test_note(c),
        status_columns=(7,),
    )
    segs = [
        Section(
            title=f"By {dim}: baseline → current (change in pp)",
            header=[dim, *(label(t) for t in c["changes"])],
            rows=[
                [r["value"], SUPPRESSED, *("–" for _ in range(len(c["changes"]) - 1))]
                if r["suppressed"]
                else [r["value"], *(change_cell(r["tiers"][t]) for t in c["changes"])]
                for r in rows
            ],
        )
        for dim, rows in segment_changes(c).items()
    ]
    return [main, *_change_detail(c), *segs, *_figures_change(b, cur), *_more_goals(c)]


def _change_detail(c: dict[str, Any]) -> list[Section]:
    """The interval of each change and its split into stayers, joiners and leavers."""
    changes = c["changes"]
    if not any("interval_method" in ch for ch in changes.values()):
        return []
    split = any(ch.get("split") for ch in changes.values())
    parts = ("stayers", "joiners", "leavers") if split else ()
    rows = []
    for t, ch in changes.items():
        sp = ch.get("split") or {}
        rows.append(
            [t, pp(ch["delta_pp"]), interval_pp(ch.get("interval_pp"))]
            + [pp((sp.get(g) or {}).get("contribution_pp")) for g in parts]
        )
    method = next(iter(changes.values())).get("interval_method", "")
    return [
        Section(
            title="The change in detail",
            header=["Tier", "Change", "95% interval", *(g.capitalize() for g in parts)],
            rows=rows,
            note=f"interval: {method}"
            + ("; stayers + joiners + leavers (pp) = the change" if split else ""),
        )
    ]


def _figures_change(b: dict[str, Any], cur: dict[str, Any]) -> list[Section]:
    fb, fc = figures_of(b), figures_of(cur)
    if not fc:
        return []
    return [
        Section(
            title="Inequality and interaction: baseline → current",
            header=["Figure", "Baseline", "Current"],
            rows=[
                [FIGURES[k][0], figure(fb.get(k), FIGURES[k][1]), figure(v, FIGURES[k][1])]
                for k, v in fc.items()
            ],
        )
    ]


def _lifecycle(tr: dict[str, Any]) -> list[Section]:
    rows = [r for r in tr["rows"] if "lifecycle" in r]
    if not rows:
        return []
    return [
        Section(
            title="How people come and go",
            header=["Period", "New", "Returning", "Resurrecting", "Dormant", "Active days"],
            rows=[
                [r["period"], *(num((r["lifecycle"] or {}).get(k)) for k in LIFECYCLE)]
                + [figure(r.get("stickiness"), "ratio")]
                for r in rows
            ],
            note="new: first activity ever in the data; active days: mean distinct days "
            "per active person",
        )
    ]


def _trend(tr: dict[str, Any]) -> list[Section]:
    main = Section(
        title=f"Trend per {tr['period']} ({tr['window']['timezone']})",
        header=["Period", "From", "To", "Population", *(label(t) for t in _names(tr))],
        rows=[
            [r["period"], r["from"], r["to"], num(r["population"]["size"])]
            + _rates(r["metrics"], r.get("no_data", False))
            for r in tr["rows"]
        ],
        labels=3,
    )
    segs = [
        _segments(f"{r['period']} by {dim}", dim, rows, r.get("no_data", False))
        for r in tr["rows"]
        for dim, rows in r.get("segments", {}).items()
    ]
    return [main, *_lifecycle(tr), *segs]


def _names(tr: dict[str, Any]) -> list[str]:
    return list(tr["rows"][0]["metrics"]) if tr["rows"] else list(TIERS)


def sections(result: dict[str, Any]) -> list[Section]:
    """The sections of a measurement, comparison or trend report."""
    build = {"measurement": _measurement, "comparison": _comparison, "trend": _trend}
    return build[result["kind"]](result)
