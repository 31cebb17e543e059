"""The measurement's DuckDB has a memory limit and spills inside the store (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from intranet_metrics.config import Config, parse_config
from intranet_metrics.engine import Engine
from intranet_metrics.errors import ConfigError
from intranet_metrics.store import Store


def _setting(engine: Engine, name: str) -> str:
    return engine.con.raw_sql("SELECT current_setting(?)", parameters=[name]).fetchone()[0]


@pytest.mark.parametrize(("limit", "shown"), [(None, "488.2 MiB"), ("1GB", "953.6 MiB")])
def test_measurement_duckdb_is_bounded_and_spills_into_the_store(
    tmp_path: Path, limit: str | None, shown: str
) -> None:
    store = Store.open(tmp_path / "store", create=True)
    config = Config() if limit is None else Config(memory_limit=limit)
    engine = Engine(store, config)
    assert _setting(engine, "memory_limit") == shown
    spill = Path(_setting(engine, "temp_directory"))
    assert spill.parent == store.root / "tmp"


@pytest.mark.parametrize("bad", ["lots", "1 GBs", "-1GB", 5])
def test_memory_limit_in_the_config_must_be_a_size(bad) -> None:
    with pytest.raises(ConfigError, match=r"memory_limit(: .* is not a size| must be a size)"):
        parse_config({"memory_limit": bad}, "im.toml")


def test_engine_in_the_config() -> None:
    assert parse_config({"engine": "spark"}).engine == "spark"
    with pytest.raises(ConfigError, match='engine must be "duckdb" or "spark"'):
        parse_config({"engine": "polars"}, "im.toml")


def test_a_measurement_that_spills_works_and_leaves_no_folder(tmp_path: Path) -> None:
    """DuckDB creates only the last level of its temp_directory: the store's tmp/ must
    exist before a measurement spills (a fresh store has none)."""
    store = Store.open(tmp_path / "store", create=True)
    engine = Engine(store, Config(memory_limit="40MB"))
    engine.con.raw_sql("SET threads = 1")
    q = "SELECT count(*) FROM (SELECT range % 1000003, count(*) FROM range(6000000) GROUP BY 1)"
    assert engine.con.raw_sql(q).fetchone()[0] == 1000003
    spill = Path(_setting(engine, "temp_directory"))
    del engine
    import gc

    gc.collect()
    assert not spill.exists() and not (store.root / "tmp").exists()


def _spill(engine: Engine) -> int:
    engine.con.raw_sql("SET threads = 1")
    q = "SELECT count(*) FROM (SELECT range % 1000003, count(*) FROM range(6000000) GROUP BY 1)"
    return engine.con.raw_sql(q).fetchone()[0]


def test_two_measurements_of_one_store_spill_while_one_ends(tmp_path: Path) -> None:
    """The first measurement to end removed the empty tmp/ under the second, which then
    failed to spill ("Failed to create directory"), reported as a damaged store."""
    import gc

    store = Store.open(tmp_path / "store", create=True)
    first, second = (Engine(store, Config(memory_limit="40MB")) for _ in range(2))
    del first
    gc.collect()
    assert _spill(second) == 1000003


def test_a_spill_that_fails_says_so_not_that_the_store_is_damaged(tmp_path: Path) -> None:
    import shutil

    from intranet_metrics.engine import reading
    from intranet_metrics.errors import StoreError

    store = Store.open(tmp_path / "store", create=True)
    engine = Engine(store, Config(memory_limit="40MB"))
    shutil.rmtree(store.root / "tmp")
    spill = r"could not write its spill files.*raise memory_limit"
    with pytest.raises(StoreError, match=spill), reading(store):
        _spill(engine)
