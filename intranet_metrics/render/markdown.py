"""Markdown tables, for intranet pages and board papers."""

from __future__ import annotations

from typing import Any

from .common import printable
from .i18n import Lang
from .sections import Section, sections


def _esc(text: str) -> str:
    # A newline would end the table row: it is escaped like every control character.
    return printable(text).replace("|", "\\|")


def _warnings(result: dict[str, Any], lang: Lang) -> str:
    """The report's warnings as one note block (a blockquote) under the main table."""
    word = lang.t("Warning")
    return "\n".join(f"> **{word}:** {_esc(w)}  " for w in lang.warnings(result)) + "\n"


def _draw(section: Section, level: str) -> str:
    align = [
        "---" if i < section.labels or i in section.status_columns else "--:"
        for i in range(len(section.header))
    ]
    lines = [
        f"{level} {_esc(section.title)}",
        "",
        "| " + " | ".join(_esc(h) for h in section.header) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(_esc(c) for c in row) + " |" for row in section.rows),
    ]
    if section.note:
        for note in section.note.splitlines():
            lines += ["", printable(note)]
    return "\n".join(lines) + "\n"


def to_markdown(result: dict[str, Any], lang: Lang | None = None) -> str:
    lang = lang or Lang()
    drawn = sections(result, lang)
    parts = [_draw(s, "##" if i == 0 else "###") for i, s in enumerate(drawn)]
    if result.get("warnings"):
        parts.insert(1, _warnings(result, lang))
    return "\n".join(parts)
