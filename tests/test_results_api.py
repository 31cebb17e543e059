"""Typed results and one public API (issue 11 item 7)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import intranet_metrics as im
from intranet_metrics.results import Comparison, Measurement, Trend, from_dict
from tests.synth import make_org, write_org

GOLDEN = Path(__file__).parent / "golden"
Q1 = ("2026-01-01", "2026-03-31")
Q2 = ("2026-04-01", "2026-06-30")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("baseline", Measurement), ("compare", Comparison), ("report", Trend)],
)
def test_a_typed_result_gives_back_exactly_its_json(name, kind):
    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    result = from_dict(doc)
    assert isinstance(result, kind)
    assert json.dumps(result.to_dict()) == json.dumps(doc)  # key order included


def test_results_are_frozen():
    doc = json.loads((GOLDEN / "baseline.json").read_text(encoding="utf-8"))
    m = Measurement.from_dict(doc)
    with pytest.raises(AttributeError):
        m.label = "x"  # type: ignore[misc]


@pytest.mark.parametrize(("name", "rows"), [("baseline", 3 * 8), ("report", 3 * 3 * 8)])
def test_to_frame_has_one_row_per_segment_and_metric(name, rows):
    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    frame = from_dict(doc).to_frame()
    assert len(frame) == rows  # 3 tiers x (the whole + 7 departments) [x 3 quarters]
    whole = frame[(frame["segment"] == "(all)") & (frame["metric"] == "reader")].iloc[0]
    first = doc if name == "baseline" else doc["rows"][0]
    assert whole["rate"] == first["metrics"]["reader"]["rate"]
    assert whole["users"] == first["metrics"]["reader"]["users"]


def test_a_comparison_frame_has_the_tests_of_the_whole_population():
    doc = json.loads((GOLDEN / "compare.json").read_text(encoding="utf-8"))
    frame = from_dict(doc).to_frame()
    whole = frame[frame["segment"] == "(all)"].set_index("metric")
    assert whole.loc["reader", "p_value"] == doc["changes"]["reader"]["p_value"]
    assert set(frame["dimension"].dropna()) == {"department"}


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    roster, events = make_org(seed=3, people=60, events=1500)
    rp, ep = write_org(roster, events, tmp / "org")
    store = im.open_store(tmp / "s", create=True)
    im.ingest(store, [ep])
    return tmp, store, rp


def test_the_api_reads_the_config_file_like_the_cli(org, tmp_path, monkeypatch):
    _, store, rp = org
    (tmp_path / "intranet-metrics.toml").write_text(
        f'timezone = "Europe/Amsterdam"\nroster = "{rp.as_posix()}"\n'
    )
    monkeypatch.chdir(tmp_path)
    m = im.measure(store, *Q1)
    assert m.window.timezone == "Europe/Amsterdam"
    assert m.population.basis == "roster"  # the config's roster, as the CLI uses it


def test_the_api_returns_typed_results_that_read_like_the_json(org):
    _, store, rp = org
    base = im.baseline(store, *Q1, roster=rp)
    cmp = im.compare_to(store, base, *Q2, roster=rp)
    tr = im.trend(store, "quarter", *Q1, roster=rp)
    assert isinstance(base, im.Measurement) and isinstance(cmp, im.Comparison)
    assert isinstance(tr, im.Trend)
    assert base["metrics"]["reader"]["rate"] == base.metrics["reader"].rate
    assert cmp.changes["reader"].test == "mcnemar-midp"
    assert cmp.current.label == cmp["current"]["label"]


def test_api_options_after_the_window_are_keyword_only(org):
    _, store, rp = org
    with pytest.raises(TypeError):
        im.measure(store, *Q1, None, rp)  # type: ignore[misc]


def test_importing_the_package_loads_no_heavy_module():
    code = (
        "import sys, intranet_metrics as im; im.__version__; "
        "print([m for m in ('pyarrow', 'ibis', 'duckdb', 'pandas') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_cli_imports_neither_the_store_nor_the_loaders():
    src = (Path(im.__file__).parent / "cli.py").read_text(encoding="utf-8")
    modules = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ImportFrom):
            modules.add(node.module or "")
        elif isinstance(node, ast.Import):
            modules.update(a.name for a in node.names)
    assert not {m for m in modules if m.split(".")[0] in ("store", "loaders", "ingest")}
    assert not {m for m in modules if ".store" in m or ".loaders" in m}


def test_a_20000_value_breakdown_types_and_frames_in_seconds():
    import time

    doc = json.loads((GOLDEN / "baseline.json").read_text(encoding="utf-8"))
    seg = doc["segments"]["department"][0]
    doc["segments"] = {"person": [dict(seg, value=f"p{i}") for i in range(20_000)]}
    t0 = time.perf_counter()
    m = Measurement.from_dict(doc)
    assert m.to_dict() == doc
    frame = m.to_frame()
    elapsed = time.perf_counter() - t0
    assert len(frame) == 3 * 20_001
    assert elapsed < 10, elapsed


def test_the_package_ingest_stays_the_function_after_the_pipeline_is_imported(tmp_path):
    # A submodule named like an API function replaces it on the package once imported
    # (``intranet_metrics.ingest`` did): a notebook's second ``im.ingest`` then failed.
    roster, events = make_org(seed=5, people=10, events=50)
    _, ep = write_org(roster, events, tmp_path / "org")
    store = im.open_store(tmp_path / "s", create=True)
    im.ingest(store, [ep])
    assert callable(im.ingest)
    assert im.ingest(store, [ep]).sources[0].status == "unchanged"
