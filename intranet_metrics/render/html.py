"""One self-contained HTML report: tiles, charts, tables and an appendix in one file.

Charts are Vega-Lite specs built with altair and drawn to SVG by vl-convert (a bundled
engine, no browser and no network), then inlined: the page has no script, no font or
image to fetch, and a Content-Security-Policy that forbids any request, so it opens the
same from a mail attachment, a SharePoint library or a USB stick, and prints to PDF.
"""

from __future__ import annotations

import html
from typing import Any

from .common import LADDER, TIERS, goal_targets, warnings_of
from .i18n import Lang

# No request of any kind may leave the page: styles and images are inline.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"

# One colour per tier, the same in every chart and tile (colour-blind safe, Okabe-Ito).
TIER_COLOURS = {"reader": "#0072B2", "reactor": "#E69F00", "contributor": "#009E73"}
_LOCALES = {"en": "en-GB", "nl": "nl-NL"}

_CSS = """
:root { --ink: #1b1f24; --muted: #5b6570; --line: #d6dbe1; --good: #1a7f37; --bad: #b42318; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Calibri, Helvetica, Arial, sans-serif; color: var(--ink);
  max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; }
.sub { color: var(--muted); margin-top: 0; }
.tiles { display: grid; grid-template-columns: repeat(3, 1fr); gap: 1rem; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 1rem;
  border-top: 6px solid var(--tier); break-inside: avoid; }
.tile .big { font-size: 2.2rem; font-weight: 600; }
.tile .name { font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); font-size: .85rem; }
.tile p { margin: .25rem 0; }
.met { color: var(--good); font-weight: 600; }
.notmet { color: var(--bad); font-weight: 600; }
figure { margin: 1rem 0; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: .3rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.suppressed { color: var(--muted); font-style: italic; background: repeating-linear-gradient(
  45deg, #f3f4f6, #f3f4f6 4px, #ffffff 4px, #ffffff 8px); text-align: center; }
.note { color: var(--muted); font-size: .9rem; }
.warn { background: #fff8e1; border-left: 4px solid #f0b400; padding: .4rem .8rem; }
code { font-size: .8rem; word-break: break-all; }
@page { size: A4; margin: 14mm; }
@media print {
  body { margin: 0; max-width: none; }
  h2 { break-after: avoid; }
  .tiles { grid-template-columns: repeat(3, 1fr); }
  table, .tile, figure { break-inside: avoid; }
}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _svg(chart: Any, lang: Lang) -> str:
    """The chart drawn to an SVG string, numbers in the report's language."""
    import vl_convert

    return vl_convert.vegalite_to_svg(
        chart.to_dict(), format_locale=_LOCALES[lang.code], time_format_locale=_LOCALES[lang.code]
    )


def _figure(chart: Any, lang: Lang, caption: str, name: str) -> str:
    return (
        f'<figure class="chart" data-chart="{_e(name)}">{_svg(chart, lang)}'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _tier_colour(lang: Lang) -> Any:
    import altair as alt

    names = [lang.t(t.capitalize()) for t in TIERS]
    return alt.Scale(domain=names, range=[TIER_COLOURS[t] for t in TIERS])


def _rates_chart(points: list[dict[str, Any]], lang: Lang) -> Any:
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
            color=alt.Color("tier:N", scale=_tier_colour(lang), legend=None),
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


def _trend_chart(rows: list[dict[str, Any]], goals: dict[str, float], lang: Lang) -> Any:
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
    colour = alt.Color("tier:N", scale=_tier_colour(lang), title=None, sort=None)
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


def _ladder_chart(ladder: dict[str, int], lang: Lang) -> Any:
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


# -- sections -------------------------------------------------------------------------------
def _tiles(
    m: dict[str, Any], lang: Lang, comparison: dict[str, Any] | None, when: str | None = None
) -> str:
    """One tile per tier: the rate ``when`` (default: now), goal, gap, change and its test."""
    goals = goal_targets(comparison or m)
    out = []
    for t in TIERS:
        x = m["metrics"][t]
        g = goals.get(t)
        lines = [f'<p class="big">{_e(lang.pct(x["rate"]))}</p>']
        lines.append(
            f"<p>{_e(lang.num(x['users']))} {_e(lang.t('People').lower())} · "
            f"95%: {_e(lang.ci(x['ci95']))}</p>"
        )
        if g is None or g.get("target") is None:
            lines.append(f"<p>{_e(lang.t('no goal set'))}</p>")
        else:
            target = g["target"]
            met = g["status"] in ("met", "met_with_confidence")
            status = {"met_with_confidence": "met (95% sure)", "met": "met"}.get(
                g["status"], "not met" if g["status"] == "not_met" else "no data"
            )
            lines.append(
                f"<p>{_e(lang.t('goal'))} {_e(lang.pct(target, 0))}: "
                f'<span class="{"met" if met else "notmet"}">{_e(lang.t(status))}</span></p>'
            )
            if x["rate"] is not None and not met:
                gap = 100 * (target - x["rate"])
                lines.append(f"<p>{_e(lang.t('gap to goal'))}: {_e(lang.pp(gap))}</p>")
        if comparison is not None:
            ch = comparison["changes"][t]
            p = ch["p_value"]
            if p is None:
                words = lang.t("not tested")
            else:
                words = lang.t(
                    "a real change (p {p})" if p < 0.05 else "could be chance (p {p})",
                    p=lang.pvalue(p) if p < 0.001 else "= " + lang.pvalue(p),
                )
            lines.append(
                f"<p>{_e(lang.pp(ch['delta_pp']))} {_e(lang.t('since the baseline'))}: "
                f"{_e(words)}</p>"
            )
        name = lang.t(t.capitalize() + "s")
        out.append(
            f'<div class="tile" style="--tier: {TIER_COLOURS[t]}">'
            f'<p class="name">{_e(name)} · {_e(when or lang.t("now"))}</p>{"".join(lines)}</div>'
        )
    return f'<div class="tiles">{"".join(out)}</div>'


def _shade(rate: float | None) -> str:
    if rate is None:
        return ""
    # Blue with the rate as its strength: the eye finds high and low groups at once.
    return f' style="background: rgba(0, 114, 178, {0.08 + 0.6 * rate:.2f})"'


def _rate_cell(row: dict[str, Any], tier: str, lang: Lang) -> str:
    rate = row["metrics"][tier]["rate"]
    return f"<td{_shade(rate)}>{_e(lang.pct(rate))}</td>"


def _segment_tables(m: dict[str, Any], lang: Lang) -> str:
    out = []
    for dim, rows in m.get("segments", {}).items():
        head = "".join(
            f"<th>{_e(h)}</th>"
            for h in (dim, lang.t("Population"), *(lang.t(t.capitalize()) for t in TIERS))
        )
        body = []
        for r in rows:
            if r["suppressed"]:
                body.append(
                    f"<tr><td>{_e(r['value'])}</td>"
                    f'<td class="suppressed" colspan="4">{_e(lang.t("suppressed"))}</td></tr>'
                )
                continue
            cells = "".join(_rate_cell(r, t, lang) for t in TIERS)
            body.append(
                f"<tr><td>{_e(r['value'])}</td><td>{_e(lang.num(r['population']))}</td>{cells}</tr>"
            )
        out.append(
            f"<h3>{_e(lang.t('By {dim}', dim=dim))}</h3>"
            f'<table class="segments"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )
    if out:
        note = lang.t("Groups smaller than the minimum group size are suppressed (privacy).")
        out.append(f'<p class="note">{_e(note)}</p>')
    return "".join(out)


def _ladder(m: dict[str, Any], lang: Lang) -> str:
    names = [lang.t(n) for n in ("Inactive", "Reader only", "Reactor only", "Contributor")]
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    cells = "".join(f"<td>{_e(lang.num(m['ladder'][k]))}</td>" for k in LADDER)
    return (
        f"<h2>{_e(lang.t('Ladder (each person once)'))}</h2>"
        + _figure(_ladder_chart(m["ladder"], lang), lang, "", "ladder")
        + f"<table><thead><tr>{head}</tr></thead><tbody><tr>{cells}</tr></tbody></table>"
    )


# The science figures (SPEC 7: inequality, interaction), shown when a measurement has them:
# key -> (English label, how to write the value).
_FIGURES = {
    "gini": ("Gini of contributions (0 equal, 1 one person)", "decimal2"),
    "top1_share": ("Share of contributions by the top 1% of contributors", "pct"),
    "top10_share": ("Share of contributions by the top 10% of contributors", "pct"),
    "reply_coverage": ("Thread starts answered by someone else within 7 days", "pct"),
    "median_first_response_hours": ("Median hours to the first response", "decimal1"),
    "solo_thread_rate": ("Thread starts that never got a response", "pct"),
    "broadcast_share": ("Broadcast share", "pct"),
    "replies_per_own_post": ("Replies per own post", "decimal2"),
}


def _figures(m: dict[str, Any], lang: Lang) -> str:
    rows = []
    for group in ("inequality", "interaction"):
        for key, value in (m.get(group) or {}).items():
            if key not in _FIGURES:  # counts and nested references: the other renderers
                continue
            label, how = _FIGURES[key]
            if value is None:
                text = "–"
            elif how == "pct":
                text = lang.pct(value)
            else:
                text = lang.decimal(value, 1 if how == "decimal1" else 2)
            rows.append(f"<tr><td>{_e(lang.t(label))}</td><td>{_e(text)}</td></tr>")
    if not rows:
        return ""
    return (
        f"<h2>{_e(lang.t('Inequality and interaction'))}</h2>"
        f"<table><tbody>{''.join(rows)}</tbody></table>"
    )


def _population(m: dict[str, Any], lang: Lang, title: str | None = None) -> str:
    p = m["population"]
    w = m["window"]
    lines = [
        f"<p><b>{_e(title)}</b></p>" if title else "",
        f"<p>{_e(lang.t('Window'))}: {_e(lang.date(w['from']))} – {_e(lang.date(w['to']))} "
        f"({_e(w['timezone'])}); {_e(lang.t('Population'))}: {_e(lang.num(p['size']))} "
        f"({_e(lang.t(p['basis']))})</p>",
        f"<p>{_e(lang.t('basis_' + p['basis']))}</p>",
    ]
    if p.get("identity_coverage") is not None:
        lines.append(
            f"<p>{_e(lang.t('Identity coverage'))}: "
            f"{_e(lang.t('coverage_note', pct=lang.pct(p['identity_coverage'])))} "
            f"{_e(lang.t('unmatched_note', n=lang.num(p.get('unmatched_actors') or 0)))}</p>"
        )
    return "".join(lines)


def _appendix(result: dict[str, Any], lang: Lang) -> str:
    parts = [f"<h2>{_e(lang.t('Appendix'))}</h2>", f"<h3>{_e(lang.t('Definitions'))}</h3><ul>"]
    parts += [
        f"<li>{_e(lang.t(k))}</li>"
        for k in ("def_reader", "def_reactor", "def_contributor", "def_rate", "def_interval")
    ]
    parts.append("</ul>")
    parts.append(f"<h3>{_e(lang.t('Population basis'))}</h3>")
    kind = result["kind"]
    if kind == "comparison":
        parts.append(_population(result["baseline"], lang, lang.t("Baseline")))
        parts.append(_population(result["current"], lang, lang.t("Current")))
        test = next(iter(result["changes"].values()))["test"]
        parts.append(f"<p>{_e(lang.t('Test'))}: <code>{_e(test)}</code></p>")
    elif kind == "measurement":
        parts.append(_population(result, lang))
    else:
        basis = result["rows"][0]["population"]["basis"] if result["rows"] else "roster"
        parts.append(f"<p>{_e(lang.t('basis_' + basis))}</p>")
    parts.append(f"<h3>{_e(lang.t('Warnings'))}</h3>")
    warnings = warnings_of(result)
    parts += [f'<p class="warn">{_e(w)}</p>' for w in warnings] or [
        f"<p>{_e(lang.t('No warnings.'))}</p>"
    ]
    inputs = result.get("inputs") or (result.get("current") or {}).get("inputs") or []
    parts.append(f"<h3>{_e(lang.t('Inputs'))}</h3>")
    head = "".join(
        f"<th>{_e(lang.t(h))}</th>" for h in ("File", "Format", "Events", "Rejected", "SHA-256")
    )
    rows = "".join(
        f"<tr><td>{_e(i.get('relative') or i['file'])}</td><td>{_e(i['format'])}</td>"
        f"<td>{_e(lang.num(i.get('events')))}</td><td>{_e(lang.num(i.get('rejected')))}</td>"
        f"<td><code>{_e(i['sha256'])}</code></td></tr>"
        for i in inputs
    )
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    tool = result.get("tool") or (result.get("current") or {}).get("tool") or {}
    generated = result.get("generated_at") or ""
    parts.append(
        f"<p>{_e(lang.t('Tool'))}: {_e(tool.get('name', 'intranet-metrics'))} "
        f"{_e(tool.get('version', ''))}; {_e(lang.t('Generated'))}: "
        f"{_e(lang.date(generated[:10]) if generated else '–')}</p>"
    )
    return "".join(parts)


def _points(m: dict[str, Any], when: str, goals: dict[str, Any], lang: Lang) -> list[dict]:
    return [
        {
            "tier": lang.t(t.capitalize()),
            "when": when,
            "rate": m["metrics"][t]["rate"],
            "lo": (m["metrics"][t]["ci95"] or [None, None])[0],
            "hi": (m["metrics"][t]["ci95"] or [None, None])[1],
            "goal": (goals.get(t) or {}).get("target"),
        }
        for t in TIERS
    ]


def _body(result: dict[str, Any], lang: Lang, goals: dict[str, float]) -> tuple[str, str]:
    kind = result["kind"]
    if kind == "measurement":
        g = goal_targets(result)
        chart = _rates_chart(_points(result, lang.t("Current"), g, lang), lang)
        title = f"{lang.t('Measurement')}: {lang.label(result['label'])}"
        return title, (
            _tiles(result, lang, None)
            + f"<h2>{_e(lang.t('Rates with 95% intervals and goals'))}</h2>"
            + _figure(chart, lang, lang.t("Rates with 95% intervals and goals"), "rates")
            + _segment_tables(result, lang)
            + _ladder(result, lang)
            + _figures(result, lang)
        )
    if kind == "comparison":
        g = goal_targets(result)
        b, cur = result["baseline"], result["current"]
        points = _points(b, lang.t("Baseline"), g, lang) + _points(cur, lang.t("Current"), g, lang)
        caption = lang.t("Baseline and current, with 95% intervals and goals")
        labels = f"{lang.label(b['label'])} → {lang.label(cur['label'])}"
        title = f"{lang.t('Comparison with the baseline')}: {labels}"
        return title, (
            _tiles(cur, lang, result)
            + f"<h2>{_e(caption)}</h2>"
            + _figure(_rates_chart(points, lang), lang, caption, "rates")
            + _segment_tables(cur, lang)
            + _ladder(cur, lang)
            + _figures(cur, lang)
        )
    caption = lang.t("The three rates per period")
    rows = result["rows"]
    last = next((r for r in reversed(rows) if not r.get("no_data")), None)
    body = ""
    if last is not None:
        body += _tiles_trend(last, lang, goals)
    body += f"<h2>{_e(lang.t('Trend per period'))}</h2>"
    body += _figure(_trend_chart(rows, goals, lang), lang, caption, "trend")
    head = "".join(
        f"<th>{_e(h)}</th>"
        for h in (lang.t("Period"), lang.t("Population"), *(lang.t(t.capitalize()) for t in TIERS))
    )
    trs = "".join(
        f"<tr><td>{_e(r['period'])}</td><td>{_e(lang.num(r['population']['size']))}</td>"
        + "".join(
            f"<td>{_e(lang.t('no data'))}</td>" if r.get("no_data") else _rate_cell(r, t, lang)
            for t in TIERS
        )
        + "</tr>"
        for r in rows
    )
    body += f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>"
    if last is not None:
        # The latest period with data, by segment, when the trend was broken down.
        body += _segment_tables(last, lang) + _ladder(last, lang)
    window = result["window"]
    title = f"{lang.t('Trend per period')}: {lang.date(window['from'])} – {lang.date(window['to'])}"
    return title, body


def _tiles_trend(last: dict[str, Any], lang: Lang, goals: dict[str, float]) -> str:
    """Tiles for the latest period with data, against the goals when they are known."""
    statuses = []
    for t, target in goals.items():
        rate = last["metrics"][t]["rate"]
        statuses.append(
            {
                "metric": t,
                "target": target,
                "status": "no_data" if rate is None else ("met" if rate >= target else "not_met"),
            }
        )
    return _tiles({**last, "goals": statuses}, lang, None, when=last["period"])


def to_html(
    result: dict[str, Any], lang: Lang | None = None, goals: dict[str, float] | None = None
) -> str:
    """The report as one self-contained HTML page. ``goals`` (fractions per tier) draw goal
    lines on a trend, whose JSON carries none."""
    lang = lang or Lang()
    title, body = _body(result, lang, goals or {})
    return (
        f'<!DOCTYPE html>\n<html lang="{lang.code}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(lang.t('Intranet adoption report'))}</h1>"
        f'<p class="sub">{_e(title)}</p>'
        f"{body}{_appendix(result, lang)}</body></html>\n"
    )
