"""Renderers: each takes one result object (a report dict) and formats it; all rounding
lives here. JSON never goes through rich (rich wraps long lines when piped)."""

from __future__ import annotations

import json
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .i18n import Lang

FORMATS = ("table", "json", "csv", "markdown", "html")


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


# The text formats by name: the module whose ``to_<name>`` renders it (the table is drawn by
# rich). A new format adds one module, one entry here and its name to FORMATS, and --output
# picks it by extension (cli.EXTENSION_FORMATS). Each is imported when first used: a command
# prints one format, and HTML alone (altair's charts, the page) costs more than --help.
RENDERERS = {"csv": ".csv", "markdown": ".markdown", "html": ".html", "table": ".table"}


def renderer(fmt: str) -> Any:
    """The function that renders ``fmt`` (``to_json``, ``to_csv``, ...)."""
    if fmt == "json":
        return to_json
    return getattr(import_module(RENDERERS[fmt], __name__), f"to_{fmt}")


def render_text(
    fmt: str,
    result: dict[str, Any],
    lang: Lang | None = None,
    csv_dialect: str = "plain",
) -> str:
    """``result`` in a text format; ``lang`` for the human ones (JSON has no language)."""
    if fmt == "json":
        return to_json(result)
    if lang is None:
        from .i18n import Lang

        lang = Lang()
    if fmt == "csv":
        return renderer(fmt)(result, dialect=csv_dialect, lang=lang)
    return renderer(fmt)(result, lang)


def __getattr__(name: str) -> Any:
    # ``from intranet_metrics.render import to_html`` as before, loaded on first use.
    if name.startswith("to_") and name[3:] in RENDERERS:
        return renderer(name[3:])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMATS",
    "RENDERERS",
    "render_text",
    "renderer",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "to_table",
]
