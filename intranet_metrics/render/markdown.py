"""Markdown tables, for intranet pages and board papers."""

from __future__ import annotations

from typing import Any

from .common import (
    LADDER,
    STATUS_TEXT,
    TIERS,
    change_cell,
    ci,
    goal_targets,
    num,
    pct,
    population_line,
    pp,
    pvalue,
    segment_changes,
    test_note,
    window_text,
)


def _esc(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _segments(segments: dict[str, list[dict[str, Any]]], title: str = "") -> list[str]:
    out = []
    for dim, rows in segments.items():
        out.append(f"\n### {title}By {_esc(dim)}\n")
        out.append(
            _table(
                [dim, "Population", "Reader", "Reactor", "Contributor"],
                [
                    [r["value"], "suppressed", "–", "–", "–"]
                    if r["suppressed"]
                    else [r["value"], num(r["population"])]
                    + [pct(r["metrics"][t]["rate"]) for t in TIERS]
                    for r in rows
                ],
            )
        )
    return out


def to_markdown(result: dict[str, Any]) -> str:
    kind = result["kind"]
    out: list[str] = []
    if kind == "measurement":
        m, goals = result, goal_targets(result)
        out += [f"## {_esc(m['label'])}: {window_text(m)}\n", population_line(m) + "\n"]
        out.append(
            _table(
                ["Tier", "People", "Rate", "95% interval", "Goal", "Status"],
                [
                    [
                        t,
                        num(m["metrics"][t]["users"]),
                        pct(m["metrics"][t]["rate"]),
                        ci(m["metrics"][t]["ci95"]),
                        pct(goals[t]["target"], 0) if t in goals else "–",
                        STATUS_TEXT.get(goals[t]["status"], "–") if t in goals else "–",
                    ]
                    for t in TIERS
                ],
            )
        )
        out.append(
            "\n"
            + _table(
                ["Inactive", "Reader only", "Reactor only", "Contributor"],
                [[num(m["ladder"][k]) for k in LADDER]],
            )
        )
        out += _segments(m["segments"])
    elif kind == "comparison":
        b, c = result["baseline"], result["current"]
        goals = {g["metric"]: g for g in result["goals"]}
        out.append(f"## {_esc(b['label'])} → {_esc(c['label'])}\n")
        out.append(f"Baseline: {population_line(b)}; current: {population_line(c)}\n")
        out.append(test_note(result) + "\n")
        out.append(
            _table(
                ["Tier", "Baseline", "Current", "Change", "p", "Goal", "Status"],
                [
                    [
                        t,
                        pct(ch["baseline_rate"]),
                        pct(ch["current_rate"]),
                        pp(ch["delta_pp"]),
                        pvalue(ch["p_value"]),
                        pct(goals[t]["target"], 0) if t in goals else "–",
                        STATUS_TEXT.get(goals[t]["status"], "–") if t in goals else "–",
                    ]
                    for t, ch in ((t, result["changes"][t]) for t in TIERS)
                ],
            )
        )
        for dim, rows in segment_changes(result).items():
            out.append(f"\n### By {_esc(dim)}: baseline → current (change in pp)\n")
            out.append(
                _table(
                    [dim, *(t.capitalize() for t in TIERS)],
                    [
                        [r["value"], "suppressed", "–", "–"]
                        if r["suppressed"]
                        else [r["value"], *(change_cell(r["tiers"][t]) for t in TIERS)]
                        for r in rows
                    ],
                )
            )
    else:
        out.append(f"## Trend per {result['period']} ({result['window']['timezone']})\n")
        out.append(
            _table(
                ["Period", "From", "To", "Population", "Reader", "Reactor", "Contributor"],
                [
                    [r["period"], r["from"], r["to"], num(r["population"]["size"])]
                    + [pct(r["metrics"][t]["rate"]) for t in TIERS]
                    for r in result["rows"]
                ],
            )
        )
        for r in result["rows"]:
            out += _segments(r.get("segments", {}), f"{r['period']}: ")
    return "\n".join(out) + "\n"
