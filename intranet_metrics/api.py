"""The library calls behind each command, for notebooks and scripts.

import intranet_metrics as im
store = im.open_store(".intranet-metrics", create=True)
im.ingest(store, ["exports/"])
m = im.measure(store, "2026-01-01", "2026-03-31", roster="roster.csv")
m.to_frame()      # tidy pandas: one row per segment and metric
m.to_dict()       # the JSON of SPEC section 7

Every call reads ``./intranet-metrics.toml`` like the CLI unless given ``config=``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .config import Config, load_config
from .errors import InputError, StoreError, UsageError
from .goals import load_goals
from .identity import Pseudonymiser
from .metrics import DEFAULT, Registry
from .notices import Notice
from .notices import details as warning_details
from .results import Comparison, Measurement, Trend, as_dict
from .roster import load_roster
from .store import CompactResult, ForgetResult, IngestResult, RepairResult, Store
from .store import default_store_path as _default_store_path

# report and engine (ibis, pandas: a third of a second) are imported by the calls that
# measure, never by ingest, forget, compact or repair.
if TYPE_CHECKING:
    from .engine import Population
    from .progress import Steps

TIERS_DIR = "measurements"


def open_store(
    path: str | Path | None = None,
    create: bool = False,
    config: Config | str | Path | None = None,
) -> Store:
    """The store at ``path``, or where the CLI looks (INTRANET_METRICS_STORE, the config's
    ``store``, ./.intranet-metrics)."""
    return Store.open(path or default_store_path(_config(config)), create=create)


def default_store_path(config: Config | None = None) -> Path:
    return _default_store_path(config or Config())


def pseudonymiser(config: Config) -> Pseudonymiser:
    return Pseudonymiser.from_env(required=config.pseudonymise)


def sources(store: Store) -> list[dict[str, Any]]:
    """The sources in the store, as the manifest lists them (path, SHA-256, format, counts,
    span, settings they were read with)."""
    return [dict(s) for s in store.sources]


def forget(store: Store, specs: Sequence[str], wait: bool = True, notify=None) -> ForgetResult:
    """Take sources (by path, SHA-256 or a unique prefix) and their events out of the store."""
    return store.forget(list(specs), wait=wait, notify=notify)


def compact(store: Store, wait: bool = True, notify=None, tz: str | None = None) -> CompactResult:
    """Merge each month's data files into one, sorted by time (crash-safe, like forget), and
    derive the activity files measurements read (by local days in ``tz``, an IANA name;
    default the store's)."""
    return store.compact(wait=wait, notify=notify, tz=tz)


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
    config: Config | str | Path | None = None,
    *,
    input_format: str | None = None,
    skip_bad: bool = False,
    wait: bool = True,
    notify=None,
    on_start=None,
) -> IngestResult:
    """Read every export under ``paths`` into the store (idempotent)."""
    from .pipeline import ingest as run

    config = _config(config)
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
    from .engine import Population

    if roster is not None and size is not None:
        raise UsageError("give either --roster or --population, not both")
    if size is not None and size <= 0:
        raise UsageError(f"--population {size}: give the headcount, a whole number above 0")
    if roster is not None:
        return Population(roster=_roster(roster, config))
    return Population(size=size)


def _config(config: Config | str | Path | None) -> Config:
    """The config as the CLI reads it: ``./intranet-metrics.toml`` when present (or the
    file given), else the defaults."""
    if isinstance(config, Config):
        return config
    return load_config(config)


def _measure(
    store: Store,
    start: str | date,
    end: str | date,
    config: Config,
    roster: str | Path | None,
    population_size: int | None,
    by: Sequence[str],
    goals: str | Path | None,
    label: str | None,
    registry: Registry,
    progress: Steps | None = None,
) -> tuple[dict[str, Any], pa.Table | None]:
    from . import report

    store.check_key(pseudonymiser(config))
    window = report.Window(parse_date(start, "--from"), parse_date(end, "--to"))
    return report.measure_with_tiers(
        store,
        config,
        window,
        population(config, roster or config.roster, population_size),
        by,
        load_goals(goals or config.goals, registry),
        label,
        registry,
        progress,
    )


def measure(
    store: Store,
    start: str | date,
    end: str | date,
    *,
    config: Config | str | Path | None = None,
    roster: str | Path | None = None,
    population_size: int | None = None,
    by: Sequence[str] = (),
    goals: str | Path | None = None,
    label: str | None = None,
    registry: Registry = DEFAULT,
    progress: Steps | None = None,
) -> Measurement:
    """One measurement of the window ``start``..``end`` (dates inclusive). ``config``
    defaults to ``./intranet-metrics.toml`` like the CLI; ``roster`` and ``goals`` to
    the config's. ``progress`` (a ``progress.Steps``, e.g. from ``progress.measure_bar``)
    is told each step, as with baseline, compare_to and trend."""
    cfg = _config(config)
    doc, _ = _measure(
        store, start, end, cfg, roster, population_size, by, goals, label, registry, progress
    )
    return Measurement.from_dict(doc)


def baseline(
    store: Store,
    start: str | date,
    end: str | date,
    *,
    config: Config | str | Path | None = None,
    roster: str | Path | None = None,
    population_size: int | None = None,
    by: Sequence[str] = (),
    goals: str | Path | None = None,
    label: str | None = None,
    registry: Registry = DEFAULT,
    progress: Steps | None = None,
) -> Measurement:
    """The zero measurement; with a roster, each person's tiers are kept in the store under
    pseudonymous keys (``measurement_id``) so that ``compare`` can pair people."""
    cfg = _config(config)
    result, tiers = _measure(
        store, start, end, cfg, roster, population_size, by, goals, label, registry, progress
    )
    if tiers is not None:
        try:
            result["measurement_id"] = save_tiers(store, tiers)
        except StoreError as exc:
            # The measurement itself is sound: print it, and say what is lost (a paired
            # compare against it falls back to the unpaired test).
            result.setdefault("warnings", []).append(Notice("tiers_not_saved", error=str(exc)))
            result["warning_details"] = warning_details(result["warnings"])
    return Measurement.from_dict(result)


def save_tiers(store: Store, tiers: pa.Table) -> str:
    """Keep per-person tiers (pseudonymous keys only) under ``measurements/``."""
    return store.save_tiers(tiers)


def load_tiers(store: Store, measurement_id: str | None) -> pa.Table | None:
    return store.load_tiers(measurement_id)


def compare_to(
    store: Store,
    baseline: Measurement | Mapping[str, Any],
    start: str | date,
    end: str | date,
    *,
    config: Config | str | Path | None = None,
    roster: str | Path | None = None,
    population_size: int | None = None,
    by: Sequence[str] = (),
    goals: str | Path | None = None,
    label: str | None = None,
    allow_different_basis: bool = False,
    registry: Registry = DEFAULT,
    progress: Steps | None = None,
) -> Comparison:
    """Measure the window and compare it with ``baseline``: paired (McNemar) when the
    baseline's per-person tiers are in this store, unpaired otherwise. A baseline on
    another population basis (roster, headcount, observed) is refused (ConfigError)
    unless ``allow_different_basis``."""
    cfg = _config(config)
    base = as_dict(baseline)
    current, tiers = _measure(
        store, start, end, cfg, roster, population_size, by, goals, label, registry, progress
    )
    from . import report

    base_tiers = load_tiers(store, base.get("measurement_id"))
    pairs = (base_tiers, tiers) if base_tiers is not None and tiers is not None else None
    doc = report.compare(
        base,
        current,
        load_goals(goals or cfg.goals, registry),
        pairs,
        min_group_size=cfg.min_group_size,
        allow_different_basis=allow_different_basis,
        registry=registry,
    )
    return Comparison.from_dict(doc)


def load_baseline(path: str | Path) -> Measurement:
    from . import report

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
    try:
        return Measurement.from_dict(data)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise InputError(
            f"{p}: not a complete measurement report ({exc}); give the file that 'baseline "
            "--format json' wrote"
        ) from None


def compare(
    baseline: Measurement | Mapping[str, Any],
    current: Measurement | Mapping[str, Any],
    *,
    goals: str | Path | None = None,
    config: Config | str | Path | None = None,
    allow_different_basis: bool = False,
    registry: Registry = DEFAULT,
) -> Comparison:
    """Two measurements already taken, compared unpaired (no per-person tiers)."""
    from . import report

    cfg = _config(config)
    doc = report.compare(
        as_dict(baseline),
        as_dict(current),
        load_goals(goals or cfg.goals, registry),
        min_group_size=cfg.min_group_size,
        allow_different_basis=allow_different_basis,
        registry=registry,
    )
    return Comparison.from_dict(doc)


def trend(
    store: Store,
    period: str,
    start: str | date | None = None,
    end: str | date | None = None,
    *,
    config: Config | str | Path | None = None,
    roster: str | Path | None = None,
    population_size: int | None = None,
    by: Sequence[str] = (),
    goals: str | Path | None = None,
    registry: Registry = DEFAULT,
    progress: Steps | None = None,
) -> Trend:
    """The rates per calendar period (from the store's first to its last day by default),
    with the goals (``goals`` or the config's goals file) for the charts' goal lines."""
    from . import report

    cfg = _config(config)
    store.check_key(pseudonymiser(cfg))
    span = report.store_span(store, cfg)
    if (start is None or end is None) and span is None:
        raise UsageError("the store holds no events yet; ingest exports or give --from and --to")
    s = parse_date(start, "--from") if start is not None else span[0]
    e = parse_date(end, "--to") if end is not None else span[1]
    pop = population(cfg, roster or cfg.roster, population_size)
    targets = load_goals(goals or cfg.goals, registry)
    doc = report.trend(
        store, cfg, period, report.Window(s, e), pop, by, registry, targets, progress
    )
    return Trend.from_dict(doc)


def identities(
    store: Store,
    *,
    config: Config | str | Path | None = None,
    roster: str | Path | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    top: int = 20,
) -> dict[str, Any]:
    """Identity coverage per source format and the most frequent unmatched actors."""
    from dataclasses import asdict

    from .engine import Engine, Period, identity_report
    from .window import Window

    config = _config(config)
    roster = roster or config.roster
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


def rejects(store: Store, limit: int | None = 100) -> pa.Table:
    """The rows that could not be read (file, line, reason, the start of the raw row)."""
    from .runrecord import rejects as load_rejects

    return load_rejects(store, limit)


def formats() -> list[dict[str, Any]]:
    """The export formats: name, what each is, what it can tell and what it cannot."""
    from .loaders import all_loaders

    return [
        {"name": m.NAME, "description": m.DESCRIPTION, "can": list(m.CAN), "cannot": m.CANNOT}
        for m in all_loaders()
    ]


def parse_delimiter(value: str) -> str:
    """A CSV separator as written on the command line (``,`` ``;`` ``|`` ``tab``)."""
    from .loaders.textfile import parse_delimiter as parse

    return parse(value)


def verify(report_path: str | Path) -> list[Any]:
    """Re-hash the inputs a JSON report lists: each with its status (unchanged, changed,
    missing, superseded)."""
    from .runrecord import verify as verify_report

    return verify_report(report_path)


def with_relative_inputs(result: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The report with its input paths relative to ``folder`` (where it is written)."""
    from .runrecord import with_relative_inputs as relative

    return relative(result, folder)
