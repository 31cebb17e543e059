"""Adoption goals: the defaults, goal files, and goal status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import _suggest, read_toml
from .errors import ConfigError
from .metrics import DEFAULT, Registry
from .notices import Notice

METRICS = DEFAULT.names
# The seed organisation's short-term targets (SPEC section 3), as fractions.
DEFAULT_GOALS: dict[str, float] = DEFAULT.default_goals


def template(registry: Registry = DEFAULT) -> str:
    """A goals file with every metric that has a default goal, as percentages."""
    width = max(len(m.name) for m in registry) + 1
    lines = [
        "# intranet-metrics goals: the share of the population (in percent) each tier "
        "should reach.",
        *(f"# {m.name + ':':<{width}} {m.description}" for m in registry if m.kind != "figure"),
        "# Any of these figures may have a goal too (shares in percent, hours, ratios):",
        *(f"# {m.name + ':':<{width}} {m.description}" for m in registry if m.kind == "figure"),
        "# Per segment: [goals.department] reader = 40 (every department), or",
        "# [goals.department.HR] reader = 60 (one department).",
        "# Use with: intranet-metrics compare ... --goals {name}",
        "",
        "[goals]",
        *(f"{n} = {round(100 * g, 6):g}" for n, g in registry.default_goals.items()),
    ]
    return "\n".join(lines) + "\n"


TEMPLATE = template()


class Goals(dict):  # type: ignore[type-arg]
    """The whole population's goals (metric -> target, a plain mapping as before) and,
    in ``segments``, per-segment targets: ``{dimension: {value or "*": {metric: target}}}``
    ("*": every value of the dimension, e.g. every department at least 40% readers)."""

    def __init__(self, *args: Any, segments: dict[str, dict[str, dict[str, float]]] | None = None):
        super().__init__(*args)
        self.segments = segments or {}


def _target(p: Path, where: str, key: str, value: Any, registry: Registry) -> float:
    """A target in the metric's unit: shares in percent (stored as fractions), hours and
    ratios as they are."""
    names = registry.names
    if key not in names:
        raise ConfigError(
            f"{p}: unknown goal '{where}{key}'{_suggest(key, names)}; goals are " + ", ".join(names)
        )
    metric = registry[key]
    unit = metric.unit if metric.kind == "figure" else "share"
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and value >= 0
    if unit == "share":
        if not ok or value > 100:
            raise ConfigError(f"{p}: goal {where}{key} = {value!r}: give a percentage 0 to 100")
        return value / 100
    if not ok or (key == "gini" and value > 1):
        want = "a number from 0 to 1" if key == "gini" else f"a number of {unit} (0 or more)"
        raise ConfigError(f"{p}: goal {where}{key} = {value!r}: give {want}")
    return float(value)


def _segment_goals(
    p: Path, dim: str, table: dict[str, Any], registry: Registry
) -> dict[str, dict[str, float]]:
    """``[goals.<dim>]``: metric keys apply to every value, ``[goals.<dim>.<value>]`` to one."""
    out: dict[str, dict[str, float]] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out[str(key)] = {
                m: _target(p, f"{dim}.{key}.", m, v, registry) for m, v in value.items()
            }
        else:
            out.setdefault("*", {})[key] = _target(p, f"{dim}.", key, value, registry)
    return out


def load_goals(path: str | Path | None, registry: Registry = DEFAULT) -> Goals:
    """Goals as fractions (shares) or hours / ratios (figures): the defaults, or a TOML
    file; ``[goals.<dimension>]`` tables give per-segment targets (``Goals.segments``)."""
    if path is None:
        return Goals(registry.default_goals)
    p = Path(path)
    data = read_toml(p, "goals file not found; create one with 'goals --init'")
    table = data.get("goals", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{p}: expected a [goals] table of percentages")
    goals: dict[str, float] = {}
    segments: dict[str, dict[str, dict[str, float]]] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            segments[key] = _segment_goals(p, key, value, registry)
        else:
            goals[key] = _target(p, "", key, value, registry)
    return Goals(goals, segments=segments)


def describe(name: str, target: float, registry: Registry = DEFAULT) -> str:
    """A target as a person reads it: 55%, 24 hours, 0.6."""
    figure = name in registry and registry[name].kind == "figure"
    unit = registry[name].unit if figure else "share"
    if unit == "share":
        return f"{100 * target:g}%"
    return f"{target:g} hours" if unit == "hours" else f"{target:g}"


def goal_status(
    rate: float | None,
    target: float,
    ci_low: float | None = None,
    higher_is_better: bool = True,
    ci_high: float | None = None,
) -> str:
    """met_with_confidence, met, not_met, or no_data when the rate is null. For a metric
    where lower is better, met means at or under the target (sure: the interval is)."""
    if rate is None:
        return "no_data"
    if higher_is_better:
        if ci_low is not None and ci_low >= target:
            return "met_with_confidence"
        return "met" if rate >= target else "not_met"
    if ci_high is not None and ci_high <= target:
        return "met_with_confidence"
    return "met" if rate <= target else "not_met"


# -- goal rows (pure functions of a measurement document) -----------------------------------


def _actual(scope: dict[str, Any], name: str, registry: Registry) -> tuple[Any, Any, Any]:
    """A metric's value in a measurement or segment, with its 95% interval if it has one:
    a tier's rate (Wilson), an aggregate's value, a figure from its block."""
    if name in registry and registry[name].kind == "figure":
        return (scope.get(registry[name].group) or {}).get(name), None, None
    x = scope.get("metrics", {}).get(name) or {}
    lo, hi = x.get("ci95") or (None, None)
    return x.get("rate", x.get("value")), lo, hi


def goal_row(scope: dict[str, Any], name: str, target: float, registry: Registry) -> dict:
    """actual, target, gap (actual - target, in the metric's unit), status and
    met_with_confidence (the 95% interval is on the right side of the target: rates only,
    the figures have no interval)."""
    value, lo, hi = _actual(scope, name, registry)
    higher = registry[name].higher_is_better if name in registry else True
    status = goal_status(value, target, lo, higher, hi)
    return {
        "metric": name,
        "target": target,
        "actual": value,
        "status": status,
        "gap": None if value is None else value - target,
        "met_with_confidence": status == "met_with_confidence",
    }


def side(row: dict[str, Any]) -> dict[str, Any]:
    """A goal row's figures at one measurement (a comparison's baseline or current)."""
    return {k: row[k] for k in ("actual", "gap", "status", "met_with_confidence")}


def segment_goal_rows(
    m: dict[str, Any], goals: Any, registry: Registry = DEFAULT
) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per segment value and goal of ``goals.segments``, and warnings for goals
    the measurement cannot check (no breakdown by that dimension, an unknown value)."""
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for dim, by_value in getattr(goals, "segments", {}).items():
        segs = m.get("segments", {}).get(dim)
        if segs is None:
            warnings.append(Notice("segment_goals_no_breakdown", dim=dim))
            continue
        values = {str(s["value"]) for s in segs}
        for v in sorted(set(by_value) - values - {"*"}):
            warnings.append(Notice("segment_goal_nobody", dim=dim, value=v))
        for seg in segs:
            targets = by_value.get("*", {}) | by_value.get(str(seg["value"]), {})
            for name, t in targets.items():
                head = {"dimension": dim, "value": seg["value"], "suppressed": seg["suppressed"]}
                rows.append(head | goal_row(seg, name, t, registry))
    return rows, warnings


FAILING = ("not_met", "no_data")


def unmet(comparison: dict[str, Any]) -> list[str]:
    """The goals a comparison misses, overall and per segment, as short labels
    (``contributor``, ``department=IT: reader``). A suppressed segment is left out: its
    figures are withheld, so whether it meets a goal is not known (and must not leak)."""
    out = [g["metric"] for g in comparison.get("goals") or [] if g["status"] in FAILING]
    for g in comparison.get("segment_goals") or []:
        if not g.get("suppressed") and (g.get("current_goal") or {}).get("status") in FAILING:
            out.append(f"{g['dimension']}={g['value']}: {g['metric']}")
    return out
