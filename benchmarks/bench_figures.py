"""The science figures at scale (issue 12): main's code beside this tree's, derived and raw,
on one store in one run, each command in a fresh process (its own peak RSS).

    python benchmarks/bench_figures.py --events 10000000 --people 20000 --main /tmp/main

``--main``: a folder holding another version's ``intranet_metrics`` package (e.g.
``git archive 4a1f0b9 intranet_metrics | tar -x -C /tmp/main``), run on the same store.
The store is built directly in the store's layout (bench_ingest.build_store, 12 months of
2024) and its derived files by Store.rebuild_activity. Prints seconds, peak RSS and the
ratios, and whether every variant printed the same JSON. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEPTS = [f"Dept{i:02d}" for i in range(25)]

_CHILD = """
import json, resource, sys, time
from intranet_metrics import api
from intranet_metrics.config import Config
store_path, roster, what, derived = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
store = api.open_store(store_path)
store.read_activity = derived
cfg = Config()
t = time.perf_counter()
if what == "baseline":
    docs = [api.measure(store, "2024-01-01", "2024-03-31", config=cfg, roster=roster,
                        by=["department"]).to_dict()]
elif what == "compare":
    b = api.baseline(store, "2024-01-01", "2024-03-31", config=cfg, roster=roster)
    c = api.compare_to(store, b, "2024-04-01", "2024-06-30", config=cfg, roster=roster)
    docs = [b.to_dict(), c.to_dict()]
else:
    docs = [api.trend(store, "month", "2024-01-01", "2024-12-31", config=cfg,
                      roster=roster).to_dict()]
wall = time.perf_counter() - t
def clean(d):
    if isinstance(d, dict):
        return {k: clean(v) for k, v in d.items()
                if k not in ("generated_at", "measurement_id", "baseline_id")}
    if isinstance(d, list):
        return [clean(v) for v in d]
    return d
print(json.dumps({"wall": wall,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "docs": clean(json.loads(json.dumps(docs, default=str)))}))
"""


def run(code: Path, store: Path, roster: Path, what: str, derived: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(store), str(roster), what, "1" if derived else "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--main", type=Path, help="another version's code (the reference)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_ingest import people

    with tempfile.TemporaryDirectory() as d:
        store = Path(d) / "store"
        t = time.perf_counter()
        # In a child: a child forked from a big parent reports the parent's peak RSS.
        build = (
            f"import sys; sys.path[:0] = [{str(HERE)!r}, {str(ROOT)!r}]\n"
            "from bench_ingest import build_store\n"
            "from intranet_metrics.store import Store\n"
            f"build_store(__import__('pathlib').Path({str(store)!r}), {args.events}, 12, "
            f"{args.people})\n"
            f"Store.open({str(store)!r}).rebuild_activity(tz='UTC')\n"
        )
        subprocess.run([sys.executable, "-c", build], check=True)
        print(f"built {args.events:,} events and derived files in {time.perf_counter() - t:.0f} s")
        roster = Path(d) / "roster.csv"
        with open(roster, "w") as fh:
            fh.write("user_id,email,department\n")
            for i, n in enumerate(people(args.people)):
                fh.write(f"E{i},{n},{DEPTS[i % len(DEPTS)]}\n")
        variants = [("this, derived", ROOT, True), ("this, raw", ROOT, False)]
        if args.main:
            variants.insert(0, ("main, derived", args.main, True))
        for what in ("baseline", "compare", "trend"):
            res = {
                label: run(code, store, roster, what, derived) for label, code, derived in variants
            }
            same = len({json.dumps(r["docs"], sort_keys=True) for r in res.values()}) == 1
            ours = res["this, derived"]["wall"]
            line = "  ".join(
                f"{k}: {r['wall']:.2f} s {r['rss_mb']:.0f} MB ({r['wall'] / ours:.2f}x)"
                for k, r in res.items()
            )
            print(f"{what:<9} {line}  identical JSON: {same}")


if __name__ == "__main__":
    main()
