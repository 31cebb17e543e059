"""Adoption goals: the defaults, goal files, and goal status."""

from __future__ import annotations

from pathlib import Path

from .config import _suggest, read_toml
from .errors import ConfigError
from .metrics import DEFAULT, Registry

METRICS = DEFAULT.names
# The seed organisation's short-term targets (SPEC section 3), as fractions.
DEFAULT_GOALS: dict[str, float] = DEFAULT.default_goals


def template(registry: Registry = DEFAULT) -> str:
    """A goals file with every metric that has a default goal, as percentages."""
    width = max(len(m.name) for m in registry) + 1
    lines = [
        "# intranet-metrics goals: the share of the population (in percent) each tier "
        "should reach.",
        *(f"# {m.name + ':':<{width}} {m.description}" for m in registry),
        "# Use with: intranet-metrics compare ... --goals {name}",
        "",
        "[goals]",
        *(f"{n} = {round(100 * g, 6):g}" for n, g in registry.default_goals.items()),
    ]
    return "\n".join(lines) + "\n"


TEMPLATE = template()


def load_goals(path: str | Path | None, registry: Registry = DEFAULT) -> dict[str, float]:
    """Goals as fractions: the defaults, or a TOML file of percentages."""
    if path is None:
        return dict(registry.default_goals)
    p = Path(path)
    data = read_toml(p, "goals file not found; create one with 'goals --init'")
    table = data.get("goals", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{p}: expected a [goals] table of percentages")
    names = registry.names
    goals: dict[str, float] = {}
    for key, value in table.items():
        if key not in names:
            raise ConfigError(
                f"{p}: unknown goal '{key}'{_suggest(key, names)}; goals are " + ", ".join(names)
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise ConfigError(f"{p}: goal {key} = {value!r}: give a percentage from 0 to 100")
        goals[key] = value / 100
    return goals


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
