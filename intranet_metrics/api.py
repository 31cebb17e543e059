"""The library calls behind each command, for notebooks and scripts.

from intranet_metrics import api
store = api.open_store(".intranet-metrics", create=True)
api.ingest(store, ["exports/"])
m = api.measure(store, "2026-01-01", "2026-03-31", roster="roster.csv")
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import report
from .config import Config
from .engine import Population
from .errors import InputError, StoreError, UsageError
from .goals import load_goals
from .identity import Pseudonymiser
from .report import Window
from .roster import load_roster
from .store import CompactResult, ForgetResult, IngestResult, RepairResult, Store

TIERS_DIR = "measurements"


def open_store(path: str | Path, create: bool = False) -> Store:
    return Store.open(path, create=create)


def pseudonymiser(config: Config) -> Pseudonymiser:
    return Pseudonymiser.from_env(required=config.pseudonymise)


def sources(store: Store) -> list[dict[str, Any]]:
    """The sources in the store, as the manifest lists them (path, SHA-256, format, counts,
    span, settings they were read with)."""
    return [dict(s) for s in store.sources]


def forget(store: Store, specs: Sequence[str], wait: bool = True, notify=None) -> ForgetResult:
    """Take sources (by path, SHA-256 or a unique prefix) and their events out of the store."""
    return store.forget(list(specs), wait=wait, notify=notify)


def compact(store: Store, wait: bool = True, notify=None) -> CompactResult:
    """Merge each month's data files into one, sorted by time (crash-safe, like forget)."""
    return store.compact(wait=wait, notify=notify)


def repair(path: str | Path, wait: bool = True, notify=None) -> RepairResult:
    """Restore a consistent store; the result lists what was dropped and what to ingest again."""
    return Store.open_for_repair(path).repair(wait=wait, notify=notify)


def parse_date(value: str | date, option: str = "date") -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise UsageError(
            f"{option} '{value}' is not a date; use YYYY-MM-DD, e.g. 2026-01-31"
        ) from None


def ingest(
    store: Store,
    paths: Sequence[str | Path],
    config: Config | None = None,
    input_format: str | None = None,
    skip_bad: bool = False,
    wait: bool = True,
    notify=None,
    on_start=None,
) -> IngestResult:
    """Read every export under ``paths`` into the store (idempotent)."""
    from .ingest import ingest as run

    config = config or Config()
    return run(
        store,
        [Path(p) for p in paths],
        config,
        pseudonymiser(config),
        input_format=input_format,
        skip_bad=skip_bad,
        wait=wait,
        notify=notify,
        on_start=on_start,
    )


def _roster(path: str | Path, config: Config):
    """The roster read with the config's text settings (``--encoding``, ``--delimiter``)."""
    return load_roster(
        path,
        pseudonymiser(config),
        encoding=config.encoding,
        delimiter=config.delimiter,
        date_format=config.date_format,
    )


def population(
    config: Config, roster: str | Path | None = None, size: int | None = None
) -> Population:
    if roster is not None and size is not None:
        raise UsageError("give either --roster or --population, not both")
    if size is not None and size <= 0:
        raise UsageError(f"--population {size}: give the headcount, a whole number above 0")
    if roster is not None:
        return Population(roster=_roster(roster, config))
    return Population(size=size)


def _measure(
    store: Store,
    start: str | date,
    end: str | date,
    config: Config | None,
    roster: str | Path | None,
    population_size: int | None,
    by: Sequence[str],
    goals: str | Path | None,
    label: str | None,
):
    config = config or Config()
    store.check_key(pseudonymiser(config))
    window = Window(parse_date(start, "--from"), parse_date(end, "--to"))
    return report.measure_with_tiers(
        store,
        config,
        window,
        population(config, roster, population_size),
        by,
        load_goals(goals),
        label,
    )


def measure(
    store: Store,
    start: str | date,
    end: str | date,
    config: Config | None = None,
    roster: str | Path | None = None,
    population_size: int | None = None,
    by: Sequence[str] = (),
    goals: str | Path | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """One measurement of the window ``start``..``end`` (dates inclusive)."""
    return _measure(store, start, end, config, roster, population_size, by, goals, label)[0]


def baseline(
    store: Store,
    start: str | date,
    end: str | date,
    config: Config | None = None,
    roster: str | Path | None = None,
    population_size: int | None = None,
    by: Sequence[str] = (),
    goals: str | Path | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """The zero measurement; with a roster, each person's tiers are kept in the store under
    pseudonymous keys (``measurement_id``) so that ``compare`` can pair people."""
    result, tiers = _measure(store, start, end, config, roster, population_size, by, goals, label)
    if tiers is not None:
        try:
            result["measurement_id"] = save_tiers(store, tiers)
        except StoreError as exc:
            # The measurement itself is sound: print it, and say what is lost (a paired
            # compare against it falls back to the unpaired test).
            result.setdefault("warnings", []).append(
                f"{exc}; the per-person tiers for a paired compare were not saved, so "
                "'compare' against this baseline will use the unpaired test"
            )
    return result


def save_tiers(store: Store, tiers: pa.Table) -> str:
    """Keep per-person tiers (pseudonymous keys only) under ``measurements/``."""
    return store.save_tiers(tiers)


def load_tiers(store: Store, measurement_id: str | None) -> pa.Table | None:
    return store.load_tiers(measurement_id)


def compare_to(
    store: Store,
    baseline: dict[str, Any],
    start: str | date,
    end: str | date,
    config: Config | None = None,
    roster: str | Path | None = None,
    population_size: int | None = None,
    by: Sequence[str] = (),
    goals: str | Path | None = None,
    label: str | None = None,
    allow_different_basis: bool = False,
) -> dict[str, Any]:
    """Measure the window and compare it with ``baseline``: paired (McNemar) when the
    baseline's per-person tiers are in this store, unpaired otherwise. A baseline on
    another population basis (roster, headcount, observed) is refused (ConfigError)
    unless ``allow_different_basis``."""
    config = config or Config()
    current, tiers = _measure(store, start, end, config, roster, population_size, by, goals, label)
    base_tiers = load_tiers(store, baseline.get("measurement_id"))
    pairs = (base_tiers, tiers) if base_tiers is not None and tiers is not None else None
    return report.compare(
        baseline,
        current,
        load_goals(goals),
        pairs,
        min_group_size=config.min_group_size,
        allow_different_basis=allow_different_basis,
    )


def load_baseline(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{p}: baseline file not found; write one with 'baseline --format json --output FILE'"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{p}: not a JSON report ({exc}); give the file that 'baseline --format json' wrote"
        ) from None
    except OSError as exc:  # a symlink loop, a folder, no permission
        raise InputError(
            f"{p}: cannot be read ({exc.strerror or exc}); give the file that 'baseline "
            "--format json' wrote"
        ) from None
    if not isinstance(data, dict) or data.get("kind") != "measurement":
        raise InputError(
            f"{p}: not a measurement report (kind is "
            f"{data.get('kind') if isinstance(data, dict) else '?'}); give the "
            "file that 'baseline --format json' wrote"
        )
    if data.get("schema_version") != report.SCHEMA_VERSION:
        raise InputError(
            f"{p}: schema_version {data.get('schema_version')} is not supported "
            f"(this tool reads {report.SCHEMA_VERSION})"
        )
    return data


def compare(
    baseline: dict[str, Any],
    current: dict[str, Any],
    goals: str | Path | None = None,
    config: Config | None = None,
    allow_different_basis: bool = False,
) -> dict[str, Any]:
    return report.compare(
        baseline,
        current,
        load_goals(goals),
        min_group_size=(config or Config()).min_group_size,
        allow_different_basis=allow_different_basis,
    )


def trend(
    store: Store,
    period: str,
    start: str | date | None = None,
    end: str | date | None = None,
    config: Config | None = None,
    roster: str | Path | None = None,
    population_size: int | None = None,
    by: Sequence[str] = (),
) -> dict[str, Any]:
    """The three rates per calendar period."""
    config = config or Config()
    store.check_key(pseudonymiser(config))
    span = report.store_span(store, config)
    if (start is None or end is None) and span is None:
        raise UsageError("the store holds no events yet; ingest exports or give --from and --to")
    s = parse_date(start, "--from") if start is not None else span[0]
    e = parse_date(end, "--to") if end is not None else span[1]
    return report.trend(
        store, config, period, Window(s, e), population(config, roster, population_size), by
    )


def identities(
    store: Store,
    config: Config | None = None,
    roster: str | Path | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    top: int = 20,
) -> dict[str, Any]:
    """Identity coverage per source format and the most frequent unmatched actors."""
    from dataclasses import asdict

    from .engine import Engine, Period, identity_report

    config = config or Config()
    if roster is None:
        raise UsageError("identities needs --roster FILE (or roster = ... in the config)")
    if (start is None) != (end is None):
        raise UsageError("give both --from and --to, or neither (all events)")
    period = None
    if start is not None:
        s, e = parse_date(start, "--from"), parse_date(end, "--to")
        Window(s, e)
        period = Period("window", s, e)
    store.check_key(pseudonymiser(config))
    ros = _roster(roster, config)
    return asdict(identity_report(Engine(store, config), ros, period, top))
