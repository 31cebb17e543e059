"""Rich tables for people at a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .common import STATUS_TEXT, printable, warnings_of
from .sections import NO_DATA, SUPPRESSED, Section, sections

_STATUS_STYLE = {
    STATUS_TEXT["met_with_confidence"]: "bold green",
    STATUS_TEXT["met"]: "green",
    STATUS_TEXT["not_met"]: "red",
}


def _text(text: str, style: str = "") -> Text:
    # Always a Text, never a str: rich would read "[bold]" or "[/]" in a label as markup.
    return Text(printable(text), style=style)


def _cell(text: str, column: int, section: Section) -> Text:
    if column in section.status_columns:
        return _text(text, _STATUS_STYLE.get(text, "dim"))
    if text in (SUPPRESSED, NO_DATA):
        return _text(text, "dim")
    return _text(text)


def _draw(section: Section) -> Table:
    t = Table(
        title=_text(section.title),
        # A note may hold several lines; only what is inside a line is escaped.
        caption=None
        if section.note is None
        else Text("\n".join(printable(line) for line in section.note.splitlines())),
    )
    for i, name in enumerate(section.header):
        label = i < section.labels or i in section.status_columns
        t.add_column(_text(name), justify="left" if label else "right")
    for row in section.rows:
        t.add_row(*(_cell(v, i, section) for i, v in enumerate(row)))
    return t


def to_table(result: dict[str, Any]) -> RenderableType:
    """The sections, then the report's warnings under them."""
    warnings = [_text(f"Warning: {w}", "yellow") for w in warnings_of(result)]
    return Group(*(_draw(s) for s in sections(result)), *warnings)
