"""The report's charts as Vega-Lite specs built with altair (drawn to SVG by html.py).

One function per chart, each a pure function of the result's numbers and the language;
no chart geometry is drawn by hand.
"""

from __future__ import annotations

from typing import Any

from .common import LADDER, LIFECYCLE, TIERS
from .i18n import Lang

# One colour per tier, the same in every chart and tile (colour-blind safe, Okabe-Ito).
TIER_COLOURS = {"reader": "#0072B2", "reactor": "#E69F00", "contributor": "#009E73"}
# The parts of a change and of the lifecycle (Okabe-Ito, distinct from the tiers' order).
PART_COLOURS = ("#56B4E9", "#CC79A7", "#D55E00", "#999999")


def tier_colour(lang: Lang) -> Any:
    import altair as alt

    names = [lang.t(t.capitalize()) for t in TIERS]
    return alt.Scale(domain=names, range=[TIER_COLOURS[t] for t in TIERS])


def rates_chart(points: list[dict[str, Any]], lang: Lang) -> Any:
    """Bars per tier (baseline and current side by side), 95% whiskers, dashed goals."""
    import altair as alt

    data = alt.Data(values=points)
    rate = alt.Y("rate:Q", title=lang.t("Rate"), axis=alt.Axis(format=".0%"))
    when = alt.X("when:N", title=None, sort=None, axis=alt.Axis(labelAngle=0))
    bars = (
        alt.Chart(data)
        .mark_bar(opacity=0.85)
        .encode(
            x=when,
            y=rate.scale(domain=[0, 1]),
            color=alt.Color("tier:N", scale=tier_colour(lang), legend=None),
            opacity=alt.Opacity("when:N", legend=None, sort=None),
        )
    )
    whiskers = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2, color="#1b1f24")
        .encode(x=when, y="lo:Q", y2="hi:Q")
    )
    goal = (
        alt.Chart(data)
        .transform_filter("isValid(datum.goal)")
        .mark_rule(strokeDash=[6, 4], strokeWidth=2, color="#b42318")
        .encode(y="goal:Q")
    )
    return (
        alt.layer(bars, whiskers, goal)
        .properties(width=170, height=220)
        .facet(
            column=alt.Column("tier:N", title=None, sort=[lang.t(t.capitalize()) for t in TIERS])
        )
    )


def trend_chart(rows: list[dict[str, Any]], goals: dict[str, float], lang: Lang) -> Any:
    """The three rates per period (a gap where a period has no data) with dashed goals."""
    import altair as alt

    points = [
        {
            "period": r["period"],
            "tier": lang.t(t.capitalize()),
            "rate": None if r.get("no_data") else r["metrics"][t]["rate"],
        }
        for r in rows
        for t in TIERS
    ]
    colour = alt.Color("tier:N", scale=tier_colour(lang), title=None, sort=None)
    lines = (
        alt.Chart(alt.Data(values=points))
        .mark_line(point=True, strokeWidth=2.5)
        .encode(
            x=alt.X("period:O", title=lang.t("Period"), sort=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("rate:Q", title=lang.t("Rate"), axis=alt.Axis(format=".0%")),
            color=colour,
        )
    )
    layers = [lines]
    if goals:
        marks = [{"tier": lang.t(t.capitalize()), "goal": goals[t]} for t in TIERS if t in goals]
        layers.append(
            alt.Chart(alt.Data(values=marks))
            .mark_rule(strokeDash=[6, 4], strokeWidth=1.5)
            .encode(y="goal:Q", color=colour)
        )
    return alt.layer(*layers).properties(width=760, height=280)


def ladder_chart(ladder: dict[str, int], lang: Lang) -> Any:
    import altair as alt

    names = [lang.t(n) for n in ("Inactive", "Reader only", "Reactor only", "Contributor")]
    points = [
        {"step": name, "people": ladder[k], "order": i}
        for i, (k, name) in enumerate(zip(LADDER, names, strict=True))
    ]
    return (
        alt.Chart(alt.Data(values=points))
        .mark_bar()
        .encode(
            x=alt.X("sum(people):Q", title=lang.t("People"), stack="zero"),
            color=alt.Color(
                "step:N",
                sort=names,
                title=None,
                scale=alt.Scale(domain=names, range=["#c9ced6", *(TIER_COLOURS[t] for t in TIERS)]),
            ),
            order=alt.Order("order:Q"),
        )
        .properties(width=760, height=40)
    )


def change_chart(changes: dict[str, Any], lang: Lang) -> Any | None:
    """Each tier's change (pp) as a point with its 95% interval as a whisker, and zero."""
    import altair as alt

    points = [
        {"tier": lang.t(t.capitalize()), "delta": ch["delta_pp"], "lo": iv[0], "hi": iv[1]}
        for t, ch in changes.items()
        if t in TIER_COLOURS and ch.get("delta_pp") is not None and (iv := ch.get("interval_pp"))
    ]
    if not points:
        return None
    names = [p["tier"] for p in points]
    y = alt.Y("tier:N", title=None, sort=names)
    x_title = lang.t("Change (pp)")
    colour = alt.Color("tier:N", scale=tier_colour(lang), legend=None)
    data = alt.Data(values=points)
    whisker = (
        alt.Chart(data)
        .mark_rule(strokeWidth=3)
        .encode(x=alt.X("lo:Q", title=x_title), x2="hi:Q", y=y, color=colour)
    )
    dot = alt.Chart(data).mark_point(filled=True, size=160).encode(x="delta:Q", y=y, color=colour)
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#5b6570").encode(x="zero:Q")
    return alt.layer(zero, whisker, dot).properties(width=700, height=40 * len(points))


def split_chart(changes: dict[str, Any], lang: Lang) -> Any | None:
    """Each tier's change split into what stayers, joiners and leavers contributed (pp):
    the parts stack to the change (negative parts to the left of zero)."""
    import altair as alt

    parts = ("stayers", "joiners", "leavers")
    names = [lang.t(p.capitalize()) for p in parts]
    points = [
        {"tier": lang.t(t.capitalize()), "part": name, "pp": got, "order": i}
        for t, ch in changes.items()
        if t in TIER_COLOURS and ch.get("split")
        for i, (p, name) in enumerate(zip(parts, names, strict=True))
        if (got := (ch["split"].get(p) or {}).get("contribution_pp")) is not None
    ]
    if not points:
        return None
    tiers = list(dict.fromkeys(p["tier"] for p in points))
    return (
        alt.Chart(alt.Data(values=points))
        .mark_bar()
        .encode(
            x=alt.X("sum(pp):Q", title=lang.t("Contribution (pp)"), stack="zero"),
            y=alt.Y("tier:N", title=None, sort=tiers),
            color=alt.Color(
                "part:N",
                title=None,
                sort=names,
                scale=alt.Scale(domain=names, range=PART_COLOURS[:3]),
            ),
            order=alt.Order("order:Q"),
        )
        .properties(width=700, height=40 * len(tiers))
    )


def lifecycle_chart(rows: list[dict[str, Any]], lang: Lang) -> Any | None:
    """Per period the active people as new, returning and resurrecting (stacked above
    zero) and the dormant ones (below zero)."""
    import altair as alt

    names = [lang.t(k.capitalize()) for k in LIFECYCLE]
    points = [
        {
            "period": lang.day(r["period"]),
            "kind": name,
            "people": -n if k == "dormant" else n,
            "order": i,
        }
        for r in rows
        for i, (k, name) in enumerate(zip(LIFECYCLE, names, strict=True))
        if (n := (r.get("lifecycle") or {}).get(k)) is not None
    ]
    if not points:
        return None
    periods = list(dict.fromkeys(lang.day(r["period"]) for r in rows))
    return (
        alt.Chart(alt.Data(values=points))
        .mark_bar()
        .encode(
            x=alt.X("period:O", title=lang.t("Period"), sort=periods, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(people):Q", title=lang.t("People"), stack="zero"),
            color=alt.Color(
                "kind:N", title=None, sort=names, scale=alt.Scale(domain=names, range=PART_COLOURS)
            ),
            order=alt.Order("order:Q"),
        )
        .properties(width=760, height=240)
    )


def leadership_chart(le: dict[str, Any], lang: Lang) -> Any | None:
    """The three rates of managers beside everyone else's."""
    import altair as alt

    groups = [(lang.t("Managers"), le["managers"]), (lang.t("Everyone else"), le["others"])]
    points = [
        {"tier": lang.t(t.capitalize()), "group": name, "rate": g.get(f"{t}_rate")}
        for name, g in groups
        for t in TIERS
        if g.get(f"{t}_rate") is not None
    ]
    if not points:
        return None
    tiers = [lang.t(t.capitalize()) for t in TIERS]
    group_names = [name for name, _ in groups]
    return (
        alt.Chart(alt.Data(values=points))
        .mark_bar()
        .encode(
            x=alt.X("tier:N", title=None, sort=tiers, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("group:N", sort=group_names),
            y=alt.Y("rate:Q", title=lang.t("Rate"), axis=alt.Axis(format=".0%")),
            color=alt.Color(
                "group:N",
                title=None,
                sort=group_names,
                scale=alt.Scale(domain=group_names, range=["#1b1f24", "#c9ced6"]),
            ),
        )
        .properties(width=480, height=220)
    )
