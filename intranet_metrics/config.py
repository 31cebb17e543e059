"""The optional TOML config: time zone, tiers, activity mapping, exclusions, defaults."""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .activities import ACTION_CLASSES, ACTIVITIES, DEFAULT_ACTION_CLASSES
from .backends import DEFAULT_MEMORY_LIMIT, check_memory_limit
from .errors import ConfigError, IntranetMetricsError

CONFIG_FILE = "intranet-metrics.toml"
MIN_GROUP_SIZE_FLOOR = 3

_KEYS = {
    "timezone",
    "tiers",
    "activities",
    "service_accounts",
    "exclude_user_agents",
    "sites",
    "store",
    "roster",
    "goals",
    "map",
    "min_group_size",
    "pseudonymise",
    "encoding",
    "delimiter",
    "date_format",
    "language",
    "communication_team",
    "managers",
    "engine",
    "memory_limit",
    "events",
}


@dataclass(frozen=True)
class Config:
    timezone: str = "UTC"
    tiers: str = "cumulative"  # or "independent"
    activities: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTION_CLASSES))
    service_accounts: tuple[str, ...] = ()
    exclude_user_agents: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    store: str | None = None
    roster: str | None = None
    goals: str | None = None
    column_map: dict[str, str] = field(default_factory=dict)
    min_group_size: int = 5
    pseudonymise: bool = False
    # Human formats (table, Markdown, HTML, Excel CSV): "en" or "nl"; JSON has no language.
    language: str = "en"
    # Text files (exports and the roster): None means found from the file itself.
    encoding: str | None = None
    delimiter: str | None = None
    # Roster dates besides ISO 8601, as a strptime format; Dutch Excel writes %d-%m-%Y.
    date_format: str | None = None
    # The measurement's backend (backends.py) and DuckDB's memory limit before it spills.
    engine: str = "duckdb"
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    # Events in the canonical schema outside the store (a Parquet URI or a Spark table).
    events: str | None = None
    path: str | None = None
    # The communication team (issue 13): a roster column and its values, or people by
    # an identifier (hashed like the roster's under INTRANET_METRICS_KEY, never stored).
    team_column: str | None = None
    team_values: tuple[str, ...] = ()
    team_people: tuple[str, ...] = ()
    # Managers: a roster column; a person is one when its value is in manager_values (by
    # default a yes-like value: 1, true, yes, ja, x).
    manager_column: str | None = None
    manager_values: tuple[str, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, **kw: Any) -> Config:
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


def _suggest(key: str, options: set[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def load_config(path: str | Path | None = None) -> Config:
    """Read ``path``, or ``./intranet-metrics.toml`` if present, else the defaults."""
    if path is None:
        if not Path(CONFIG_FILE).is_file():
            return Config()
        path = CONFIG_FILE
    data = read_toml(path, "config file not found; check the --config path")
    return parse_config(data, str(path))


def read_toml(path: str | Path, missing: str) -> dict[str, Any]:
    """A TOML file's table; ``missing`` is the advice when the file does not exist."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: {missing}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc}); fix the file and run again") from None
    except OSError as exc:  # a symlink loop, a folder, no permission
        raise ConfigError(
            f"{p}: cannot be read ({exc.strerror or exc}); give a readable TOML file"
        ) from None


def _type_name(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _expect(where: str, key: str, value: Any, kind: type | tuple[type, ...], want: str) -> Any:
    """``value`` if it is of ``kind`` (bool is never a number here), else exit 6 naming
    the key, what it should be and what it is."""
    ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in _kinds(kind))
    if not ok:
        raise ConfigError(
            f"{where}: {key} must be {want}, not {_type_name(value)} ({value!r}); "
            "fix the config file"
        )
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def parse_config(data: dict[str, Any], where: str = "config") -> Config:
    for key in data:
        if key not in _KEYS:
            raise ConfigError(f"{where}: unknown key '{key}'{_suggest(key, _KEYS)}")
    cfg = Config(path=where)
    kw: dict[str, Any] = {}
    kw.update(_zone_and_tiers(data, where))
    if "activities" in data:
        kw["activities"] = _activities(data["activities"], where)
    kw.update(_list_and_path_keys(data, where))
    kw.update(_privacy_keys(data, where))
    kw.update(_text_keys(data, where))
    kw.update(_group_keys(data, where))
    kw.update(_engine_keys(data, where))
    return replace(cfg, **kw)


def _zone_and_tiers(data: dict[str, Any], where: str) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if "timezone" in data:
        tz = _expect(where, "timezone", data["timezone"], str, "an IANA time zone name")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{where}: unknown timezone '{tz}'; use an IANA name such as 'Europe/Amsterdam'"
            ) from None
        kw["timezone"] = tz
    if "tiers" in data:
        if data["tiers"] not in ("cumulative", "independent"):
            raise ConfigError(f"{where}: tiers must be 'cumulative' or 'independent'")
        kw["tiers"] = data["tiers"]
    return kw


def _activities(value: Any, where: str) -> dict[str, str]:
    table = _expect(where, "activities", value, dict, "a table ([activities])")
    mapping = dict(DEFAULT_ACTION_CLASSES)
    for activity, cls in table.items():
        if activity not in ACTIVITIES:
            raise ConfigError(
                f"{where}: [activities] unknown activity '{activity}'"
                f"{_suggest(activity, ACTIVITIES)}"
            )
        if not isinstance(cls, str) or cls not in ACTION_CLASSES:
            raise ConfigError(
                f"{where}: [activities] {activity} = {cls!r}: use one of "
                + ", ".join(ACTION_CLASSES)
            )
        mapping[activity] = cls
    return mapping


def _list_and_path_keys(data: dict[str, Any], where: str) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for key in ("service_accounts", "exclude_user_agents", "sites"):
        if key in data:
            values = data[key]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ConfigError(f"{where}: {key} must be a list of strings")
            kw[key] = tuple(v.strip().lower() if key == "service_accounts" else v for v in values)
    for key in ("store", "roster", "goals", "events"):
        if key in data:
            kw[key] = _expect(where, key, data[key], str, "a path in quotes")
    if "map" in data:
        table = _expect(where, "map", data["map"], dict, 'a table ([map] field = "column")')
        for k, v in table.items():
            _expect(where, f"map.{k}", v, str, "a column name in quotes")
        kw["column_map"] = dict(table)
    return kw


def _privacy_keys(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``min_group_size``, ``pseudonymise`` and ``language``."""
    kw: dict[str, Any] = {}
    if "min_group_size" in data:
        k = data["min_group_size"]
        if isinstance(k, bool) or not isinstance(k, int) or k < MIN_GROUP_SIZE_FLOOR:
            raise ConfigError(
                f"{where}: min_group_size must be a whole number of at least "
                f"{MIN_GROUP_SIZE_FLOOR} (groups smaller than this are suppressed), not {k!r}"
            )
        kw["min_group_size"] = k
    if "pseudonymise" in data:
        kw["pseudonymise"] = _expect(
            where, "pseudonymise", data["pseudonymise"], bool, "true or false"
        )
    if "language" in data:
        lang = _expect(where, "language", data["language"], str, '"en" or "nl"')
        if lang not in ("en", "nl"):
            raise ConfigError(f'{where}: language must be "en" or "nl", not {lang!r}')
        kw["language"] = lang
    return kw


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _group_keys(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``[communication_team]`` (column + values, or people) and ``[managers]`` (column,
    optional values): who broadcasts and who leads, for the science figures."""
    kw: dict[str, Any] = {}
    for key, allowed in (
        ("communication_team", {"column", "values", "people"}),
        ("managers", {"column", "values"}),
    ):
        if key not in data:
            continue
        table = _expect(where, key, data[key], dict, f"a table ([{key}])")
        for k in table:
            if k not in allowed:
                raise ConfigError(f"{where}: [{key}] unknown key '{k}'{_suggest(k, allowed)}")
        column = table.get("column")
        if column is not None:
            column = _expect(where, f"{key}.column", column, str, "a roster column name")
        values = _strings(where, f"{key}.values", table["values"]) if "values" in table else ()
        prefix = "team" if key == "communication_team" else "manager"
        kw[f"{prefix}_column"] = column
        kw[f"{prefix}_values"] = values
        if key == "communication_team":
            kw["team_people"] = _strings(where, f"{key}.people", table.get("people", []))
            if column is None and not kw["team_people"]:
                raise ConfigError(
                    f'{where}: [communication_team] needs column = "..." with values = '
                    "[...] (a roster column), or people = [...] (their e-mail addresses)"
                )
            if column is not None and not values:
                raise ConfigError(
                    f"{where}: [communication_team] column = {column!r} needs values = [...], "
                    'the values that mark the team, e.g. ["Communicatie"]'
                )
        elif column is None:
            raise ConfigError(
                f'{where}: [managers] needs column = "..." (a roster column such as is_manager)'
            )
    return kw


def _engine_keys(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``engine`` and ``memory_limit``: where and in how much memory measurements run."""
    kw: dict[str, Any] = {}
    if "engine" in data:
        from .backends import ENGINES

        engine = _expect(where, "engine", data["engine"], str, '"duckdb" or "spark"')
        if engine not in ENGINES:
            raise ConfigError(f'{where}: engine must be "duckdb" or "spark", not {engine!r}')
        kw["engine"] = engine
    if "memory_limit" in data:
        kw["memory_limit"] = check_memory_limit(
            _expect(where, "memory_limit", data["memory_limit"], str, 'a size such as "1GB"'),
            f"{where}: memory_limit",
        )
    return kw


def _text_keys(data: dict[str, Any], where: str) -> dict[str, str]:
    """``encoding``, ``delimiter`` and ``date_format``, checked."""
    import codecs
    from datetime import datetime

    kw: dict[str, str] = {}
    for key in ("encoding", "delimiter", "date_format"):
        if key in data:
            if not isinstance(data[key], str) or not data[key]:
                raise ConfigError(f"{where}: {key} must be a non-empty string")
            kw[key] = data[key]
    if "encoding" in kw:
        try:
            codecs.lookup(kw["encoding"])
        except LookupError:
            raise ConfigError(
                f"{where}: unknown encoding '{kw['encoding']}'; use e.g. utf-8, utf-16 or "
                "cp1252 (Windows-1252)"
            ) from None
    if "delimiter" in kw:
        from .loaders.textfile import parse_delimiter

        try:
            kw["delimiter"] = parse_delimiter(kw["delimiter"])
        except IntranetMetricsError as exc:
            raise ConfigError(f"{where}: delimiter {exc}") from None
    if "date_format" in kw:
        fmt = kw["date_format"]
        try:
            probe = datetime(2026, 12, 31).strftime(fmt)
            ok = datetime.strptime(probe, fmt).date() == datetime(2026, 12, 31).date()
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(
                f"{where}: date_format '{fmt}' does not read back a date; use strptime codes, "
                "e.g. '%d-%m-%Y' (Dutch) or '%m/%d/%Y'"
            )
    return kw
