"""Issue 10.10: --help, --version and shell completion import none of the heavy libraries
(ibis, DuckDB, pandas, pyarrow, numpy); the commands that compute import them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("ibis", "duckdb", "pandas", "pyarrow", "numpy", "altair", "babel", "vl_convert")

# Runs the command in a fresh interpreter and prints which heavy modules it imported.
PROBE = """
import json, sys
from intranet_metrics.cli import main
args, wanted = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["intranet-metrics", *args]
try:
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & wanted)
print(json.dumps(heavy), file=sys.stderr)
"""


def _heavy_imported(args: list[str], env: dict[str, str] | None = None) -> list[str]:
    r = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return json.loads(r.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["ingest", "--help"],
        ["baseline", "--help"],
        ["compare", "--help"],
        ["report", "--help"],
        ["verify", "--help"],
        ["goals"],
        ["schema"],
    ],
)
def test_fast_commands_import_no_heavy_library(args):
    assert _heavy_imported(args) == []


def test_shell_completion_imports_no_heavy_library():
    env = {
        **os.environ,
        "_INTRANET_METRICS_COMPLETE": "bash_complete",
        "COMP_WORDS": "intranet-metrics bas",
        "COMP_CWORD": "1",
    }
    assert _heavy_imported([], env) == []


def test_the_probe_sees_heavy_imports(tmp_path):
    """The probe is not blind: a command that computes does import them."""
    (tmp_path / "e.csv").write_text("timestamp,user,activity\n2024-01-01T00:00:00Z,a@b.c,like\n")
    args = ["--store", str(tmp_path / "s"), "ingest", str(tmp_path / "e.csv")]
    assert set(_heavy_imported(args)) >= {"pyarrow", "duckdb"}


def _store_with_rejects(tmp_path) -> list[str]:
    """A store whose one ingest kept a row and rejected two."""
    csv = tmp_path / "e.csv"
    csv.write_text(
        "timestamp,user,activity\n2024-01-01T10:00:00Z,a@b.c,like\n"
        "2024-01-02T10:00:00Z,,like\n2024-01-03T10:00:00Z,,view\n"
    )
    store = ["--store", str(tmp_path / "s")]
    _heavy_imported([*store, "ingest", "--skip-bad", str(csv)])
    return store


@pytest.mark.parametrize("args", [["rejects"], ["rejects", "--format", "json"], ["sources"]])
def test_store_listings_import_neither_pandas_ibis_nor_duckdb(tmp_path, args):
    # Fails on 8e55815: Schema.empty_table and pq.read_table imported pandas (pyarrow's
    # pandas shim, 0.3 CPU-s), and the store module DuckDB, which only a write uses.
    store = _store_with_rejects(tmp_path)
    heavy = set(_heavy_imported([*store, *args]))
    assert heavy & {"pandas", "ibis", "duckdb"} == set()
    assert "pyarrow" in heavy  # the probe ran the command


def test_help_imports_neither_rich_nor_a_renderer():
    # Fails on 8e55815: cli imported rich and every renderer (HTML's charts among them).
    code = (
        "import sys; from intranet_metrics.cli import main; sys.argv = ['im', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich' or "
        "m.startswith('intranet_metrics.render.') and m != 'intranet_metrics.render.common'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_ints_is_pa_array_without_pandas() -> None:
    import pyarrow as pa

    from intranet_metrics import arrowutil as au

    for values in ([], [None], [1, None, -(2**63), 2**63 - 1], [5, 6]):
        assert au.ints(values).equals(pa.array(values, pa.int64()))


def test_an_ingest_with_rejected_rows_and_odd_times_imports_no_pandas(tmp_path) -> None:
    """The rejects table and the row-by-row time fallback were built with pa.array /
    Table.from_pydict, which import pandas (0.2-0.3 CPU-s an ingest)."""
    f = tmp_path / "e.csv"
    f.write_text(
        "timestamp,user,activity\n2025-01-02T10:00:00Z,a@x.nl,page_view\n"
        "not a time,b@x.nl,page_view\n2025-01-02 11:00,c@x.nl,like\n2025-01-02,,post\n"
    )
    args = ["--store", str(tmp_path / "s"), "ingest", str(f), "--quiet"]
    assert "pandas" not in _heavy_imported(args)
