"""Small-group suppression for segment breakdowns."""

from __future__ import annotations

from typing import Any


def suppress(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Mark groups smaller than ``k`` suppressed, plus complementary groups.

    A suppressed group could be recovered as the total minus the other groups when it is
    the only one suppressed, or when the suppressed groups together hold fewer than ``k``
    people; so the smallest remaining groups are suppressed too until neither holds.
    Suppressed rows lose their population and metrics (null).
    """
    hidden = {i for i, r in enumerate(rows) if r["population"] < k}
    if hidden:
        order = sorted(
            (i for i in range(len(rows)) if i not in hidden), key=lambda i: rows[i]["population"]
        )
        while order and (len(hidden) < 2 or sum(rows[i]["population"] for i in hidden) < k):
            hidden.add(order.pop(0))
    out = []
    for i, r in enumerate(rows):
        if i in hidden:
            out.append(
                {
                    "value": r["value"],
                    "population": None,
                    "suppressed": True,
                    "metrics": {
                        m: {"users": None, "rate": None, "ci95": None} for m in r["metrics"]
                    },
                }
            )
        else:
            out.append({**r, "suppressed": False})
    return out
