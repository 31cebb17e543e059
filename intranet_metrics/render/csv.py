"""CSV: one row per scope (total, segment value, period), safe to open in a spreadsheet.

The report's warnings follow the rows as comment lines, one per warning, each starting
with ``# warning: ``: the header stays the first line, so any CSV reader reads the rows,
and readers that know comments (pandas ``comment="#"``, DuckDB, R) skip the warnings.
A trend period without data has empty rates and ``no data`` in its ``note`` column.

Two dialects: ``plain`` (the machine shape: ``,``, decimal point, ``True``/``False``) and
``excel`` (what Excel opens as columns in a Dutch or other decimal-comma locale: ``;``, a
decimal comma, a UTF-8 BOM so accents survive, and one boolean spelling,
``ja``/``nee`` in Dutch and ``true``/``false`` in English). The columns are the same.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from .common import (
    FIGURES,
    LADDER,
    LIFECYCLE,
    NO_DATA,
    figures_of,
    printable,
    segment_changes,
    tiers_of,
    warnings_of,
)
from .i18n import Lang

DIALECTS = ("plain", "excel")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SCOPE = ["dimension", "value", "population", "suppressed"]


def safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _aggregates_of(m: dict[str, Any]) -> list[str]:
    """Aggregate metrics (one value each, no rate) after the tiers."""
    return [t for t, x in m["metrics"].items() if "rate" not in x]


def _metric_header(m: dict[str, Any]) -> list[str]:
    cells = ("users", "rate", "ci95_low", "ci95_high")
    return [f"{t}_{c}" for t in tiers_of(m) for c in cells] + [
        f"{a}_value" for a in _aggregates_of(m)
    ]


def _metric_cells(metrics: dict[str, Any]) -> list[Any]:
    cells: list[Any] = []
    for x in metrics.values():
        if "rate" not in x:
            cells.append(x.get("value"))
            continue
        lo, hi = x["ci95"] or (None, None)
        cells += [x["users"], x["rate"], lo, hi]
    return cells


def _scope_rows(
    head: list[Any], m: dict[str, Any], tail: list[Any], seg_tail: list[Any], figs: bool = False
) -> list[list[Any]]:
    """The whole population's row, then one per segment value, of one measurement or
    trend period; ``head`` are the label cells, ``tail`` and ``seg_tail`` the closing
    cells of the whole and of a segment; ``figs``: issue 13's figures after them."""
    rows = [
        [*head, "", "(all)", m["population"]["size"], m.get("suppressed", False)]
        + _metric_cells(m["metrics"])
        + tail
        + (_figure_cells(m) if figs else [])
    ]
    for dim, segs in m.get("segments", {}).items():
        for s in segs:
            rows.append(
                [*head, dim, s["value"], s["population"], s["suppressed"]]
                + _metric_cells(s["metrics"])
                + seg_tail
                + (_figure_cells(s) if figs else [])
            )
    return rows


def _figure_cells(m: dict[str, Any]) -> list[Any]:
    figs = figures_of(m)
    return [figs.get(k) for k in FIGURES]


def _measurement(m: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    # Issue 13's figures as columns after the ladder, when the document has them.
    figs = bool(figures_of(m))
    header = ["label", "from", "to", *_SCOPE, *_metric_header(m), *LADDER]
    header += list(FIGURES) if figs else []
    head = [m["label"], m["window"]["from"], m["window"]["to"]]
    tail = [m["ladder"][k] for k in LADDER]
    return header, _scope_rows(head, m, tail, [None] * len(LADDER), figs)


def _trend(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    first = result["rows"][0] if result["rows"] else {"metrics": {}}
    header = ["period", "from", "to", *_SCOPE, *_metric_header(first), "note"]
    life = any("lifecycle" in r for r in result["rows"])
    header += [*LIFECYCLE, "stickiness"] if life else []
    rows = []
    for r in result["rows"]:
        note = NO_DATA if r.get("no_data") else None
        extra = [note]
        if life:
            lc = r.get("lifecycle") or {}
            extra += [*(lc.get(k) for k in LIFECYCLE), r.get("stickiness")]
        blank = [note] + [None] * (len(extra) - 1)
        rows += _scope_rows([r["period"], r["from"], r["to"]], r, extra, blank)
    return header, rows


_COMPARISON_HEADER = [
    "metric",
    "dimension",
    "value",
    "suppressed",
    "baseline_rate",
    "current_rate",
    "delta_pp",
    "test",
    "p_value",
    "p_value_exact",
    "target",
    "status",
]


# Issue 13: the change's interval and split, after the columns above (when present).
_DETAIL_HEADER = [
    "interval_low_pp",
    "interval_high_pp",
    "interval_method",
    "stayers_pp",
    "joiners_pp",
    "leavers_pp",
]


def _detail_cells(ch: dict[str, Any]) -> list[Any]:
    low, high = ch.get("interval_pp") or (None, None)
    sp = ch.get("split") or {}
    parts = [(sp.get(g) or {}).get("contribution_pp") for g in ("stayers", "joiners", "leavers")]
    return [low, high, ch.get("interval_method"), *parts]


def _comparison(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    goals = {g["metric"]: g for g in result["goals"]}
    detail = any("interval_method" in ch for ch in result["changes"].values())
    rows = []
    for t, ch in result["changes"].items():
        g = goals.get(t, {})
        rows.append(
            [t, "", "(all)", False, ch["baseline_rate"], ch["current_rate"], ch["delta_pp"]]
            + [ch["test"], ch["p_value"], ch.get("p_value_exact"), g.get("target")]
            + [g.get("status")]
            + (_detail_cells(ch) if detail else [])
        )
    # Goals on figures (no change test: their own rows) and per segment (on the segment's
    # rows), when the goals file set them.
    pad = [None] * len(_DETAIL_HEADER) if detail else []
    for g in result["goals"]:
        if g["metric"] not in result["changes"]:
            rows.append(
                [g["metric"], "", "(all)", False, g["baseline"], g["current"], None, ""]
                + [None, None, g["target"], g["status"], *pad]
            )
    seg_goals = {
        (g["dimension"], str(g["value"]), g["metric"]): g for g in result.get("segment_goals") or []
    }
    for dim, segs in segment_changes(result).items():
        for seg in segs:
            for t, pair in seg["tiers"].items():
                b, c = pair or (None, None)
                delta = None if b is None or c is None else 100 * (c - b)
                g = seg_goals.get((dim, str(seg["value"]), t)) or {}
                status = (g.get("current_goal") or {}).get("status")
                rows.append(
                    [t, dim, seg["value"], seg["suppressed"], b, c, delta, "", None, None]
                    + [g.get("target"), status, *pad]
                )
    return _COMPARISON_HEADER + (_DETAIL_HEADER if detail else []), rows


def _rows(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    build = {"measurement": _measurement, "trend": _trend, "comparison": _comparison}
    return build[result["kind"]](result)


def excel_cell(value: Any, lang: Lang) -> Any:
    """One cell as a decimal-comma spreadsheet reads it: booleans in one spelling, floats
    with a decimal comma and never in exponent notation (``2,18E-05`` is text to some)."""
    if isinstance(value, bool):
        return ("ja" if value else "nee") if lang.code == "nl" else ("true" if value else "false")
    if isinstance(value, float):
        # Decimal(repr(x)) keeps the shortest exact digits; "f" writes them positionally.
        return format(Decimal(repr(value)), "f").replace(".", ",")
    return value


def to_csv(result: dict[str, Any], dialect: str = "plain", lang: Lang | None = None) -> str:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown CSV dialect {dialect!r}; use one of {', '.join(DIALECTS)}")
    lang = lang or Lang()
    excel = dialect == "excel"
    header, rows = _rows(result)
    buf = io.StringIO()
    # "\n" in both: a file written in text mode on Windows gets its CRLF there (a "\r\n"
    # here would become "\r\r\n"), and Excel reads either.
    w = csv.writer(buf, delimiter=";" if excel else ",", lineterminator="\n")
    w.writerow(header)
    for row in rows:
        # safe_cell first: a negative number written as text must not be taken for a formula.
        cells = [safe_cell(v) for v in row]
        w.writerow([excel_cell(v, lang) for v in cells] if excel else cells)
    # The plain CSV is the machine shape (English); Excel's is read by people, in their language.
    words = lang.warnings(result) if excel else warnings_of(result)
    for warning in words:
        buf.write(f"# warning: {printable(warning.replace(chr(10), ' '))}\n")
    return ("\ufeff" if excel else "") + buf.getvalue()
