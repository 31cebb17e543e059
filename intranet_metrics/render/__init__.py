"""Renderers: each takes one result object (a report dict) and formats it; all rounding
lives here. JSON never goes through rich (rich wraps long lines when piped)."""

from __future__ import annotations

import json
from typing import Any

from .csv import to_csv
from .markdown import to_markdown
from .table import to_table

FORMATS = ("table", "json", "csv", "markdown")


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


# The text formats by name (the table is drawn by rich); a new format adds one entry here
# and its name to FORMATS, and --output picks it by extension (cli.EXTENSION_FORMATS).
RENDERERS = {"json": to_json, "csv": to_csv, "markdown": to_markdown}

__all__ = ["FORMATS", "RENDERERS", "to_csv", "to_json", "to_markdown", "to_table"]
