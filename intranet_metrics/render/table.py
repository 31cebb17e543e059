"""Rich tables for people at a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .common import STATUS_TEXT
from .sections import SUPPRESSED, Section, sections

_STATUS_STYLE = {
    STATUS_TEXT["met_with_confidence"]: "bold green",
    STATUS_TEXT["met"]: "green",
    STATUS_TEXT["not_met"]: "red",
}


def _cell(text: str, column: int, section: Section) -> Text | str:
    if column in section.status_columns:
        return Text(text, style=_STATUS_STYLE.get(text, "dim"))
    if text == SUPPRESSED:
        return Text(text, style="dim")
    return text


def _draw(section: Section) -> Table:
    t = Table(title=section.title, caption=section.note)
    for i, name in enumerate(section.header):
        label = i < section.labels or i in section.status_columns
        t.add_column(name, justify="left" if label else "right")
    for row in section.rows:
        t.add_row(*(_cell(v, i, section) for i, v in enumerate(row)))
    return t


def to_table(result: dict[str, Any]) -> RenderableType:
    return Group(*(_draw(s) for s in sections(result)))
