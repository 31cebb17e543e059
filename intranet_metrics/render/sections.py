"""The human formats' one model of a report: titled sections of text cells.

Every human renderer (rich table, Markdown, HTML) draws these same sections, so they show
the same numbers, rounded the same way, and a new format is only a drawing. The sections
are built in the report's language: each word from its catalogue, each number and date
through babel (``Lang``); labels people wrote (segment values, dimensions, measurement
labels) stay as written.
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
    figures_of,
    goal_targets,
    label,
    segment_changes,
    tiers_of,
)
from .i18n import Lang

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
    # What the section shows (a renderer may draw some of them as a chart too).
    key: str = ""


def _status(g: dict[str, Any] | None, L: Lang) -> str:
    return L.t(STATUS_TEXT.get(g["status"], g["status"])) if g else "–"


def _value(x: dict[str, Any], L: Lang) -> str:
    """A metric's cell: a tier's rate, or an aggregate's value (3 significant digits)."""
    return L.pct(x["rate"]) if "rate" in x else L.sig(x.get("value"))


def _rates(metrics: dict[str, Any], L: Lang, no_data: bool = False) -> list[str]:
    return [L.t(NO_DATA) if no_data else _value(x, L) for x in metrics.values()]


def _withheld(first: str, L: Lang, width: int) -> list[str]:
    """A suppressed group's row: its name, the word, dashes."""
    return [first, L.t(SUPPRESSED), *("–" for _ in range(width))]


def _segments(
    title: str, dim: str, rows: list[dict[str, Any]], L: Lang, no_data: bool = False
) -> Section:
    names = list(rows[0]["metrics"]) if rows else []
    return Section(
        title=title,
        header=[dim, L.t("Population"), *(L.t(label(t)) for t in names)],
        rows=[
            _withheld(r["value"], L, len(names))
            if r["suppressed"]
            else [r["value"], L.num(r["population"]), *_rates(r["metrics"], L, no_data)]
            for r in rows
        ],
        key="segments",
    )


def population_line(m: dict[str, Any], L: Lang) -> str:
    p = m["population"]
    parts = [L.t("population {size} ({basis})", size=L.num(p["size"]), basis=L.t(p["basis"]))]
    if p["basis"] == "roster":
        parts.append(L.t("identity coverage {pct}", pct=L.pct(p["identity_coverage"])))
        parts.append(L.t("unmatched actors {n}", n=L.num(p["unmatched_actors"])))
    return ", ".join(parts)


def _title(m: dict[str, Any], L: Lang) -> str:
    """A measurement's label, with its window when the label does not name it."""
    w = m["window"]
    if f"{w['from']}..{w['to']}" in m["label"]:
        return L.label(m["label"])
    return f"{m['label']}: {L.window(w)}"


def _measurement(m: dict[str, Any], L: Lang) -> list[Section]:
    goals = goal_targets(m)
    tiers = Section(
        title=_title(m, L),
        header=[L.t(h) for h in ("Tier", "People", "Rate", "95% interval", "Goal", "Status")],
        rows=[
            [
                L.t(t),
                L.num(m["metrics"][t]["users"]),
                L.pct(m["metrics"][t]["rate"]),
                L.ci(m["metrics"][t]["ci95"]),
                L.pct(goals[t]["target"], 0) if t in goals else "–",
                _status(goals.get(t), L),
            ]
            for t in tiers_of(m)
        ],
        note=f"{L.window(m['window'])}; {population_line(m, L)}",
        status_columns=(5,),
        key="tiers",
    )
    ladder = Section(
        title=L.t("Ladder (each person once)"),
        header=[L.t(h) for h in ("Inactive", "Reader only", "Reactor only", "Contributor")],
        rows=[[L.num(m["ladder"][k]) for k in LADDER]],
        labels=0,
        key="ladder",
    )
    segs = [
        _segments(L.t("By {dim}", dim=d), d, rows, L) for d, rows in m.get("segments", {}).items()
    ]
    return [tiers, ladder, *_aggregates(m, L), *segs, *_science(m, L), *_more_goals(m, L)]


def _goal_value(name: str, value: float | None, L: Lang) -> str:
    """A goal's actual or target in the metric's unit (rates and shares in %)."""
    return L.figure(value, FIGURES[name][1]) if name in FIGURES else L.pct(value)


def _more_goals(doc: dict[str, Any], L: Lang) -> list[Section]:
    """Goals on the figures and per segment (the tier goals are in the first table)."""
    out = []
    side = "current_goal" if doc.get("kind") == "comparison" else None
    figs = [g for g in doc.get("goals", []) if g["metric"] in FIGURES]
    if figs:
        out.append(
            Section(
                title=L.t("Goals on inequality and interaction"),
                header=[L.t(h) for h in ("Figure", "Actual", "Goal", "Status")],
                rows=[_goal_cells(g, side, L) for g in figs],
                status_columns=(3,),
                key="figure_goals",
            )
        )
    seg = doc.get("segment_goals") or []
    if seg:
        out.append(
            Section(
                title=L.t("Goals per segment"),
                header=[L.t(h) for h in ("Segment", "Metric", "Actual", "Goal", "Status")],
                rows=[
                    [f"{g['dimension']} {g['value']}", *_goal_cells(g, side, L)]
                    if not g["suppressed"]
                    else [f"{g['dimension']} {g['value']}", L.t(g["metric"]), L.t(SUPPRESSED)]
                    + ["–", "–"]
                    for g in seg
                ],
                labels=2,
                status_columns=(4,),
                key="segment_goals",
            )
        )
    return out


def _goal_cells(g: dict[str, Any], side: str | None, L: Lang) -> list[str]:
    row = g[side] if side and g.get(side) else g
    name = g["metric"]
    return [
        L.t(name),
        _goal_value(name, row.get("actual"), L),
        _goal_value(name, g["target"], L),
        _status(row, L) if "status" in row else "–",
    ]


def _science(m: dict[str, Any], L: Lang) -> list[Section]:
    """Issue 13's figures, when the measurement has them (older documents have not)."""
    figs = figures_of(m)
    if not figs:
        return []
    out = [
        Section(
            title=L.t("Inequality and interaction"),
            header=[L.t("Figure"), L.t("Value")],
            rows=[[L.t(FIGURES[k][0]), L.figure(v, FIGURES[k][1])] for k, v in figs.items()],
            key="figures",
        )
    ]
    shares = (m.get("inequality") or {}).get("ladder_shares")
    if shares:
        ref = m["inequality"].get("nielsen") or {}
        out.append(
            Section(
                title=L.t("The active people's ladder beside Nielsen's 90-9-1"),
                header=[L.t("Step"), L.t("Share of the active"), "90-9-1"],
                rows=[[L.t(k), L.pct(v), L.pct(ref.get(k), 0)] for k, v in shares.items()],
                key="nielsen",
            )
        )
    if m.get("leadership"):
        out.append(_leadership(m["leadership"], L))
    for dim, rows in m.get("segments", {}).items():
        if any(figures_of(r) for r in rows):
            out.append(_segment_figures(dim, rows, L))
    return out


def _leadership(le: dict[str, Any], L: Lang) -> Section:
    groups = (("Managers", le["managers"]), ("Everyone else", le["others"]))
    return Section(
        title=L.t("Leadership presence"),
        header=[L.t("Group"), L.t("Population"), *(L.t(t) for t in TIERS)],
        rows=[
            [L.t(name), L.num(g["population"]), *(L.pct(g.get(f"{t}_rate")) for t in TIERS)]
            for name, g in groups
        ],
        note=L.t(
            "threads with a manager taking part: {share} of {n} thread starts",
            share=L.pct(le.get("manager_thread_share")),
            n=L.num(le.get("thread_starts")),
        ),
        key="leadership",
    )


SEGMENT_FIGURES = ("gini", "top10_share", "reply_coverage", "median_first_response_hours")


def _segment_figures(dim: str, rows: list[dict[str, Any]], L: Lang) -> Section:
    header = ("Gini", "Top 10% share", "Reply coverage", "Median hours to response")
    return Section(
        title=L.t("By {dim}: inequality and interaction", dim=dim),
        header=[dim, *(L.t(h) for h in header)],
        rows=[
            _withheld(r["value"], L, len(SEGMENT_FIGURES) - 1)
            if r["suppressed"]
            else [
                r["value"],
                *(L.figure(figures_of(r).get(k), FIGURES[k][1]) for k in SEGMENT_FIGURES),
            ]
            for r in rows
        ],
        key="segment_figures",
    )


def _aggregates(m: dict[str, Any], L: Lang) -> list[Section]:
    """Aggregate metrics (one value each), when the registry has any."""
    rows = [[L.t(label(t)), _value(x, L)] for t, x in m["metrics"].items() if "rate" not in x]
    if not rows:
        return []
    header = [L.t("Metric"), L.t("Value")]
    return [Section(title=L.t("Other metrics"), header=header, rows=rows, key="aggregates")]


def test_note(c: dict[str, Any], L: Lang) -> str:
    """One sentence on how the change was tested, and who was compared."""
    test = next(iter(c["changes"].values()))["test"]
    pc = c.get("population_change")
    if test == "mcnemar-midp" and pc:
        return L.t(
            "p: McNemar mid-p over the {stayers} people in both populations ({joiners} "
            "joined, {leavers} left since the baseline)",
            **{k: L.num(pc[k]) for k in ("stayers", "joiners", "leavers")},
        )
    if test == "two-proportion-z-different-bases":
        return L.t("p: two-proportion z test over populations of different bases (not comparable)")
    return L.t("p: two-proportion z test (unpaired: people could not be linked to the baseline)")


def change_cell(pair: tuple[float | None, float | None] | None, L: Lang) -> str:
    if pair is None:
        return "–"
    b, c = pair
    if b is None or c is None:
        return f"{L.pct(b)} → {L.pct(c)}"
    return f"{L.pct(b)} → {L.pct(c)} ({L.decimal(100 * (c - b), 1, sign=True)})"


def _comparison(c: dict[str, Any], L: Lang) -> list[Section]:
    b, cur = c["baseline"], c["current"]
    goals = {g["metric"]: g for g in c["goals"]}
    head = ("Tier", "Baseline", "Current", "Change", "p", "p (exact)", "Goal", "Status")
    main = Section(
        title=f"{L.label(b['label'])} → {L.label(cur['label'])}",
        # The exact p beside the mid-p: the exact (conservative) value a reader may be
        # asked for; "–" under the unpaired z test, which has none.
        header=[L.t(h) for h in head],
        rows=[
            [
                L.t(t),
                L.pct(c["changes"][t]["baseline_rate"]),
                L.pct(c["changes"][t]["current_rate"]),
                L.pp(c["changes"][t]["delta_pp"]),
                L.pvalue(c["changes"][t]["p_value"]),
                L.pvalue(c["changes"][t].get("p_value_exact")),
                L.pct(goals[t]["target"], 0) if t in goals else "–",
                _status(goals.get(t), L),
            ]
            for t in c["changes"]
        ],
        note=L.t("baseline: {line}", line=population_line(b, L))
        + "\n"
        + L.t("current: {line}", line=population_line(cur, L))
        + "\n"
        + test_note(c, L),
        status_columns=(7,),
        key="changes",
    )
    names = [L.t(label(t)) for t in c["changes"]]
    segs = [
        Section(
            title=L.t("By {dim}: baseline → current (change in pp)", dim=dim),
            header=[dim, *names],
            rows=[
                _withheld(r["value"], L, len(names) - 1)
                if r["suppressed"]
                else [r["value"], *(change_cell(r["tiers"][t], L) for t in c["changes"])]
                for r in rows
            ],
            key="segment_changes",
        )
        for dim, rows in segment_changes(c).items()
    ]
    more = [*_change_detail(c, L), *segs, *_figures_change(b, cur, L), *_more_goals(c, L)]
    return [main, *more]


SPLIT = ("stayers", "joiners", "leavers")


def _change_detail(c: dict[str, Any], L: Lang) -> list[Section]:
    """The interval of each change and its split into stayers, joiners and leavers."""
    changes = c["changes"]
    if not any("interval_method" in ch for ch in changes.values()):
        return []
    split = any(ch.get("split") for ch in changes.values())
    parts = SPLIT if split else ()
    rows = []
    for t, ch in changes.items():
        sp = ch.get("split") or {}
        rows.append(
            [L.t(t), L.pp(ch["delta_pp"]), L.interval_pp(ch.get("interval_pp"))]
            + [L.pp((sp.get(g) or {}).get("contribution_pp")) for g in parts]
        )
    method = next(iter(changes.values())).get("interval_method", "")
    note = L.t("interval: {method}", method=L.t(method))
    if split:
        note += "; " + L.t("stayers + joiners + leavers (pp) = the change")
    header = ["Tier", "Change", "95% interval", *(g.capitalize() for g in parts)]
    return [
        Section(
            title=L.t("The change in detail"),
            header=[L.t(h) for h in header],
            rows=rows,
            note=note,
            key="change_detail",
        )
    ]


def _figures_change(b: dict[str, Any], cur: dict[str, Any], L: Lang) -> list[Section]:
    fb, fc = figures_of(b), figures_of(cur)
    if not fc:
        return []
    return [
        Section(
            title=L.t("Inequality and interaction: baseline → current"),
            header=[L.t(h) for h in ("Figure", "Baseline", "Current")],
            rows=[
                [L.t(FIGURES[k][0]), L.figure(fb.get(k), FIGURES[k][1]), L.figure(v, FIGURES[k][1])]
                for k, v in fc.items()
            ],
            key="figures_change",
        )
    ]


def _lifecycle(tr: dict[str, Any], L: Lang) -> list[Section]:
    rows = [r for r in tr["rows"] if "lifecycle" in r]
    if not rows:
        return []
    header = ("Period", "New", "Returning", "Resurrecting", "Dormant", "Active days")
    return [
        Section(
            title=L.t("How people come and go"),
            header=[L.t(h) for h in header],
            rows=[
                [L.day(r["period"]), *(L.num((r["lifecycle"] or {}).get(k)) for k in LIFECYCLE)]
                + [L.figure(r.get("stickiness"), "ratio")]
                for r in rows
            ],
            note=L.t(
                "new: first activity ever in the data; active days: mean distinct days "
                "per active person"
            ),
            key="lifecycle",
        )
    ]


def _trend(tr: dict[str, Any], L: Lang) -> list[Section]:
    main = Section(
        title=L.t(
            "Trend per {period} ({tz})", period=L.t(tr["period"]), tz=tr["window"]["timezone"]
        ),
        header=[L.t(h) for h in ("Period", "From", "To", "Population")]
        + [L.t(label(t)) for t in _names(tr)],
        rows=[
            [L.day(r["period"]), L.day(r["from"]), L.day(r["to"]), L.num(r["population"]["size"])]
            + _rates(r["metrics"], L, r.get("no_data", False))
            for r in tr["rows"]
        ],
        labels=3,
        key="trend",
    )
    segs = [
        _segments(
            L.t("{period} by {dim}", period=L.day(r["period"]), dim=dim),
            dim,
            rows,
            L,
            r.get("no_data", False),
        )
        for r in tr["rows"]
        for dim, rows in r.get("segments", {}).items()
    ]
    return [main, *_lifecycle(tr, L), *segs]


def _names(tr: dict[str, Any]) -> list[str]:
    return list(tr["rows"][0]["metrics"]) if tr["rows"] else list(TIERS)


def sections(result: dict[str, Any], lang: Lang | None = None) -> list[Section]:
    """The sections of a measurement, comparison or trend report, in ``lang``."""
    build = {"measurement": _measurement, "comparison": _comparison, "trend": _trend}
    return build[result["kind"]](result, lang or Lang())
