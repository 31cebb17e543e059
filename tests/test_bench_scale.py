"""benchmarks/bench_scale.py at a tiny size, so that it cannot rot: its generated exports
ingest, the store it writes directly holds what an ingest leaves, and both references give
the project's numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_scale as bs

from intranet_metrics import api

EVENTS = 6_000


@pytest.fixture(scope="module")
def org_stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[bs.Org, Path, Path, Path]:
    d = tmp_path_factory.mktemp("scale")
    org = bs.Org(600)
    roster = org.write_roster(d / "roster.csv")
    ingested = d / "ingested"
    api.ingest(api.open_store(ingested, create=True), [bs.write_csv(org, EVENTS, d / "e.csv")])
    built = d / "built"
    bs.build_store(org, EVENTS, built)
    return org, roster, ingested, built


def _baseline(store: Path, roster: Path) -> dict:
    m = api.baseline(
        api.open_store(store), *bs.Q1, roster=str(roster), by=["department"], config=api.Config()
    )
    return bs.project_numbers("baseline", m.to_dict())


def test_the_org_is_skewed_with_joiners_leavers_and_inactive_people() -> None:
    org = bs.Org(2_000)
    assert (org.weight == 0).mean() > 0.1  # inactive people
    active = org.weight[org.weight > 0]
    assert active.max() > 20 * active.mean() / 2  # a few heavy users
    assert (~(org.start != org.start)).sum() > 0  # some start dates
    sizes = sorted(((org.dept == d).sum() for d in range(bs.N_DEPTS)), reverse=True)
    assert sizes[0] > 3 * sizes[-1]  # departments of skewed sizes


def test_direct_store_equals_the_ingested_one(org_stores) -> None:
    _, roster, ingested, built = org_stores
    assert _baseline(built, roster) == _baseline(ingested, roster)


@pytest.mark.parametrize("code", [bs.DUCKDB_REF, bs.PANDAS_REF], ids=["duckdb", "pandas"])
def test_references_give_the_project_numbers(org_stores, tmp_path: Path, code: str) -> None:
    _, roster, ingested, _ = org_stores
    out = tmp_path / "ref.json"
    job = {"kind": "baseline", "window": bs.Q1, "by_dept": True}
    r = bs.run("code", code, [str(ingested), str(roster), str(out), json.dumps(job)], 4000)
    assert not r["killed"] and r["rss_mb"] > 0
    ref = bs.reference_numbers("baseline", json.loads(out.read_text()))
    mine = _baseline(ingested, roster)
    assert len(mine["window"]["counts"]) > 5  # departments compared, not only the total
    assert bs.same(mine, bs.unsuppressed(mine, ref))


def test_same_sees_a_difference() -> None:
    assert bs.same({"a": [1, 0.5]}, {"a": [1, 0.5 + 1e-9]})
    assert not bs.same({"a": [1, 2]}, {"a": [1, 3]})
    assert not bs.same({"a": [1]}, {"b": [1]})


def test_iis_log_is_read_as_page_views(tmp_path: Path) -> None:
    org = bs.Org(100)
    log = bs.write_iis(org, 2_000, tmp_path / "u_ex.log")
    result = api.ingest(api.open_store(tmp_path / "s", create=True), [log])
    (source,) = result.sources
    assert source.format == "iis-w3c"
    assert 0 < source.events < 2_000  # assets are counted as other, not events
