"""Time the m365-audit loader on generated audit logs (JSON Lines and the portal CSV).

    python benchmarks/bench_audit.py [--sizes 100000 500000] [--repeat 3] [--keep DIR]
    python benchmarks/bench_audit.py --sizes 1000000 --formats jsonl --repeat 5

Batches are dropped as they come (the store is not part of this timing), so the figures
are the loader's own: parse, classify, build Arrow batches. Peak RSS is the process's
high-water mark, measured in a fresh child process per run so runs do not mask each other.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from machine import calibration

BASE = datetime(2025, 3, 1)
SITE = "https://contoso.sharepoint.com/sites/intranet"
# (share, workload, operation, record type): roughly what a real tenant's log holds.
MIX = [
    (30, "SharePoint", "PageViewed", 4),
    (10, "SharePoint", "FileAccessed", 6),
    (5, "SharePoint", "FileModified", 6),
    (2, "SharePoint", "FileUploaded", 6),
    (1, "SharePoint", "ListItemCreated", 36),
    (1, "SharePoint", "CommentCreated", 37),
    (15, "OneDrive", "FileAccessed", 6),
    (15, "Exchange", "MailItemsAccessed", 50),
    (10, "AzureActiveDirectory", "UserLoggedIn", 15),
    (5, "MicrosoftTeams", "MessageSent", 25),
    (4, "Yammer", "MessageViewed", 22),
    (2, "Yammer", "MessageCreated", 22),
]
WEIGHTS = [m[0] for m in MIX]


def record(rng: random.Random, i: int) -> dict:
    _, workload, op, rt = rng.choices(MIX, WEIGHTS)[0]
    user = f"user{rng.randrange(5000)}@contoso.com"
    obj = {
        "CreationTime": (BASE + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": str(uuid.UUID(int=rng.getrandbits(128))),
        "Operation": op,
        "OrganizationId": "70e7f470-ed25-47f5-aa2f-096f0f44c831",
        "RecordType": rt,
        "UserKey": "i:0h.f|membership|1003bffd8a7b1c2e@live.com",
        "UserType": 0 if rng.random() > 0.03 else 5,
        "Version": 1,
        "Workload": workload,
        "ClientIP": "203.0.113.7",
        "ObjectId": f"{SITE}/SitePages/Page{rng.randrange(300)}.aspx",
        "UserId": user if rng.random() > 0.01 else "app@sharepoint",
        "UserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Edg/122.0",
        "SiteUrl": f"{SITE}/",
        "ItemType": "Page",
    }
    if workload == "Yammer":
        obj["MessageId"] = rng.randrange(10**18)
        obj["ThreadId"] = obj["MessageId"] if rng.random() < 0.4 else rng.randrange(10**18)
    return obj


def write_jsonl(path: Path, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(record(rng, i), separators=(",", ":")) + "\n")


def write_portal_csv(path: Path, n: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(["CreationDate", "UserIds", "Operations", "AuditData"])
        for i in range(n):
            r = record(rng, i)
            created = datetime.fromisoformat(r["CreationTime"]).strftime("%m/%d/%Y %I:%M:%S %p")
            w.writerow([created, r["UserId"], r["Operation"], json.dumps(r)])


def run_one(path: Path) -> dict:
    """Load one file, dropping batches; runs in a child process (see main)."""
    import pyarrow as pa

    from intranet_metrics.config import Config
    from intranet_metrics.loaders import m365_audit
    from intranet_metrics.loaders.base import EventBuilder, SourceInfo
    from intranet_metrics.pipeline import read_batches

    builder = EventBuilder(SourceInfo(str(path), "0" * 64, m365_audit.NAME), Config())
    # pyarrow's first conversion of Python values imports pandas (about 0.5 s, once per
    # process, whatever the file size): pay it before the clock starts, as a running
    # ingest has by its second batch. The loader's own rate is what is measured.
    warm_up = time.perf_counter()
    pa.array([2**40], type=pa.int64())
    warm_up = time.perf_counter() - warm_up
    start, cpu = time.perf_counter(), time.process_time()
    for _batch in read_batches(m365_audit, path, builder):
        pass
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    c = builder.counts
    # ru_maxrss is in KiB on Linux.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": c.rows,
        "events": c.events,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "start_up_s": round(warm_up, 2),
        "peak_rss_mib": rss,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 500_000])
    ap.add_argument("--formats", nargs="+", choices=["jsonl", "csv"], default=["jsonl", "csv"])
    ap.add_argument("--repeat", type=int, default=1, help="runs per file (default 1)")
    ap.add_argument("--keep", type=Path, help="write the generated files here and keep them")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child)))
        return
    writers = {"jsonl": write_jsonl, "csv": write_portal_csv}
    print(f"calibration loop: {calibration():.2f} s (lower is a faster machine)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cols = (
            f"{'records':>10}{'MB':>8}{'seconds':>9}{'records/s':>12}{'per CPU s':>11}"
            f"{'peak RSS':>10}"
        )
        print(f"{'file':<26}{cols}")
        for n in args.sizes:
            for kind in args.formats:
                path = folder / f"audit-{n}.{kind}"
                if not path.exists():
                    writers[kind](path, n)
                rates = []
                for _ in range(args.repeat):
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", str(path)],
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    r = json.loads(out.stdout)
                    mb = path.stat().st_size / 1e6
                    rates.append(r["rows"] / r["seconds"])
                    print(
                        f"{path.name:<26}{r['rows']:>10}{mb:>8.0f}{r['seconds']:>9.2f}"
                        f"{rates[-1]:>12,.0f}{r['rows'] / r['cpu_seconds']:>11,.0f}"
                        f"{r['peak_rss_mib']:>8.0f}MiB",
                        flush=True,
                    )
                if args.repeat > 1:
                    print(f"{'':<26}median {statistics.median(rates):,.0f} records/s")


if __name__ == "__main__":
    main()
