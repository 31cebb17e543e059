"""Golden files (issue 14.6): Markdown, CSV in both dialects and the terminal at 80 columns,
in English and Dutch, for the reports of sample_logs/ (tests/golden/i18n/*.json, made by
'baseline', 'compare' and 'report --format json' on the sample; paths made portable).

A change to a renderer shows here as a diff. To accept one on purpose:
UPDATE_GOLDEN=1 python -m pytest tests/test_i18n_golden.py, then read the diff."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from intranet_metrics.render import to_csv, to_markdown, to_table
from intranet_metrics.render.i18n import Lang

GOLDEN = Path(__file__).parent / "golden" / "i18n"
REPORTS = ("baseline", "compare", "trend")


def report(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def terminal(result: dict, lang: Lang, width: int = 80) -> str:
    con = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    con.print(to_table(result, lang))
    return con.export_text()


RENDER = {
    "md": lambda r, lang: to_markdown(r, lang),
    "plain.csv": lambda r, lang: to_csv(r, "plain", lang),
    "excel.csv": lambda r, lang: to_csv(r, "excel", lang),
    "80col.txt": lambda r, lang: terminal(r, lang),
}


@pytest.mark.parametrize("kind", sorted(RENDER))
@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("name", REPORTS)
def test_golden(name, lang, kind):
    if kind == "plain.csv" and lang == "nl":
        pytest.skip("the plain CSV is the machine shape: no language")
    got = RENDER[kind](report(name), Lang(lang))
    path = GOLDEN / f"{name}.{lang}.{kind}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(got.encode("utf-8"))
    assert got == path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("name", REPORTS)
def test_terminal_fits_80_columns_and_cuts_no_number(name, lang):
    text = terminal(report(name), Lang(lang))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # rich's mark for a cut cell
    flat = text.replace("\n", " ")
    L = Lang(lang)
    r = report(name)
    m = r["current"] if name == "compare" else r
    rows = r["rows"] if name == "trend" else [m]
    for row in rows:
        for tier in ("reader", "reactor", "contributor"):
            # Every rate appears whole, on one line (not folded over two).
            assert L.pct(row["metrics"][tier]["rate"]) in flat
        if name == "trend" and lang == "en":
            assert row["from"] in text and row["to"] in text


def test_dutch_markdown_says_it_in_dutch_with_dutch_numbers():
    md = to_markdown(report("compare"), Lang("nl"))
    assert (
        "| lezer | 50,3% | 72,5% | +22,3 pp | <0,001 | <0,001 | 55% | gehaald (95% zeker) |" in md
    )
    assert "populatie 185 (personeelslijst)" in md
    # Labels people wrote stay as written.
    assert "Communications" in md and "### Per department" in md


def test_english_is_unchanged_by_the_language_layer():
    r = report("compare")
    assert to_markdown(r) == to_markdown(r, Lang("en"))
    assert (
        "| reader | 50.3% | 72.5% | +22.3 pp | <0.001 | <0.001 | 55% | met (95% sure) |"
        in to_markdown(r)
    )
