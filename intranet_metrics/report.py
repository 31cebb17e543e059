"""Measurements, comparisons and trends as plain result objects (the JSON of SPEC section 7).

Everything a renderer shows is computed here once; renderers only format.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from . import __version__
from .config import Config
from .engine import (
    AGGREGATE_FORMATS,
    LADDER,
    PERSON_STYLES,
    TIERS,  # noqa: F401  (re-exported: the default registry's tiers, read by tests)
    Engine,
    GroupCounts,
    Period,
    PeriodIdentity,
    Population,
)
from .errors import ConfigError, UsageError
from .figures import measurement_figures, null_inequality, null_interaction, trend_lifecycle
from .goals import goal_row, segment_goal_rows
from .goals import side as goal_side
from .metrics import DEFAULT, Registry
from .notices import BASIS_TEXT, Notice, sided
from .notices import details as warning_details
from .privacy import null_ladder, null_metrics, suppress, too_small
from .progress import Steps, window_rows
from .stats import ChangeSplit, mcnemar, newcombe_unpaired, split_change, two_proportion_p, wilson
from .store import Store
from .window import Window

SCHEMA_VERSION = 1
PERIOD_KINDS = ("day", "week", "month", "quarter", "year")


def _rate(n: int, total: int) -> float | None:
    return None if total <= 0 else n / total


def metrics_of(
    g: GroupCounts | None, population: int, registry: Registry = DEFAULT
) -> dict[str, Any]:
    """Each tier metric's people, rate and Wilson interval over ``population``."""
    out = {}
    for t in registry.tiers:
        users = 0 if g is None else g.users[t]
        ci = wilson(users, population)
        out[t] = {
            "users": users,
            "rate": _rate(users, population),
            "ci95": None if ci is None else [ci[0], ci[1]],
        }
    return out


def _with_aggregates(
    metrics: dict[str, Any], values: dict[str, float | None], registry: Registry, hidden: bool
) -> dict[str, Any]:
    """Aggregate metrics (none by default) after the tiers, as ``{"value": x}``."""
    for m in registry.aggregates:
        metrics[m.name] = {"value": None if hidden else values.get(m.name)}
    return metrics


def _ladder(g: GroupCounts | None, population: int) -> dict[str, int]:
    if g is None:
        return {"inactive": population, "reader_only": 0, "reactor_only": 0, "contributor": 0}
    return {
        "inactive": g.inactive,
        "reader_only": g.reader_only,
        "reactor_only": g.reactor_only,
        "contributor": g.contributor,
    }


def _population_block(
    pop: Population, size: int, ident: PeriodIdentity, hidden: bool = False
) -> dict[str, Any]:
    coverage = None if ident.counted_events == 0 else ident.matched_events / ident.counted_events
    if hidden:
        coverage = None  # the matched share would tell whether the few people were active
    return {
        "basis": pop.basis,
        "size": size,
        "unmatched_actors": ident.unmatched_actors,
        "identity_coverage": coverage if pop.roster is not None else None,
        "concealed_actors": ident.concealed_actors,
    } | ({} if pop.roster is not None else {"actor_styles": dict(ident.styles)})


OBSERVED_WARNING = Notice("observed")


def no_events_warning(label: str, no_data: bool = False) -> str:
    return Notice("no_events_no_data" if no_data else "no_events", label=label)


def _warnings(pop: Population, size: int, ident: PeriodIdentity, label: str) -> list[str]:
    w = []
    if size == 0:
        w.append(Notice("population_empty", label=label))
    if size and ident.counted_events == 0:
        w.append(no_events_warning(label))
    if pop.basis == "observed":
        w.append(OBSERVED_WARNING)
    if pop.roster is not None:
        w.extend(pop.roster.notes)  # what reading the roster assumed (its encoding)
    if pop.basis != "roster":
        w += _style_warning(ident, label)
    if ident.concealed_actors:
        code = "concealed_unmatched" if pop.roster is not None else "concealed"
        w.append(Notice(code, n=ident.concealed_actors))
    if ident.partial_aggregates:
        w.append(Notice("partial_aggregates", n=ident.partial_aggregates, label=label))
    return w


def _style_warning(ident: PeriodIdentity, label: str) -> list[str]:
    """Without a roster, nothing links one person's spellings in different styles."""
    seen = [(st, ident.styles.get(st, 0)) for st in PERSON_STYLES if ident.styles.get(st, 0)]
    if ident.styles.get("pseudonymised", 0):
        # Keyed hashes hide the style too: two spellings of one person cannot be told apart.
        return [Notice("pseudonymised_styles", label=label)]
    if len(seen) < 2:
        return []
    return [Notice("identity_styles", label=label, count=len(seen), styles=dict(seen))]


def _check_headcount(pop: Population, g: GroupCounts | None, label: str) -> None:
    """A fixed headcount below the people active in the window gives rates above 1."""
    if pop.basis != "fixed" or g is None:
        return
    active = g.reader_only + g.reactor_only + g.contributor
    if active > pop.size:
        raise ConfigError(
            f"--population {pop.size:,} is less than the {active:,} different people active "
            f"in {label}: give the full headcount (everyone who could take part), or use "
            "--roster FILE so each person is counted once"
        )


def _segments(
    result_segments: dict[str, list[GroupCounts]],
    period: str,
    k: int,
    registry: Registry = DEFAULT,
) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for dim, rows in result_segments.items():
        mine = sorted((g for g in rows if g.period == period), key=lambda g: str(g.value))
        plain = [
            {
                "value": g.value,
                "population": g.population,
                "suppressed": False,
                "metrics": metrics_of(g, g.population, registry),
            }
            for g in mine
        ]
        out[dim] = suppress(plain, k)
    return out


# Usage-report aggregates are stamped at the start of their own period (up to a year),
# which may lie before the window they are counted in.
AGGREGATE_MARGIN = timedelta(days=400)


def _inputs(store: Store, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    """The source versions whose events fall in ``lo``..``hi``: each with its absolute
    path (``file``) and SHA-256. A file ingested again after it grew is listed once per
    version; the older versions carry ``superseded_by`` (the SHA-256 of the newest version
    of the same file the report used), so that verify checks the file against the version
    the store last read, not against a version it replaced."""
    out = []
    for s in store.sources:
        if s.get("status") != "ingested" or not s.get("min_time"):
            continue
        margin = AGGREGATE_MARGIN if s.get("format") in AGGREGATE_FORMATS else timedelta(0)
        if (
            datetime.fromisoformat(s["min_time"]) < hi
            and datetime.fromisoformat(s["max_time"]) >= lo - margin
        ):
            out.append(
                {k: s[k] for k in ("rows", "events", "excluded", "other", "rejected")}
                | {
                    "file": s.get("abs_path") or s["path"],
                    "sha256": s["sha256"],
                    "format": s["format"],
                }
            )
    # Manifest order is ingest order: the last version of a path is the newest.
    newest = {i["file"]: i["sha256"] for i in out}
    for i in out:
        if newest[i["file"]] != i["sha256"]:
            i["superseded_by"] = newest[i["file"]]
    return out


def _check_dims(pop: Population, by: Sequence[str]) -> None:
    if by and pop.roster is None:
        raise UsageError("--by needs a roster (segments are roster columns); add --roster FILE")
    for dim in by:
        if pop.roster is not None and dim not in pop.roster.dimensions:
            raise UsageError(
                f"--by {dim}: the roster has no such column; available: "
                + (", ".join(pop.roster.dimensions) or "none")
            )


def measure(
    store: Store,
    config: Config,
    window: Window,
    population: Population,
    by: Sequence[str] = (),
    goals: dict[str, float] | None = None,
    label: str | None = None,
    registry: Registry = DEFAULT,
) -> dict[str, Any]:
    """The measurement of one window (SPEC section 7, kind ``measurement``)."""
    return measure_with_tiers(store, config, window, population, by, goals, label, registry)[0]


def _measurement_goals(
    result: dict[str, Any], goals: dict[str, float], registry: Registry
) -> list[dict[str, Any]]:
    return [goal_row(result, m, t, registry) for m, t in goals.items()]


def _steps(progress: Steps | None, names: tuple[str, ...], engine: Engine, window: Window) -> Steps:
    """The progress steps begun (silent without ``progress``): each one pass over the
    window's events, on the engine's connection."""
    steps = progress or Steps()
    rows = window_rows(engine.store, window.start, window.end)
    steps.start(names, engine.con, rows)
    return steps


def measure_with_tiers(
    store: Store,
    config: Config,
    window: Window,
    population: Population,
    by: Sequence[str] = (),
    goals: dict[str, float] | None = None,
    label: str | None = None,
    registry: Registry = DEFAULT,
    progress: Steps | None = None,
) -> tuple[dict[str, Any], pa.Table | None]:
    """The measurement, and each person's tiers (pseudonymous keys; roster only)."""
    _check_dims(population, by)
    goals = registry.default_goals if goals is None else goals
    label = label or f"{window.start}..{window.end}"
    period = Period(label, window.start, window.end)
    engine = Engine(store, config, registry=registry)
    steps = _steps(progress, ("tiers per person", "inequality and interaction"), engine, window)
    res = engine.compute([period], population, by, presence=True)
    g = res.totals.get(label)
    _check_headcount(population, g, label)
    size = population.size if population.basis == "fixed" else (g.population if g else 0)
    ident = res.identity[label]
    k = config.min_group_size
    hidden = too_small(size, k)
    metrics = null_metrics(registry.tiers) if hidden else metrics_of(g, size, registry)
    metrics = _with_aggregates(metrics, res.aggregates.get(label, {}), registry, hidden)
    warnings = _warnings(population, size, ident, label)
    if hidden:
        warnings.append(suppressed_warning(label, size, k))
    steps.next()
    figs, notes = measurement_figures(engine, period, population, by, hidden, res.presence)
    warnings += notes
    lo, hi = period.utc_bounds(config.tz)
    result = {
        "schema_version": SCHEMA_VERSION,
        "kind": "measurement",
        "label": label,
        "window": _window(window, config),
        "tiers": config.tiers,
        "population": _population_block(population, size, ident, hidden),
        "suppressed": hidden,
        "metrics": metrics,
        "ladder": null_ladder(LADDER) if hidden else _ladder(g, size),
        "goals": [],  # below, once the figures are in
        "segments": _with_figures(
            _segments(res.segments, label, k, registry), figs.pop("segment_figures")
        ),
        "inputs": _inputs(store, lo, hi),
        "warnings": warnings,
        "tool": {"name": "intranet-metrics", "version": __version__},
        "generated_at": _now(),
    }
    result |= figs
    result["goals"] = _measurement_goals(result, goals, registry)
    if getattr(goals, "segments", None):
        result["segment_goals"], more = segment_goal_rows(result, goals, registry)
        warnings += more
    result["warning_details"] = warning_details(warnings)
    return result, res.person_tiers


def _with_figures(
    segments: dict[str, list[dict[str, Any]]], figures: dict[str, dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Each segment row with its inequality and interaction; null when the row is
    suppressed (by the tiers' rule or by the figures' own, whichever hides more)."""
    for dim, rows in segments.items():
        mine = figures.get(dim, {})
        for row in rows:
            fig = None if row["suppressed"] else mine.get(str(row["value"]))
            row["inequality"] = fig["inequality"] if fig else null_inequality()
            row["interaction"] = fig["interaction"] if fig else null_interaction()
    return segments


def _window(window: Window, config: Config) -> dict[str, str]:
    return {
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "timezone": config.timezone,
    }


def suppressed_warning(label: str, size: int, k: int) -> str:
    return Notice("suppressed", label=label, size=size, k=k)


def _delta(b: float | None, c: float | None) -> float | None:
    return None if b is None or c is None else 100 * (c - b)


def _in_tier(table: pa.Table, tier: str) -> set[Any]:
    """The people of a person-tier table in ``tier``."""
    keys, flags = table["person_key"].to_pylist(), table[tier].to_pylist()
    return {k for k, v in zip(keys, flags, strict=True) if v}


def paired(base: pa.Table, cur: pa.Table) -> dict[str, Any]:
    """Stayers, joiners and leavers, and per tier McNemar's discordant counts over the
    stayers (b: in the tier at baseline, not now; c: the reverse) with the mid-p value."""
    b_keys = set(base["person_key"].to_pylist())
    c_keys = set(cur["person_key"].to_pylist())
    stay = b_keys & c_keys
    out: dict[str, Any] = {
        "stayers": len(stay),
        "joiners": len(c_keys - b_keys),
        "leavers": len(b_keys - c_keys),
        "tiers": {},
    }
    tiers = [t for t in base.column_names if t != "person_key" and t in cur.column_names]
    for t in tiers:
        was = _in_tier(base, t)
        now = _in_tier(cur, t)
        before, after = was & stay, now & stay
        b, c = len(before - after), len(after - before)
        test = mcnemar(b, c)
        a = len(before & after)
        out["tiers"][t] = {
            "a": a,
            "b": b,
            "c": c,
            "d": len(stay) - a - b - c,
            "joiners_in": len(now - b_keys),
            "leavers_in": len(was - c_keys),
            "p_value": test.midp,
            "p_value_exact": test.exact,
            "stayers_baseline_rate": _rate(len(before), len(stay)),
            "stayers_current_rate": _rate(len(after), len(stay)),
        }
    return out


def _side_warnings(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Each measurement's own warnings, named by its side unless they name its label."""
    out: list[str] = []
    for side, m in (("baseline", baseline), ("current", current)):
        found = m.get("warning_details") or []
        for w in m.get("warnings", []):
            text = w if w.startswith(str(m.get("label"))) else sided(side, w, found)
            if text not in out:
                out.append(text)
    return out


BASES = {
    "roster": (BASIS_TEXT["roster"], "--roster FILE (the baseline's roster)"),
    "fixed": (BASIS_TEXT["fixed"], "--population N"),
    "observed": (BASIS_TEXT["observed"], "neither --roster nor --population"),
}


def _check_bases(baseline: dict[str, Any], current: dict[str, Any], allow: bool) -> list[str]:
    """Rates over a roster, a headcount and the actors seen are shares of different
    populations: refused unless asked for, then said in a warning."""
    bb, cb = baseline["population"]["basis"], current["population"]["basis"]
    if bb == cb:
        return []
    what = (
        f"the baseline's population is {BASES[bb][0]} ({bb}) and the current one is "
        f"{BASES[cb][0]} ({cb})"
    )
    if not allow:
        raise ConfigError(
            f"{what}: their rates are shares of different populations; measure with "
            f"{BASES[bb][1]} as the baseline did, or add --allow-different-basis to "
            "compare them anyway"
        )
    return [Notice("different_bases", baseline_basis=bb, current_basis=cb)]


def tier_names(measurement: dict[str, Any]) -> list[str]:
    """The tier metrics of a measurement, in its order (aggregates carry no rate)."""
    return [t for t, x in measurement["metrics"].items() if "rate" in x]


def _compare_warnings(
    baseline: dict[str, Any], current: dict[str, Any], warnings: list[str]
) -> list[str]:
    """What makes the change harder to read: missing breakdowns, mixed definitions."""
    warnings += _side_warnings(baseline, current)
    for dim in current.get("segments", {}):
        if dim not in baseline.get("segments", {}):
            warnings.append(Notice("no_baseline_breakdown", dim=dim))
    for key, code in (("tiers", "mixed_tiers"), ("window", "mixed_timezones")):
        a = baseline[key] if key == "tiers" else baseline[key]["timezone"]
        b = current[key] if key == "tiers" else current[key]["timezone"]
        if a != b:
            warnings.append(Notice(code, baseline=a, current=b))
    return warnings


def _split(sp: ChangeSplit | None) -> dict[str, Any] | None:
    """The headline change split into stayers, joiners and leavers (pp, adds up)."""
    if sp is None:
        return None
    return {
        "delta_pp": sp.delta_pp,
        **{
            part.group: {
                "people": part.people,
                "baseline_rate": part.baseline_rate,
                "current_rate": part.current_rate,
                "contribution_pp": part.contribution_pp,
            }
            for part in sp.parts
        },
    }


def _paired_change(pt: dict[str, Any], withheld: bool, pair: dict[str, Any]) -> dict[str, Any]:
    """McNemar over the stayers, Tango's score interval for their change, and the split.

    Withheld (suppressed side, too few pairs): every figure null, the keys still there."""
    if withheld:
        return {
            "test": "mcnemar-midp",
            "p_value": None,
            "p_value_exact": None,
            "interval_pp": None,
            "interval_method": "tango-score",
        }
    sp = split_change(
        pt["a"],
        pt["b"],
        pt["c"],
        pt["d"],
        pair["joiners"],
        pt["joiners_in"],
        pair["leavers"],
        pt["leavers_in"],
    )
    iv = None if sp is None else sp.interval
    return {
        "test": "mcnemar-midp",
        "p_value": pt["p_value"],
        "p_value_exact": pt["p_value_exact"],
        "interval_pp": None if iv is None else [iv.low, iv.high],
        "interval_method": "tango-score",
        "split": _split(sp),
        "discordant": {"b": pt["b"], "c": pt["c"]},
        "stayers": {
            "baseline_rate": pt["stayers_baseline_rate"],
            "current_rate": pt["stayers_current_rate"],
            "delta_pp": _delta(pt["stayers_baseline_rate"], pt["stayers_current_rate"]),
        },
    }


def _unpaired_change(
    b: dict[str, Any], c: dict[str, Any], nb: int, nc: int, hidden: bool, mixed: bool
) -> dict[str, Any]:
    p = iv = None
    if not hidden and b["users"] is not None and c["users"] is not None:
        p = two_proportion_p(b["users"], nb, c["users"], nc)
        iv = newcombe_unpaired(c["users"], nc, b["users"], nb)
    # The z test has no exact counterpart here: the key is there, null.
    return {
        "test": "two-proportion-z-different-bases" if mixed else "two-proportion-z",
        "p_value": p,
        "p_value_exact": None,
        "interval_pp": None if iv is None else [100 * iv.low, 100 * iv.high],
        "interval_method": "newcombe-hybrid-score",
    }


def _comparison_goals(
    baseline: dict[str, Any], current: dict[str, Any], goals: dict[str, float], reg: Registry
) -> list[dict[str, Any]]:
    rows = []
    for m, t in goals.items():
        b, c = goal_row(baseline, m, t, reg), goal_row(current, m, t, reg)
        rows.append(
            {"metric": m, "target": t, "baseline": b["actual"], "current": c["actual"]}
            | {"status": c["status"], "baseline_goal": goal_side(b), "current_goal": goal_side(c)}
        )
    return rows


def _comparison_segment_goals(
    baseline: dict[str, Any], current: dict[str, Any], goals: Any, reg: Registry
) -> tuple[list[dict[str, Any]], list[str]]:
    """The current segments' goal rows, each with the same segment's at the baseline
    (null when the baseline was not broken down by it)."""
    now, warnings = segment_goal_rows(current, goals, reg)
    before, _ = segment_goal_rows(baseline, goals, reg)
    index = {(r["dimension"], str(r["value"]), r["metric"]): r for r in before}
    rows = []
    for r in now:
        b = index.get((r["dimension"], str(r["value"]), r["metric"]))
        head = {k: r[k] for k in ("dimension", "value", "suppressed", "metric", "target")}
        rows.append(
            head | {"baseline_goal": goal_side(b) if b else None, "current_goal": goal_side(r)}
        )
    return rows, warnings


def _pair_warnings(
    pair: dict[str, Any] | None, hidden: bool, min_group_size: int, warnings: list[str]
) -> bool:
    """Adds what limits the test; True when too few pairs to publish the paired test."""
    if pair is None:
        warnings.append(Notice("unpaired"))
    if hidden:
        warnings.append(Notice("change_withheld"))
    few_pairs = pair is not None and not hidden and pair["stayers"] < min_group_size
    if few_pairs:
        warnings.append(Notice("few_pairs", n=pair["stayers"], k=min_group_size))
    return few_pairs


def compare(
    baseline: dict[str, Any],
    current: dict[str, Any],
    goals: dict[str, float] | None = None,
    pairs: tuple[pa.Table, pa.Table] | None = None,
    min_group_size: int = 5,
    allow_different_basis: bool = False,
    registry: Registry = DEFAULT,
) -> dict[str, Any]:
    """The current measurement against the baseline and the goals (kind ``comparison``).

    With ``pairs`` (each person's tiers at both measurements) the change is tested with
    McNemar's paired mid-p test over the people in both populations; without, with the
    unpaired two-proportion z test. Measurements on different population bases are
    refused (ConfigError) unless ``allow_different_basis``. Nothing of a suppressed
    measurement, or of fewer than ``min_group_size`` pairs, is published."""
    goals = registry.default_goals if goals is None else goals
    warnings = _check_bases(baseline, current, allow_different_basis)
    mixed = bool(warnings)
    warnings = _compare_warnings(baseline, current, warnings)
    pair = paired(*pairs) if pairs is not None else None
    hidden = bool(baseline.get("suppressed") or current.get("suppressed"))
    few_pairs = _pair_warnings(pair, hidden, min_group_size, warnings)
    changes = {}
    nb, nc = baseline["population"]["size"], current["population"]["size"]
    for t in tier_names(current):
        b, c = baseline["metrics"][t], current["metrics"][t]
        change = {
            "baseline_rate": b["rate"],
            "current_rate": c["rate"],
            "delta_pp": None if hidden else _delta(b["rate"], c["rate"]),
        }
        if pair is not None:
            change |= _paired_change(pair["tiers"][t], hidden or few_pairs, pair)
        else:
            change |= _unpaired_change(b, c, nb, nc, hidden, mixed)
        changes[t] = change
    result = {
        "schema_version": SCHEMA_VERSION,
        "kind": "comparison",
        "baseline": baseline,
        "current": current,
        "changes": changes,
        "goals": _comparison_goals(baseline, current, goals, registry),
        "warnings": warnings,
        "tool": {"name": "intranet-metrics", "version": __version__},
        "generated_at": _now(),
    }
    if pair is not None:
        result["population_change"] = {k: pair[k] for k in ("stayers", "joiners", "leavers")}
    if getattr(goals, "segments", None):
        result["segment_goals"], more = _comparison_segment_goals(
            baseline, current, goals, registry
        )
        warnings += [w for w in more if w not in warnings]
    result["warning_details"] = warning_details(warnings)
    return result


def periods_between(kind: str, start: date, end: date) -> list[Period]:
    """Calendar periods of ``kind`` covering start..end, clipped to it."""
    if kind not in PERIOD_KINDS:
        raise UsageError(f"--period {kind}: choose one of {', '.join(PERIOD_KINDS)}")
    out: list[Period] = []
    cur = start
    while cur <= end:
        if kind == "day":
            first, nxt, label = cur, cur + timedelta(days=1), cur.isoformat()
        elif kind == "week":
            first = cur - timedelta(days=cur.weekday())
            nxt = first + timedelta(days=7)
            iso = first.isocalendar()
            label = f"{iso[0]}-W{iso[1]:02d}"
        elif kind == "month":
            first = cur.replace(day=1)
            nxt = (first + timedelta(days=32)).replace(day=1)
            label = f"{first:%Y-%m}"
        elif kind == "quarter":
            q = (cur.month - 1) // 3
            first = date(cur.year, 3 * q + 1, 1)
            nxt = date(cur.year + (q == 3), (3 * q + 3) % 12 + 1, 1)
            label = f"{cur.year}-Q{q + 1}"
        else:
            first, nxt, label = date(cur.year, 1, 1), date(cur.year + 1, 1, 1), str(cur.year)
        out.append(Period(label, max(first, start), min(nxt - timedelta(days=1), end)))
        cur = nxt
    return out


def store_span(store: Store, config: Config) -> tuple[date, date] | None:
    """The first and last local dates with data in the store."""
    times = [
        (datetime.fromisoformat(s["min_time"]), datetime.fromisoformat(s["max_time"]))
        for s in store.sources
        if s.get("min_time")
    ]
    if not times:
        return None
    tz = config.tz
    return (
        min(t[0] for t in times).astimezone(tz).date(),
        max(t[1] for t in times).astimezone(tz).date(),
    )


def _partial_warning(periods: list[Period], identity: dict[str, PeriodIdentity]) -> list[str]:
    partial = [p.label for p in periods if identity[p.label].partial_aggregates]
    if not partial:
        return []
    n = sum(identity[x].partial_aggregates for x in partial)
    return [Notice("partial_aggregates_periods", n=n, count=len(partial), first=partial[0])]


def _trend_row(
    p: Period, res: Any, population: Population, config: Config, by: Sequence[str], reg: Registry
) -> dict[str, Any]:
    """One period of a trend: its population, rates (null when hidden or without data),
    ladder and segments."""
    no_data = res.identity[p.label].counted_events == 0
    g = res.totals.get(p.label)
    _check_headcount(population, g, p.label)
    size = population.size if population.basis == "fixed" else (g.population if g else 0)
    hidden = too_small(size, config.min_group_size)
    # Nothing ingested for a period (or all of it excluded): its rates are unknown,
    # not 0; renderers show "no data".
    metrics = null_metrics(reg.tiers) if hidden or no_data else metrics_of(g, size, reg)
    metrics = _with_aggregates(metrics, res.aggregates.get(p.label, {}), reg, hidden)
    row = {
        "period": p.label,
        "from": p.start.isoformat(),
        "to": p.end.isoformat(),
        "population": _population_block(population, size, res.identity[p.label], hidden),
        "suppressed": hidden,
        "metrics": metrics,
        "ladder": null_ladder(LADDER) if hidden else _ladder(g, size),
        "no_data": no_data,
    }
    if by:
        row["segments"] = _segments(res.segments, p.label, config.min_group_size, reg)
        if no_data:
            for segs in row["segments"].values():
                for seg in segs:
                    seg["metrics"] = {t: dict(metrics[t]) for t in metrics}
    return row


def _trend_warnings(
    periods: list[Period], rows: list[dict[str, Any]], res: Any, pop: Population, k: int
) -> list[str]:
    warnings = [OBSERVED_WARNING] if pop.basis == "observed" else []
    warnings += _partial_warning(periods, res.identity)
    styled = pop.basis == "roster"
    for r in rows:
        if r["no_data"]:
            warnings.append(no_events_warning(r["period"], no_data=True))
        if not styled:
            # Once, at the first period where it applies: a daily trend stays readable.
            style = _style_warning(res.identity[r["period"]], r["period"])
            warnings += style
            styled = bool(style)
    small = [r["period"] for r in rows if r["suppressed"]]
    if small:
        warnings.append(Notice("suppressed_periods", count=len(small), first=small[0], k=k))
    return warnings


def _with_lifecycle(rows: list[dict[str, Any]], life: dict[str, dict[str, Any]]) -> None:
    """Each trend row's lifecycle and stickiness; null when the row is suppressed."""
    for r in rows:
        got = life.get(r["period"])
        if r["suppressed"] or got is None:
            r["lifecycle"] = dict.fromkeys(("new", "returning", "resurrecting", "dormant"))
            r["stickiness"] = None
        else:
            r["lifecycle"], r["stickiness"] = got["lifecycle"], got["stickiness"]


def trend(
    store: Store,
    config: Config,
    period: str,
    window: Window,
    population: Population,
    by: Sequence[str] = (),
    registry: Registry = DEFAULT,
    goals: dict[str, float] | None = None,
    progress: Steps | None = None,
) -> dict[str, Any]:
    """The three rates per calendar period, each over its own population (kind ``trend``);
    ``goals`` are carried as ``{metric, target}`` so a renderer draws them from the result."""
    _check_dims(population, by)
    periods = periods_between(period, window.start, window.end)
    engine = Engine(store, config, registry=registry)
    steps = _steps(progress, (f"tiers of {len(periods)} periods", "lifecycle"), engine, window)
    res = engine.compute(periods, population, by)
    rows = [_trend_row(p, res, population, config, by, registry) for p in periods]
    steps.next()
    _with_lifecycle(rows, trend_lifecycle(engine, periods, population))
    warnings = _trend_warnings(periods, rows, res, population, config.min_group_size)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "trend",
        "period": period,
        "window": _window(window, config),
        "tiers": config.tiers,
        "rows": rows,
        "inputs": _inputs(store, *Period("trend", window.start, window.end).utc_bounds(config.tz)),
        "warnings": warnings,
        "tool": {"name": "intranet-metrics", "version": __version__},
        "generated_at": _now(),
        "warning_details": warning_details(warnings),
        "goals": [
            {"metric": m, "target": t}
            for m, t in (registry.default_goals if goals is None else goals).items()
        ],
    }


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
