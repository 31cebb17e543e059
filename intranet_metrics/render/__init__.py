"""Renderers: each takes one result object (a report dict) and formats it; all rounding
lives here. JSON never goes through rich (rich wraps long lines when piped)."""

from __future__ import annotations

import json
from typing import Any

from .csv import to_csv
from .html import to_html
from .i18n import Lang
from .markdown import to_markdown
from .table import to_table

FORMATS = ("table", "json", "csv", "markdown", "html")


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


# The text formats by name (the table is drawn by rich); a new format adds one entry here
# and its name to FORMATS, and --output picks it by extension (cli.EXTENSION_FORMATS).
RENDERERS = {"json": to_json, "csv": to_csv, "markdown": to_markdown, "html": to_html}


def render_text(
    fmt: str,
    result: dict[str, Any],
    lang: Lang | None = None,
    csv_dialect: str = "plain",
) -> str:
    """``result`` in a text format; ``lang`` for the human ones (JSON has no language)."""
    lang = lang or Lang()
    if fmt == "json":
        return to_json(result)
    if fmt == "csv":
        return to_csv(result, dialect=csv_dialect, lang=lang)
    if fmt == "html":
        return to_html(result, lang)
    return RENDERERS[fmt](result, lang)


__all__ = [
    "FORMATS",
    "RENDERERS",
    "render_text",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "to_table",
]
