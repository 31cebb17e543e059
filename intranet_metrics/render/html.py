"""One self-contained HTML report: tiles, charts, tables and an appendix in one file.

Charts are Vega-Lite specs built with altair and drawn to SVG by vl-convert (a bundled
engine, no browser and no network), then inlined: the page has no script, no font or
image to fetch, and a Content-Security-Policy that forbids any request, so it opens the
same from a mail attachment, a SharePoint library or a USB stick, and prints to PDF.
"""

from __future__ import annotations

import html
from typing import Any

from . import charts
from .charts import TIER_COLOURS
from .common import LADDER, STATUS_TEXT, TIERS, goal_targets
from .i18n import Lang
from .sections import SUPPRESSED, Section, sections

# No request of any kind may leave the page: styles and images are inline.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"

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
th:first-child, td:first-child, td.label { text-align: left; }
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


# -- sections -------------------------------------------------------------------------------
def _goal_line(x: dict[str, Any], g: dict[str, Any] | None, lang: Lang) -> list[str]:
    """A tile's goal: the target and its status, and the gap while it is not met."""
    if g is None or g.get("target") is None:
        return [f"<p>{_e(lang.t('no goal set'))}</p>"]
    target = g["target"]
    met = g["status"] in ("met", "met_with_confidence")
    status = lang.t(STATUS_TEXT.get(g["status"], "no data"))
    lines = [
        f"<p>{_e(lang.t('goal'))} {_e(lang.pct(target, 0))}: "
        f'<span class="{"met" if met else "notmet"}">{_e(status)}</span></p>'
    ]
    if x["rate"] is not None and not met:
        gap = 100 * (target - x["rate"])
        lines.append(f"<p>{_e(lang.t('gap to goal'))}: {_e(lang.pp(gap))}</p>")
    return lines


def _change_line(ch: dict[str, Any], lang: Lang) -> list[str]:
    """A tile's change since the baseline, whether it is real, and its 95% interval."""
    p = ch["p_value"]
    if p is None:
        words = lang.t("not tested")
    else:
        words = lang.t(
            "a real change (p {p})" if p < 0.05 else "could be chance (p {p})",
            p=lang.pvalue(p) if p < 0.001 else "= " + lang.pvalue(p),
        )
    lines = [
        f"<p>{_e(lang.pp(ch['delta_pp']))} {_e(lang.t('since the baseline'))}: {_e(words)}</p>"
    ]
    if ch.get("interval_pp"):
        lines.append(f'<p class="ci">95%: {_e(lang.interval_pp(ch["interval_pp"]))}</p>')
    return lines


def _tiles(
    m: dict[str, Any], lang: Lang, comparison: dict[str, Any] | None, when: str | None = None
) -> str:
    """One tile per tier: the rate ``when`` (default: now), goal, gap, change and its test."""
    goals = goal_targets(comparison or m)
    out = []
    for t in TIERS:
        x = m["metrics"][t]
        lines = [
            f'<p class="big">{_e(lang.pct(x["rate"]))}</p>',
            f"<p>{_e(lang.num(x['users']))} {_e(lang.t('People').lower())} · "
            f"95%: {_e(lang.ci(x['ci95']))}</p>",
            *_goal_line(x, goals.get(t), lang),
        ]
        if comparison is not None:
            lines += _change_line(comparison["changes"][t], lang)
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
        + _figure(charts.ladder_chart(m["ladder"], lang), lang, "", "ladder")
        + f"<table><thead><tr>{head}</tr></thead><tbody><tr>{cells}</tr></tbody></table>"
    )


_STATUS_CLASS = {"met": "met", "met_with_confidence": "met", "not_met": "notmet"}


def _cell(text: str, column: int, section: Section, lang: Lang) -> str:
    if text == lang.t(SUPPRESSED):
        return f'<td class="suppressed">{_e(text)}</td>'
    if column in section.status_columns:
        cls = next((c for k, c in _STATUS_CLASS.items() if lang.t(STATUS_TEXT[k]) == text), "note")
        return f'<td class="{cls} label">{_e(text)}</td>'
    return (
        f'<td class="label">{_e(text)}</td>' if column < section.labels else f"<td>{_e(text)}</td>"
    )


def _table(section: Section, lang: Lang, level: str | None = "h3") -> str:
    """A section of the model the table and Markdown draw, as an HTML table and note."""
    head = "".join(f"<th>{_e(h)}</th>" for h in section.header)
    body = "".join(
        "<tr>" + "".join(_cell(c, i, section, lang) for i, c in enumerate(row)) + "</tr>"
        for row in section.rows
    )
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in (section.note or "").splitlines())
    title = f"<{level}>{_e(section.title)}</{level}>" if level else ""
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"


def _chart(chart: Any, lang: Lang, caption: str, name: str) -> str:
    """A chart when there is something to draw (a withheld change has nothing)."""
    return "" if chart is None else _figure(chart, lang, caption, name)


def _change(c: dict[str, Any], parts: dict[str, Section], lang: Lang) -> str:
    """The change per tier with its interval, and where it came from (issue 13)."""
    detail = parts.get("change_detail")
    if detail is None:
        return ""
    title = lang.t("The change and its 95% interval")
    out = f"<h2>{_e(title)}</h2>"
    method = next(iter(c["changes"].values())).get("interval_method", "")
    caption = lang.t("interval: {method}", method=lang.t(method))
    out += _chart(charts.change_chart(c["changes"], lang), lang, caption, "change")
    split = charts.split_chart(c["changes"], lang)
    if split is not None:
        caption = lang.t("stayers + joiners + leavers (pp) = the change")
        out += f"<h3>{_e(lang.t('Where the change comes from'))}</h3>"
        out += _figure(split, lang, caption, "split")
    return out + _table(detail, lang)


def _leadership(parts: dict[str, Section], m: dict[str, Any], lang: Lang) -> str:
    section = parts.get("leadership")
    if section is None:
        return ""
    chart = charts.leadership_chart(m["leadership"], lang)
    caption = lang.t("Rates of managers and everyone else")
    return (
        f"<h2>{_e(section.title)}</h2>"
        + _chart(chart, lang, caption, "leadership")
        + (_table(section, lang, None))
    )


# The sections drawn as tables after the charts, in this order, when the result has them.
_MORE = (
    "aggregates",
    "segment_changes",
    "figures",
    "figures_change",
    "nielsen",
    "segment_figures",
    "figure_goals",
    "segment_goals",
)


def _more(parts: dict[str, Section], lang: Lang) -> str:
    return "".join(_table(parts[k], lang, "h2") for k in _MORE if k in parts)


def _keyed(result: dict[str, Any], lang: Lang) -> dict[str, Section]:
    """The shared sections by what they show (the first of each kind)."""
    out: dict[str, Section] = {}
    for s in sections(result, lang):
        out.setdefault(s.key, s)
    return out


def _population(m: dict[str, Any], lang: Lang, title: str | None = None) -> str:
    p = m["population"]
    w = m["window"]
    lines = [
        f"<p><b>{_e(title)}</b></p>" if title else "",
        f"<p>{_e(lang.t('Window'))}: {_e(lang.date(w['from']))} – {_e(lang.date(w['to']))} "
        f"({_e(w['timezone'])}); {_e(lang.t('Population'))}: {_e(lang.num(p['size']))} "
        f"({_e(lang.t(p['basis']))})</p>",
        f"<p>{_e(lang.t('basis_' + _BASIS_TEXT.get(p['basis'], p['basis'])))}</p>",
    ]
    if p.get("identity_coverage") is not None:
        lines.append(
            f"<p>{_e(lang.t('Identity coverage'))}: "
            f"{_e(lang.t('coverage_note', pct=lang.pct(p['identity_coverage'])))} "
            f"{_e(lang.t('unmatched_note', n=lang.num(p.get('unmatched_actors') or 0)))}</p>"
        )
    return "".join(lines)


# The catalogue's key of each population basis's explanation.
_BASIS_TEXT = {"fixed": "headcount"}


def _inputs(result: dict[str, Any], lang: Lang) -> str:
    inputs = result.get("inputs") or (result.get("current") or {}).get("inputs") or []
    head = "".join(
        f"<th>{_e(lang.t(h))}</th>" for h in ("File", "Format", "Events", "Rejected", "SHA-256")
    )
    rows = "".join(
        f"<tr><td>{_e(i.get('relative') or i['file'])}</td><td>{_e(i['format'])}</td>"
        f"<td>{_e(lang.num(i.get('events')))}</td><td>{_e(lang.num(i.get('rejected')))}</td>"
        f"<td><code>{_e(i['sha256'])}</code></td></tr>"
        for i in inputs
    )
    return (
        f"<h3>{_e(lang.t('Inputs'))}</h3>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _generated(stamp: str, lang: Lang) -> str:
    """When the report was made, as a date; a stamp that is no date (a golden file's "-")
    as written."""
    try:
        return lang.date(stamp[:10])
    except ValueError:
        return stamp or "–"


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
        parts.append(f"<p>{_e(lang.t('basis_' + _BASIS_TEXT.get(basis, basis)))}</p>")
    parts.append(f"<h3>{_e(lang.t('Warnings'))}</h3>")
    parts += [f'<p class="warn">{_e(w)}</p>' for w in lang.warnings(result)] or [
        f"<p>{_e(lang.t('No warnings.'))}</p>"
    ]
    parts.append(_inputs(result, lang))
    tool = result.get("tool") or (result.get("current") or {}).get("tool") or {}
    generated = result.get("generated_at") or ""
    parts.append(
        f"<p>{_e(lang.t('Tool'))}: {_e(tool.get('name', 'intranet-metrics'))} "
        f"{_e(tool.get('version', ''))}; {_e(lang.t('Generated'))}: "
        f"{_e(_generated(generated, lang))}</p>"
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


def _measurement(result: dict[str, Any], lang: Lang) -> tuple[str, str]:
    g = goal_targets(result)
    chart = charts.rates_chart(_points(result, lang.t("Current"), g, lang), lang)
    title = f"{lang.t('Measurement')}: {lang.label(result['label'])}"
    parts = _keyed(result, lang)
    return title, (
        _tiles(result, lang, None)
        + f"<h2>{_e(lang.t('Rates with 95% intervals and goals'))}</h2>"
        + _figure(chart, lang, lang.t("Rates with 95% intervals and goals"), "rates")
        + _segment_tables(result, lang)
        + _ladder(result, lang)
        + _leadership(parts, result, lang)
        + _more(parts, lang)
    )


def _comparison(result: dict[str, Any], lang: Lang) -> tuple[str, str]:
    g = goal_targets(result)
    b, cur = result["baseline"], result["current"]
    points = _points(b, lang.t("Baseline"), g, lang) + _points(cur, lang.t("Current"), g, lang)
    caption = lang.t("Baseline and current, with 95% intervals and goals")
    labels = f"{lang.label(b['label'])} → {lang.label(cur['label'])}"
    title = f"{lang.t('Comparison with the baseline')}: {labels}"
    parts = _keyed(result, lang)
    # The current window's own science sections (leadership, figures per segment).
    now = {k: s for k, s in _keyed(cur, lang).items() if k in ("leadership", "segment_figures")}
    return title, (
        _tiles(cur, lang, result)
        + f"<h2>{_e(caption)}</h2>"
        + _figure(charts.rates_chart(points, lang), lang, caption, "rates")
        + _change(result, parts, lang)
        + _segment_tables(cur, lang)
        + _ladder(cur, lang)
        + _leadership(now, cur, lang)
        + _more(parts | now, lang)
    )


def _trend_table(rows: list[dict[str, Any]], lang: Lang) -> str:
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
    return f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>"


def _lifecycle(result: dict[str, Any], lang: Lang) -> str:
    section = _keyed(result, lang).get("lifecycle")
    if section is None:
        return ""
    chart = charts.lifecycle_chart(result["rows"], lang)
    caption = lang.t("Active people per period")
    return (
        f"<h2>{_e(section.title)}</h2>"
        + _chart(chart, lang, caption, "lifecycle")
        + _table(section, lang, None)
    )


def trend_goals(result: dict[str, Any]) -> dict[str, float]:
    """The tier goals a trend carries (``{metric: target}``); none in an older document."""
    return {g["metric"]: g["target"] for g in result.get("goals") or [] if g["metric"] in TIERS}


def _trend(result: dict[str, Any], lang: Lang) -> tuple[str, str]:
    goals = trend_goals(result)
    rows = result["rows"]
    last = next((r for r in reversed(rows) if not r.get("no_data")), None)
    body = "" if last is None else _tiles_trend(last, lang, goals)
    body += f"<h2>{_e(lang.t('Trend per period'))}</h2>"
    caption = lang.t("The three rates per period")
    body += _figure(charts.trend_chart(rows, goals, lang), lang, caption, "trend")
    body += _trend_table(rows, lang) + _lifecycle(result, lang)
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


def to_html(result: dict[str, Any], lang: Lang | None = None) -> str:
    """The report as one self-contained HTML page: a pure function of the result and the
    language (a trend's goal lines come from its ``goals``)."""
    lang = lang or Lang()
    build = {"measurement": _measurement, "comparison": _comparison, "trend": _trend}
    title, body = build[result["kind"]](result, lang)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang.code}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(lang.t('Intranet adoption report'))}</h1>"
        f'<p class="sub">{_e(title)}</p>'
        f"{body}{_appendix(result, lang)}</body></html>\n"
    )
