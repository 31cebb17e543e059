"""A store Parquet file damaged inside, its size unchanged, is a damaged store when
measured (exit 5, pointing to repair), never an internal error (issue 11 item 5b)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli
from tests.synth import make_org, write_org

Q1 = ["--from", "2026-01-01", "--to", "2026-03-31"]


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("damage")
    roster, events = make_org(seed=7, people=40, events=800)
    rp, ep = write_org(roster, events, tmp / "org")
    return tmp, rp, ep


def _where(f: Path, part: str) -> int:
    """The offset of a structure every measurement reads, from the file's own metadata
    (where the bytes lie depends on the writer, so fixed offsets would test nothing)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(f).metadata
    if part == "footer":  # the Thrift FileMetaData: 8 bytes of length and magic end the file
        footer = int.from_bytes(f.read_bytes()[-8:-4], "little")
        return f.stat().st_size - 8 - footer
    column = {meta.schema.column(i).name: i for i in range(meta.num_columns)}[part]
    chunk = meta.row_group(0).column(column)
    return chunk.dictionary_page_offset or chunk.data_page_offset


# Bytes overwritten: the first page header of the time column, the first page header of the
# actor column (Thrift errors while reading), the footer's metadata (a Thrift error when
# planning the query).
@pytest.mark.parametrize("part", ["time", "actor", "footer"])
@pytest.mark.parametrize("command", [["baseline", *Q1], ["report", "--period", "month"]])
def test_damage_inside_a_data_file_exits_5_pointing_to_repair(org, part, command):
    tmp, rp, ep = org
    store = tmp / f"store{part}{command[0]}"
    assert CliRunner().invoke(cli, ["--store", str(store), "ingest", str(ep)]).exit_code == 0
    # A monthly report reads the derived activity files only (tiers and lifecycle), a
    # baseline also the messages files (the events its science figures read one by one).
    name = "*[0-9].parquet" if command[0] == "report" else "*.messages.parquet"
    f = sorted(store.rglob(f"activity/**/{name}"))[0]
    data = bytearray(f.read_bytes())
    at = _where(f, "day" if part == "time" and command[0] == "report" else part)
    data[at : at + 64] = b"\xff" * 64
    f.write_bytes(bytes(data))
    r = CliRunner().invoke(cli, ["--store", str(store), *command, "--roster", str(rp)])
    assert r.exit_code == 5, r.output
    assert "internal error" not in r.output
    assert "intranet-metrics repair" in r.output
