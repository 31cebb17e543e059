"""Field tables (loaders/rules.py ``apply_fields``) against the record loop they replaced.

Writes an Engage network export and a Slack workspace export of a real organisation's size
(20,000 people), then loads each with this branch's loader and with the loader of main at
382c19e (its source read from git, imported beside the package), alternating, in one run,
and prints the CPU ratio (new / old). The stored events and accounting must be identical.

    cd benchmarks && python bench_field_rules.py --messages 1000000 --rounds 3
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import calibration

ROOT = Path(__file__).resolve().parent.parent
MAIN = "382c19e"
PEOPLE = 20_000
START = 1_704_067_200  # 2024-01-01 UTC


def write_engage(folder: Path, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    with open(folder / "Users.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "email"])
        for p in range(PEOPLE):
            w.writerow([1_500_000_000_000_000_000 + p, f"Person {p}", f"p{p}@contoso.example"])
    header = "id,replied_to_id,thread_id,group_id,group_name,sender_id,sender_type,"
    header += "sender_email,body,created_at,deleted_at,in_private_group"
    with open(folder / "Messages.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header.split(","))
        for i in range(n):
            mid = 2_000_000_000_000_000_000 + i
            reply = i > 10 and rng.random() < 0.6
            thread = mid - rng.randint(1, 10) if reply else mid
            sender = rng.randrange(PEOPLE)
            kind = "user" if rng.random() < 0.97 else rng.choice(["bot", "system"])
            email = f"p{sender}@contoso.example" if rng.random() < 0.5 else ""
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START + i * 20))
            sender_id = 1_500_000_000_000_000_000 + sender
            body = "Hello, this is message text\nover two lines"
            parent = thread if reply else ""
            row = [mid, parent, thread, 42, "All Company", sender_id, kind, email, body, when]
            w.writerow([*row, "", "false"])


def write_slack(folder: Path, n: int, seed: int = 2, per_day: int = 25) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    users = [
        {"id": f"U{p:06d}", "is_bot": p % 500 == 0, "profile": {"email": f"p{p}@contoso.example"}}
        for p in range(PEOPLE)
    ]
    (folder / "users.json").write_text(json.dumps(users))
    # Most day files of a real export hold a few messages: one file per channel per day.
    channels = max(1, n // per_day // 365)
    (folder / "channels.json").write_text(json.dumps([{"name": f"c{c}"} for c in range(channels)]))
    for file in range((n + per_day - 1) // per_day):
        channel = f"c{file % channels}"
        (folder / channel).mkdir(exist_ok=True)
        day = file // channels
        base = START + day * 86_400
        msgs = []
        for j in range(min(per_day, n - file * per_day)):
            ts = f"{base + j * 30}.{file % 1_000_000:06d}"
            msg: dict = {"type": "message", "user": f"U{rng.randrange(PEOPLE):06d}", "ts": ts}
            if j and rng.random() < 0.4:
                msg["thread_ts"] = msgs[rng.randrange(len(msgs))]["ts"]
            if rng.random() < 0.05:
                msg["subtype"] = rng.choice(["channel_join", "bot_message", "file_share"])
            if rng.random() < 0.2:
                who = [f"U{rng.randrange(PEOPLE):06d}" for _ in range(rng.randint(1, 3))]
                msg["reactions"] = [{"name": "+1", "users": who, "count": len(who)}]
            msgs.append(msg)
        date = time.strftime("%Y-%m-%d", time.gmtime(base))
        (folder / channel / f"{date}.json").write_text(json.dumps(msgs))


def module_at_main(name: str):
    """The loader ``name`` as main had it, imported as a sibling of this branch's loaders."""
    source = subprocess.run(
        ["git", "show", f"{MAIN}:intranet_metrics/loaders/{name}.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"intranet_metrics.loaders._main_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(module, path: Path) -> tuple[float, dict, list]:
    import pyarrow as pa

    from intranet_metrics.config import Config
    from intranet_metrics.loaders.base import EventBuilder, SourceInfo
    from intranet_metrics.pipeline import read_batches

    builder = EventBuilder(SourceInfo(str(path), "0" * 64, module.NAME), Config())
    cpu = time.process_time()
    # The production driver (the ingest's and read_source's): GC paused, last batch flushed.
    batches = list(read_batches(module, path, builder))
    cpu = time.process_time() - cpu
    table = pa.Table.from_batches(batches)
    names = ("event_key", "activity", "excluded", "actor", "parent", "source_file", "source_line")
    keys = sorted(zip(*(table.column(c).to_pylist() for c in names), strict=True))
    return cpu, builder.counts.to_dict(), keys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from intranet_metrics.loaders import engage, slack

    print(f"calibration {calibration():.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        for name, new, write in (("engage", engage, write_engage), ("slack", slack, write_slack)):
            path = Path(tmp) / name
            write(path, args.messages)
            old = module_at_main(name)
            times: dict[str, list[float]] = {"main": [], "branch": []}
            for _ in range(args.rounds):
                cpu_old, counts_old, keys_old = run(old, path)
                cpu_new, counts_new, keys_new = run(new, path)
                assert counts_old == counts_new, (counts_old, counts_new)
                assert keys_old == keys_new
                times["main"].append(cpu_old)
                times["branch"].append(cpu_new)
            a, b = statistics.median(times["main"]), statistics.median(times["branch"])
            print(
                f"{name}: {counts_new['rows']:,} records ({counts_new['events']:,} events): "
                f"main {a:.2f} CPU-s, branch {b:.2f} CPU-s, ratio {b / a:.2f}x "
                f"(same events, keys and accounting)"
            )


if __name__ == "__main__":
    main()
