"""Time the real pipeline: generic CSV -> store -> measurement, at a realistic size.

    python benchmarks/bench_measure.py --events 1000000 --people 20000

Bounded memory (issue 12): the same baseline on a store built directly in the store's layout
(bench_ingest.build_store: ingest is not what is measured), once with DuckDB unbounded (as
before issue 12) and once with the default memory_limit, each in a fresh process, in one run:

    python benchmarks/bench_measure.py --memory --events 10000000 --people 20000

Prints seconds and peak memory for ingest, a measurement, a measurement by department,
and a monthly trend. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intranet_metrics import api

ACTS = ["page_view"] * 12 + ["file_view"] * 4 + ["like"] * 3 + ["comment", "reply", "post"]
DEPTS = [f"Dept{i:02d}" for i in range(25)]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, events: int, people: int, seed: int = 1) -> tuple[Path, Path]:
    rng = random.Random(seed)
    roster = folder / "roster.csv"
    with open(roster, "w") as fh:
        fh.write("user_id,email,aliases,start_date,end_date,department\n")
        for i in range(people):
            start = "2026-03-01" if i % 20 == 0 else ""
            end = "2026-02-15" if i % 20 == 1 else ""
            fh.write(f"E{i},p{i}@corp.example,CORP\\p{i},{start},{end},{rng.choice(DEPTS)}\n")
    ev = folder / "events.csv"
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    span = 180 * 86400
    with open(ev, "w") as fh:
        fh.write("timestamp,user,activity,item\n")
        for _ in range(events):
            # Skewed activity: a few people do most of it, as on real intranets.
            who = int(people * rng.random() ** 2.5)
            t = t0 + timedelta(seconds=rng.randrange(span))
            user = f"p{who}@corp.example" if who % 3 else f"CORP\\p{who}"
            fh.write(f"{t:%Y-%m-%dT%H:%M:%SZ},{user},{rng.choice(ACTS)},/n/{rng.randrange(500)}\n")
    return roster, ev


def timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    print(f"{label:<34} {time.perf_counter() - t:7.2f} s   peak RSS {peak_mb():7.0f} MB")
    return out


_CHILD = """
import json, resource, sys, time
from intranet_metrics import api
from intranet_metrics.config import Config
store, roster, limit = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.perf_counter()
m = api.measure(api.open_store(store), "2024-01-01", "2024-12-31", roster=roster,
                by=["department"], config=Config(memory_limit=limit))
doc = m.to_dict()
print(json.dumps({"wall": time.perf_counter() - t,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "metrics": doc["metrics"], "segments": doc.get("segments")}))
"""


def memory(events: int, people: int, limit: str = "512MB") -> None:
    """Peak RSS of a year's baseline by department, unbounded vs the default 512MB limit."""
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_ingest import build_store
    from bench_ingest import people as names

    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "store"
        t = time.perf_counter()
        build_store(root, events, 12, people)
        print(f"built {events:,} events in the store's layout in {time.perf_counter() - t:.0f} s")
        roster = Path(d) / "roster.csv"
        with open(roster, "w") as fh:
            fh.write("user_id,email,department\n")
            for i, n in enumerate(names(people)):
                fh.write(f"E{i},{n},{DEPTS[i % len(DEPTS)]}\n")
        out = {}
        for label, lim in (("unbounded (before)", "1000GB"), (f"memory_limit {limit}", limit)):
            run = subprocess.run(
                [sys.executable, "-c", _CHILD, str(root), str(roster), lim],
                capture_output=True,
                text=True,
            )
            if run.returncode:
                sys.exit(run.stderr)
            out[label] = json.loads(run.stdout.splitlines()[-1])
            r = out[label]
            print(f"{label:<20} {r['wall']:6.1f} s   peak RSS {r['rss_mb']:6.0f} MB")
        a, b = out.values()
        same = (a["metrics"], a["segments"]) == (b["metrics"], b["segments"])
        print("identical numbers:", same)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--memory", action="store_true", help="unbounded vs --limit peak RSS")
    ap.add_argument("--limit", default="512MB", help="DuckDB memory_limit of --memory")
    args = ap.parse_args()
    if args.memory:
        memory(args.events, args.people, args.limit)
        return
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        roster, ev = timed(
            f"generate {args.events:,} events", lambda: generate(folder, args.events, args.people)
        )
        store = api.open_store(folder / "store", create=True)
        timed("ingest (generic CSV)", lambda: api.ingest(store, [ev]))
        timed("ingest again (unchanged file)", lambda: api.ingest(store, [ev]))
        m = timed(
            "measure one quarter",
            lambda: api.measure(store, "2026-01-01", "2026-03-31", roster=roster),
        )
        timed(
            "measure quarter by department",
            lambda: api.measure(
                store, "2026-01-01", "2026-03-31", roster=roster, by=["department"]
            ),
        )
        timed(
            "monthly trend, 6 months",
            lambda: api.trend(store, "month", "2026-01-01", "2026-06-30", roster=roster),
        )
        print(
            "population",
            m["population"]["size"],
            {t: round(v["rate"], 4) for t, v in m["metrics"].items()},
        )


if __name__ == "__main__":
    main()
