"""The ibis backends a measurement runs on: DuckDB in-process (bounded memory, spilling into
the store), or PySpark (``intranet-metrics[spark]``) for events that live in a lakehouse.

Both run the very same ibis expressions (engine.py); only the connection and the way the
store's Parquet files are read differ."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import uuid
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    import ibis

ENGINES = ("duckdb", "spark")
# Peak memory of one measurement: DuckDB spills what does not fit into the store's tmp/.
# At 100 M events the unbounded connection peaked at 4.7 GB, with 1GB at 1.29-1.48 GB, with
# 512MB at 0.85-0.87 GB (Python, the libraries and Arrow results come on top of DuckDB's
# share): identical numbers, 1.04-1.08x the CPU (issue 12: every command under 1 GB).
DEFAULT_MEMORY_LIMIT = "512MB"
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def check_memory_limit(value: str, where: str = "memory_limit") -> str:
    """A DuckDB size such as '1GB' or '512MB'; anything else is a config error."""
    if not isinstance(value, str) or not _MEMORY.match(value):
        raise ConfigError(f'{where}: {value!r} is not a size; write it like "1GB" or "512MB"')
    return value.replace(" ", "")


def spill_folder(store_root: Path) -> Path:
    """A fresh folder under the store's tmp/ (cleaned by ``repair``) for DuckDB's spill,
    made here: DuckDB makes only the last level, and only when it first spills, by which
    time another measurement of the store that ended may have removed an empty tmp/. A
    store that cannot be written (a read-only share) spills into the system's temporary
    folder instead."""
    name = f"measure-{uuid.uuid4().hex[:12]}"
    folder = Path(store_root) / "tmp" / name
    for _ in range(3):
        try:
            folder.mkdir(parents=True)
            return folder
        except FileNotFoundError:
            continue  # tmp/ removed between its making and the folder's: make both again
        except OSError:
            break
    return Path(tempfile.gettempdir()) / f"intranet-metrics-{name}"


def spill_failed(message: str) -> bool:
    """Whether a DuckDB I/O error is about a measurement's spill folder (``spill_folder``)
    or a full disk, not about the store's data files."""
    return _SPILL_TROUBLE.search(message) is not None


# The spill folder's name (spill_folder) as DuckDB quotes it, or a full disk.
_SPILL_TROUBLE = re.compile(r"measure-[0-9a-f]{12}|No space left on device")


def duckdb_config(store_root: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> dict[str, Any]:
    """DuckDB settings of a measurement, given as connect config: no path is pasted into SQL."""
    return {
        "memory_limit": check_memory_limit(memory_limit),
        "temp_directory": str(spill_folder(store_root)),
        "preserve_insertion_order": False,
    }


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()  # the store's tmp/, when nothing else is staged there


def connect(
    engine: str, store_root: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> ibis.BaseBackend:
    """An ibis connection for ``engine`` ('duckdb' or 'spark')."""
    if engine == "duckdb":
        import ibis

        config = duckdb_config(store_root, memory_limit)
        con = ibis.duckdb.connect(**config)
        # The spill folder goes with the connection (DuckDB leaves it, and tmp/, behind).
        weakref.finalize(con, _remove, Path(config["temp_directory"]))
        return con
    if engine == "spark":
        return connect_spark()
    raise ConfigError(f"engine {engine!r}: use one of {', '.join(ENGINES)}")


def connect_spark(session: Any = None) -> ibis.BaseBackend:
    """A PySpark backend on ``session`` or on the active/default SparkSession (local mode
    unless spark-submit or SPARK_REMOTE configured a cluster). UTC, like the store."""
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "--engine spark needs PySpark and Java 17: pip install 'intranet-metrics[spark]'"
        ) from None
    if session is None:
        try:
            session = (
                SparkSession.builder.appName("intranet-metrics")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.enabled", "false")
                .getOrCreate()
            )
        except Exception as exc:  # no Java, a cluster out of reach: PySpark's own errors
            text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise ConfigError(
                f"--engine spark could not start Spark ({text or type(exc).__name__}); it "
                "needs Java 17 (apt-get install openjdk-17-jre-headless, or JAVA_HOME)"
            ) from None
    return ibis.pyspark.connect(session)


def read_events(con: ibis.BaseBackend, files: list[str]) -> ibis.expr.types.Table:
    """The store's event files as one table. PySpark's reader takes many paths (or a folder,
    or a lakehouse URI) at once; ibis's pyspark read_parquet takes only one."""
    if getattr(con, "name", "") == "pyspark":
        df = con._session.read.parquet(*files)
        name = f"events_{uuid.uuid4().hex}"
        df.createOrReplaceTempView(name)
        return con.table(name)
    return con.read_parquet(files)


def read_uri(con: ibis.BaseBackend, uri: str, months: list[str] | None) -> Any:
    """Events in the canonical schema (``intranet-metrics schema``) kept outside the store:
    a Parquet folder or file at any path or URI the backend reads (``s3a://``, ``abfss://``,
    a glob for DuckDB), or on Spark the name of a catalog table (``lake.intranet_events``).
    Only ``months`` (UTC, as the store partitions them) are read, or all when None."""
    spark = getattr(con, "name", "") == "pyspark"
    if spark and _TABLE_NAME.match(uri):
        name = f"events_{uuid.uuid4().hex}"
        con._session.table(uri).createOrReplaceTempView(name)
        ev = con.table(name)
    else:
        ev = read_events(con, [uri]) if spark else con.read_parquet(uri)
    if not months:
        return ev
    lo = datetime.fromisoformat(months[0] + "-01").replace(tzinfo=timezone.utc)
    y, m = int(months[-1][:4]), int(months[-1][5:7])
    hi = datetime(y + m // 12, m % 12 + 1, 1, tzinfo=timezone.utc)
    return ev.filter((ev.time >= lo) & (ev.time < hi))


_TABLE_NAME = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*){0,2}$")


def temp_table(con: ibis.BaseBackend, name: str, expr: ibis.expr.types.Table) -> Any:
    """``expr`` computed once as the temporary table ``name`` (a cached view on Spark, whose
    ibis backend has no temporary tables)."""
    if getattr(con, "name", "") == "pyspark":
        con._run_pre_execute_hooks(expr)  # registers the memtables the query reads
        df = con._session.sql(con.compile(expr))
        df.cache().createOrReplaceTempView(name)
        return con.table(name)
    return con.create_table(name, expr, temp=True)


def drop_temp(con: ibis.BaseBackend, name: str) -> None:
    if getattr(con, "name", "") == "pyspark":
        con._session.catalog.dropTempView(name)
        return
    con.drop_table(name, force=True)
