"""The CLI parts of issue 10 at a real organisation's size: 20,000 people and 1.2 million
events through ingest, baseline, compare and a monthly trend, with every output written
by extension, warnings and "no data" in the files, labels shown as written, and verify."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner, Result

from intranet_metrics.cli import cli

PEOPLE = 20_000
EVENTS_PER_QUARTER = 600_000
DEPTS = np.array(["Finance [old]", "Finance [new]", "[bold]Sales", "IT", "HR", "Ops"])
ACTIVITIES = np.array(["page_view", "page_view", "page_view", "like", "comment", "post"])


def _write(tmp: Path) -> None:
    rng = np.random.default_rng(10)
    ids = np.char.add("p", np.arange(PEOPLE).astype(str))
    dept = DEPTS[rng.integers(0, len(DEPTS), PEOPLE)]
    roster = pa.table(
        {"user_id": ids, "email": np.char.add(ids, "@org.example"), "department": dept}
    )
    pacsv.write_csv(roster, tmp / "roster.csv")
    for name, month0 in (("q1.csv", 1), ("q3.csv", 7)):
        # Events in three months: January-March or July-September; April-June stay empty.
        start = np.datetime64(f"2026-{month0:02d}-01T00:00:00")
        secs = rng.integers(0, 90 * 86400, EVENTS_PER_QUARTER).astype("timedelta64[s]")
        # 15,000 active people, each always doing the same kind of thing: the same tiers in
        # both quarters (few tier changes keep this test off the paired test's own limits).
        who = rng.integers(0, 15_000, EVENTS_PER_QUARTER)
        events = pa.table(
            {
                "timestamp": np.char.add(np.datetime_as_string(start + secs), "Z"),
                "user": np.char.add(ids[who], "@org.example"),
                "activity": ACTIVITIES[who % len(ACTIVITIES)],
                "item": np.char.add("/p/", rng.integers(0, 500, EVENTS_PER_QUARTER).astype(str)),
            }
        )
        pacsv.write_csv(events, tmp / "exports" / name)


def run(tmp: Path, *args: str) -> Result:
    r = CliRunner().invoke(
        cli, ["--store", str(tmp / "store"), *args], env={"INTRANET_METRICS_KEY": ""}
    )
    assert r.exit_code == 0 and "internal error" not in r.output, r.output
    return r


@pytest.mark.slow
def test_twenty_thousand_people_and_a_million_events(tmp_path):
    (tmp_path / "exports").mkdir()
    _write(tmp_path)
    roster = ("--roster", str(tmp_path / "roster.csv"))
    out = tmp_path / "out"
    t0 = time.perf_counter()
    run(tmp_path, "ingest", str(tmp_path / "exports"))
    t_ingest = time.perf_counter() - t0
    run(tmp_path, "baseline", "--from", "2026-01-01", "--to", "2026-03-31", *roster,
        "--output", str(out / "baseline.json"))  # fmt: skip
    q3 = ("--from", "2026-07-01", "--to", "2026-09-30", *roster, "--by", "department")
    run(tmp_path, "compare", "--baseline", str(out / "baseline.json"), *q3,
        "--output", str(out / "compare.md"))  # fmt: skip
    trend = ("report", "--period", "month", "--from", "2026-01-01", "--to", "2026-09-30")
    run(tmp_path, *trend, *roster, "--output", str(out / "trend.csv"))
    run(tmp_path, *trend, *roster, "--output", str(out / "trend.json"))
    verify = run(tmp_path, "verify", str(out / "trend.json"))
    elapsed = time.perf_counter() - t0

    md = (out / "compare.md").read_text(encoding="utf-8")
    assert "> **Warning:** the baseline has no breakdown by department" in md
    assert all(f"| {d} |" in md for d in DEPTS)  # shown as written
    rows = list(
        csv.DictReader(x for x in (out / "trend.csv").read_text().splitlines() if x[:1] != "#")
    )
    assert [r["period"] for r in rows if r["note"] == "no data"] == [
        "2026-04",
        "2026-05",
        "2026-06",
    ]
    trend_json = json.loads((out / "trend.json").read_text())
    assert sum(i["events"] for i in trend_json["inputs"]) == 2 * EVENTS_PER_QUARTER
    assert verify.stdout.count("unchanged") == 2
    print(f"ingest {t_ingest:.1f} s, all commands {elapsed:.1f} s")
    assert elapsed < 120, elapsed
