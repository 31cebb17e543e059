"""Generic ingest against the streaming pyarrow floor, and a 1 M append to a 100 M store.

Generates N generic events (CSV and JSON Lines) for an organisation of ``--people``
(a roster CSV is written beside them), then runs, each in its own child process so that
each CPU and peak-RSS figure is that run's own (``os.wait4``):

- floor, CSV: ``pyarrow.csv.open_csv`` batches -> ``pq.ParquetWriter``;
- floor, JSON Lines: blocks of whole lines -> ``pyarrow.json.read_json`` -> ``ParquetWriter``
  (pyarrow has no streaming JSON reader: this is its closest streaming equivalent);
- ``intranet-metrics ingest`` of the same file into a fresh store.

It prints ingest / floor as ratios of wall and CPU time (same run, back to back) and both
peak RSS figures. ``--append`` builds a 100 M-event store directly in the store's layout
(monthly Parquet files + manifest, as ingest would leave them: building it through ingest
would take an hour) and measures appending 1 M new events to it.

    python benchmarks/bench_ingest.py --sizes 1000000 10000000
    python benchmarks/bench_ingest.py --sizes 100000 --formats csv      # quick
    python benchmarks/bench_ingest.py --sizes --append 100000000        # the append only

``--against DIR`` also ingests each file with the package of another checkout (a folder
holding ``intranet_metrics/``, e.g. ``git archive 382c19e intranet_metrics | tar -x -C DIR``),
right after this one, and prints this checkout's CPU as a ratio of that one's: a change's
effect measured in one run, on the same file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from machine import bytecode, calibration

ACTIVITIES = np.array(["page_view", "page_view", "page_view", "file_view", "like", "comment"])
START = np.datetime64("2026-01-01T00:00:00", "s")


def people(n: int) -> np.ndarray:
    return np.char.add(np.char.add("user", np.arange(n).astype(str)), "@contoso.com")


def generate(folder: Path, n: int, n_people: int, fmt: str, seed: int = 1) -> Path:
    """n events over January 2026 (month 1) as CSV or JSON Lines, written in chunks."""
    rng = np.random.default_rng(seed)
    users = people(n_people)
    path = folder / f"events-{n}.{fmt}"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            fh.write("timestamp,user,activity,item\n")
        for lo in range(0, n, 500_000):
            k = min(500_000, n - lo)
            secs = START + rng.integers(0, 31 * 86400, k).astype("timedelta64[s]")
            ts = np.char.add(np.datetime_as_string(secs), "Z")
            who = users[rng.integers(0, n_people, k)]
            act = ACTIVITIES[rng.integers(0, len(ACTIVITIES), k)]
            item = np.char.add("/sites/intranet/page-", rng.integers(0, 5000, k).astype(str))
            if fmt == "csv":
                rows = [f"{a},{b},{c},{d}\n" for a, b, c, d in zip(ts, who, act, item, strict=True)]
            else:
                rows = [
                    f'{{"timestamp": "{a}", "user": "{b}", "activity": "{c}", "item": "{d}"}}\n'
                    for a, b, c, d in zip(ts, who, act, item, strict=True)
                ]
            fh.write("".join(rows))
    return path


def write_roster(folder: Path, n_people: int) -> Path:
    path = folder / "roster.csv"
    pacsv.write_csv(pa.table({"email": people(n_people)}), path)
    return path


FLOOR_CSV = """
import sys, pyarrow.csv as c, pyarrow.parquet as pq
r = c.open_csv(sys.argv[1])
with pq.ParquetWriter(sys.argv[2], r.schema) as w:
    for b in r:
        w.write_batch(b)
"""
FLOOR_JSON = """
import io, sys, pyarrow.json as j, pyarrow.parquet as pq
w = None
with open(sys.argv[1], "rb") as fh:
    tail = b""
    while True:
        chunk = fh.read(1 << 22)
        data = tail + chunk
        cut = data.rfind(b"\\n") + 1 if chunk else len(data)
        block, tail = data[:cut], data[cut:]
        if block:
            t = j.read_json(io.BytesIO(block), read_options=j.ReadOptions(use_threads=False))
            w = w or pq.ParquetWriter(sys.argv[2], t.schema)
            w.write_table(t)
        if not chunk:
            break
w.close()
"""


# Each measured child reports its own peak RSS from /proc (VmHWM, which execve resets):
# ru_maxrss of a child also counts the parent's pages it held between fork and exec.
WRAP = """
import atexit, runpy, sys
out, mode, target, *rest = sys.argv[1:]
def hwm():
    with open("/proc/self/status") as fh:
        kb = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM"))
    with open(out, "w") as fh:
        fh.write(str(kb))
atexit.register(hwm)
sys.argv = [target, *rest]
if mode == "module":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    exec(compile(target, "floor", "exec"), {"__name__": "__main__"})
"""


def run(mode: str, target: str, args: list[str], path: Path | None = None) -> dict[str, float]:
    """Wall, CPU (user+sys) and peak RSS of one child process running ``target`` (a module
    with ``mode`` "module", else Python source) with ``args`` (and ``path`` first on its
    import path)."""
    with tempfile.NamedTemporaryFile(suffix=".hwm", delete=False) as fh:
        hwm = Path(fh.name)
    cmd = [sys.executable, "-c", WRAP, str(hwm), mode, target, *args]
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(path)) if path is not None else None
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=path or None
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = 0
    if status:
        raise SystemExit(f"{target[:40]} {args} failed: {err[-2000:]}")
    rss = int(hwm.read_text()) / 1024
    hwm.unlink()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": rss}


def ingest(store: Path, path: Path, against: Path | None = None) -> dict[str, float]:
    args = ["--store", str(store.resolve()), "ingest", str(path.resolve())]
    return run("module", "intranet_metrics", args, against)


def compare(folder: Path, n: int, fmt: str, n_people: int, against: Path | None = None) -> dict:
    path = generate(folder, n, n_people, fmt)
    code = FLOOR_CSV if fmt == "csv" else FLOOR_JSON
    floor = run("code", code, [str(path), str(folder / "floor.parquet")])
    ours = ingest(folder / f"store-{fmt}-{n}", path)
    if against is not None:
        ref = ingest(folder / f"store-ref-{fmt}-{n}", path, against)
        ours["vs_against"] = ours["cpu"] / ref["cpu"]
    out = {
        "format": fmt,
        "events": n,
        "bytes": path.stat().st_size,
        "floor": floor,
        "ingest": ours,
        "wall_ratio": ours["wall"] / floor["wall"],
        "cpu_ratio": ours["cpu"] / floor["cpu"],
        "ingest_cpu_us_per_event": ours["cpu"] / n * 1e6,
    }
    path.unlink()
    return out


def build_store(root: Path, n: int, months: int, n_people: int, per_file: int = 1_000_000):
    """A store of n events in its own layout: ``months`` months (2024-01 on), files of
    ``per_file`` rows, distinct keys, and a manifest listing them under one source."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from layout import write_store

    from intranet_metrics.schema import EVENT_SCHEMA

    rng = np.random.default_rng(7)
    users = pa.array(people(n_people))
    base = pa.array([f"{i:024x}" for i in range(per_file)])
    sha = "b" * 64
    per_month = n // months

    def parts():
        for f in range(n // per_file):
            month = min(f * per_file // per_month, months - 1)
            y, m = 2024 + month // 12, month % 12 + 1
            lo = np.datetime64(f"{y}-{m:02d}-01T00:00:00", "us").astype(np.int64)
            t = lo + rng.integers(0, 27 * 86400 * 10**6, per_file)
            cols = {
                "time": pa.array(t, pa.int64()).cast(EVENT_SCHEMA.field("time").type),
                "actor": users.take(rng.integers(0, n_people, per_file)),
                "activity": pa.array(ACTIVITIES[rng.integers(0, len(ACTIVITIES), per_file)]),
                "count": pa.array(np.ones(per_file, np.int64)),
                "source_format": pa.array(["generic"] * per_file),
                "source_sha256": pa.array([sha] * per_file),
                "source_file": pa.array(["built.csv"] * per_file),
                "source_line": pa.array(np.arange(per_file, dtype=np.int64)),
                "event_key": pc.binary_join_element_wise(f"{f:08x}", base, ""),
            }
            table = pa.table(
                [cols.get(fl.name, pa.nulls(per_file, fl.type)) for fl in EVENT_SCHEMA],
                schema=EVENT_SCHEMA,
            )
            yield f"{y}-{m:02d}", table

    write_store(
        root,
        parts(),
        {
            "path": "built",
            "sha256": sha,
            "format": "generic",
            "rows": n,
            "events": n,
            "new_events": n,
            "min_time": "2024-01-01T00:00:00+00:00",
            "max_time": "2026-12-31T00:00:00+00:00",
            "key_version": 3,  # as this version keys generic sources
        },
        derive=False,
    )


def append(folder: Path, n: int, n_people: int, months: int) -> dict:
    root = folder / "store-100m"
    t0 = time.perf_counter()
    build_store(root, n, months, n_people)
    built = time.perf_counter() - t0
    # 1 M new events in the store's busiest months: January 2024 and its neighbours.
    path = generate(folder, 1_000_000, n_people, "csv", seed=3)
    text = path.read_text().replace("2026-01-", "2024-01-")
    path.write_text(text)
    ours = ingest(root, path)
    return {"store_events": n, "months": months, "built_s": built, "append": ours}


def loaders(
    folder: Path, iis_lines: int, audit_records: int, against: Path | None = None
) -> list[str]:
    """The loader goals through the whole ``ingest`` (parse, classify, dedupe, commit): IIS
    lines and audit JSON Lines records per second of wall and of CPU time (and the CPU as
    a ratio of the ``against`` checkout's on the same file, right after)."""
    from bench_audit import write_jsonl
    from bench_web_logs import write_iis

    out = []
    for name, n, write, goal in (
        ("iis-w3c", iis_lines, write_iis, 500_000),
        ("m365-audit jsonl", audit_records, write_jsonl, 100_000),
    ):
        if not n:
            continue
        path = folder / f"{name.split()[0]}-{n}.{'log' if name == 'iis-w3c' else 'jsonl'}"
        write(path, n)
        r = ingest(folder / f"store-{name.split()[0]}", path)
        vs = ""
        if against is not None:
            ref = ingest(folder / f"store-ref-{name.split()[0]}", path, against)
            vs = f" | cpu {r['cpu'] / ref['cpu']:.2f}x of {against} ({n / ref['cpu']:,.0f}/s)"
        out.append(
            f"{name:16} {n:>11,} records through ingest: wall {r['wall']:6.1f} s "
            f"({n / r['wall']:>9,.0f}/s) cpu {r['cpu']:6.1f} s ({n / r['cpu']:>9,.0f}/s) "
            f"rss {r['rss_mb']:5.0f} MB | goal {goal:,}/s{vs}"
        )
        path.unlink()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--formats", nargs="+", default=["csv", "jsonl"])
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--append", type=int, default=0, help="store size for the append run")
    ap.add_argument("--months", type=int, default=20)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--iis", type=int, default=0, help="IIS lines through ingest")
    ap.add_argument("--audit", type=int, default=0, help="audit JSON Lines records")
    ap.add_argument("--against", type=Path, default=None, help="a checkout to compare with")
    args = ap.parse_args()
    bytecode(args.against)
    print(f"calibration {calibration():.2f} s (pure-Python loop; lower is faster)")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        write_roster(folder, args.people)
        for n in args.sizes:
            for fmt in args.formats:
                r = compare(folder, n, fmt, args.people, args.against)
                print(
                    f"{fmt:5} {n:>11,} events {r['bytes'] / 1e6:7.0f} MB | floor wall "
                    f"{r['floor']['wall']:6.1f} s cpu {r['floor']['cpu']:6.1f} s rss "
                    f"{r['floor']['rss_mb']:5.0f} MB | ingest wall {r['ingest']['wall']:6.1f} s "
                    f"cpu {r['ingest']['cpu']:6.1f} s rss {r['ingest']['rss_mb']:5.0f} MB | "
                    f"ratio wall {r['wall_ratio']:.2f}x cpu {r['cpu_ratio']:.2f}x | "
                    f"{r['ingest_cpu_us_per_event']:.2f} CPU-us/event"
                    + (
                        f" | cpu {r['ingest']['vs_against']:.2f}x of {args.against}"
                        if args.against
                        else ""
                    ),
                    flush=True,
                )
        for line in loaders(folder, args.iis, args.audit, args.against):
            print(line, flush=True)
        if args.append:
            r = append(folder, args.append, args.people, args.months)
            a = r["append"]
            print(
                f"append 1,000,000 events to a {r['store_events']:,}-event store "
                f"({r['months']} months, built in {r['built_s']:.0f} s): wall {a['wall']:.1f} s "
                f"cpu {a['cpu']:.1f} s peak RSS {a['rss_mb']:.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
