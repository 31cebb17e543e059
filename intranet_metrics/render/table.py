"""Rich tables for people at a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .common import STATUS_TEXT, TIERS, printable
from .i18n import Lang
from .sections import NO_DATA, SUPPRESSED, Section, sections

_STATUS_STYLE = {
    STATUS_TEXT["met_with_confidence"]: "bold green",
    STATUS_TEXT["met"]: "green",
    STATUS_TEXT["not_met"]: "red",
}


def _text(text: str, style: str = "") -> Text:
    # Always a Text, never a str: rich would read "[bold]" or "[/]" in a label as markup.
    return Text(printable(text), style=style)


def _cell(text: str, column: int, section: Section, lang: Lang) -> Text:
    if column in section.status_columns:
        style = {lang.t(k): v for k, v in _STATUS_STYLE.items()}.get(text, "dim")
        return _text(text, style)
    if text in (SUPPRESSED, NO_DATA, lang.t(SUPPRESSED), lang.t(NO_DATA)):
        return _text(text, "dim")
    return _text(text)


def _draw(section: Section, lang: Lang | None = None) -> Table:
    lang = lang or Lang()
    t = Table(
        # No outer border or padding: a monthly trend fits 80 columns with every number.
        show_edge=False,
        pad_edge=False,
        title=_text(section.title),
        # A note may hold several lines; only what is inside a line is escaped.
        caption=None
        if section.note is None
        else Text("\n".join(printable(line) for line in section.note.splitlines())),
    )
    for i, name in enumerate(section.header):
        label = i < section.labels or i in section.status_columns
        cells = [row[i] for row in section.rows]
        # At 80 columns text wraps at its spaces; a number or date (a cell without one) is
        # never wrapped or cut: a cut number lies.
        t.add_column(
            _text(name),
            justify="left" if label else "right",
            overflow="fold",
            no_wrap=bool(cells) and all(" " not in c for c in cells),
        )
    for row in section.rows:
        t.add_row(*(_cell(v, i, section, lang) for i, v in enumerate(row)))
    return t


_SPARK = "▁▂▃▄▅▆▇█"


def sparkline(rates: list[float | None]) -> str:
    """One character per period, scaled to the highest rate shown (``·`` for no data)."""
    top = max((r for r in rates if r is not None), default=0.0)
    if top <= 0:
        return "".join("·" if r is None else _SPARK[0] for r in rates)
    return "".join(
        "·" if r is None else _SPARK[min(len(_SPARK) - 1, int(r / top * (len(_SPARK) - 1) + 0.5))]
        for r in rates
    )


def trend_lines(result: dict[str, Any], lang: Lang) -> Table | None:
    """The trend at a glance: per tier a sparkline over the periods, first and last rate."""
    rows = result.get("rows", [])
    if len(rows) < 2:
        return None
    t = Table(title=_text(lang.t("Trend")), box=None, pad_edge=False)
    t.add_column(no_wrap=True)
    t.add_column(no_wrap=True, style="cyan")
    t.add_column(justify="right", no_wrap=True)
    first, last = rows[0]["period"], rows[-1]["period"]
    for tier in TIERS:
        rates = [None if r.get("no_data") else r["metrics"][tier]["rate"] for r in rows]
        shown = [r for r in rates if r is not None]
        span = f"{lang.pct(shown[0])} → {lang.pct(shown[-1])}" if shown else lang.t(NO_DATA)
        t.add_row(_text(lang.t(tier.capitalize())), sparkline(rates), _text(span))
    t.caption = _text(f"{first} – {last}")
    return t


def to_table(result: dict[str, Any], lang: Lang | None = None) -> RenderableType:
    """The sections (a trend with its sparklines), then the report's warnings under them."""
    lang = lang or Lang()
    word = lang.t("Warning")
    warnings = [_text(f"{word}: {w}", "yellow") for w in lang.warnings(result)]
    drawn = [_draw(s, lang) for s in sections(result, lang)]
    if result["kind"] == "trend":
        lines = trend_lines(result, lang)
        if lines is not None:
            drawn.insert(1, lines)
    return Group(*drawn, *warnings)
