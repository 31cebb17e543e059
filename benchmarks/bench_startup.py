"""Start-up cost of the commands (issue 12): this checkout's CPU against another's, same run.

Each command runs in its own child (``python -m intranet_metrics``; CPU = user + sys from
``os.wait4``), this checkout and the ``--against`` one alternately, ``--runs`` times each;
the best (lowest) CPU of each is compared. The commands read the shipped sample
(``sample_logs/``): ``--help``; an ingest of a 10-line CSV into a fresh store, and of a
3-line one with two rejected rows; ``rejects``, ``sources`` and ``identities`` over a store
of the sample's exports; ``baseline ... --by department`` with the exports (table and
``--format json``) and without (the measurement alone). stdout must be equal (JSON without
the run's stamps: times, commit and measurement ids), or the script says which differs.

    git archive 8e55815 intranet_metrics | tar -x -C /tmp/ref
    python benchmarks/bench_startup.py --against /tmp/ref --runs 5

Bytecode caches are written and used (PYTHONDONTWRITEBYTECODE is dropped for the children),
as in an installed package: without them every run also compiles the package's modules.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import calibration

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_logs"
WINDOW = ["--from", "2026-01-01", "--to", "2026-03-31"]
HEAVY = ("pandas", "ibis", "duckdb", "pyarrow", "numpy", "rich")


def commands(work: Path, small: Path, bad: Path) -> dict[str, tuple[list[str], Path | None]]:
    """name -> (arguments, a store to remove before each run or None)."""
    store, fresh = ["--store", str(work / "store")], work / "fresh"
    roster = ["--roster", str(SAMPLE / "roster.csv")]
    measure = ["baseline", *roster, *WINDOW, "--by", "department"]
    exports = str(SAMPLE / "exports")
    return {
        "help": (["--help"], None),
        "ingest 10 lines": (["--store", str(fresh), "ingest", str(small)], fresh),
        "ingest, 2 rejected": (["--store", str(fresh), "ingest", "--skip-bad", str(bad)], fresh),
        "rejects": ([*store, "rejects"], None),
        "sources": ([*store, "sources", "--format", "json"], None),
        "identities": ([*store, "identities", *roster, *WINDOW], None),
        "baseline PATH": ([*store, measure[0], exports, *measure[1:]], None),
        "baseline PATH json": (
            [*store, measure[0], exports, *measure[1:], "--format", "json"],
            None,
        ),
        "baseline (measure)": ([*store, *measure], None),
    }


def run(package: Path, args: list[str], cwd: Path, clean: Path | None) -> tuple[float, bytes]:
    """CPU seconds of one command with ``package`` first on the path, and its stdout."""
    if clean is not None:
        shutil.rmtree(clean, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(package), "COLUMNS": "120"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "intranet_metrics", *args],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        _, _, usage = os.wait4(child.pid, 0)
        out.seek(0)
        return usage.ru_utime + usage.ru_stime, out.read()


def heavy_imports(package: Path, args: list[str], cwd: Path, clean: Path | None) -> list[str]:
    """The heavy libraries a command imports (run once more, in a probe)."""
    if clean is not None:
        shutil.rmtree(clean, ignore_errors=True)
    probe = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted({m.split('.')[0] for m in "
        f"sys.modules}} & set({list(HEAVY)!r}))), file=sys.stderr))\n"
        f"sys.argv = ['intranet-metrics', *{args!r}]\n"
        "from intranet_metrics.cli import main\nmain()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(package)}
    r = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=cwd
    )
    return json.loads(r.stderr.strip().splitlines()[-1])


# What differs between two runs of the same command: when, and the run's own ids.
STAMPS = ("generated_at", "measurement_id", "ingested_at", "commit")


def comparable(stdout: bytes) -> object:
    """stdout without the run's stamps (JSON), else as it is."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return stdout
    for d in [doc, *(doc.get("sources", []) if isinstance(doc, dict) else [])]:
        for key in STAMPS:
            d.pop(key, None)
    return doc


def prepare(package: Path, work: Path, bad: Path) -> None:
    """A store of the sample's exports with two rejected rows."""
    env = {**os.environ, "PYTHONPATH": str(package)}
    store = ["--store", str(work / "store")]
    for args in (
        ["ingest", str(SAMPLE / "exports")],
        ["ingest", "--skip-bad", str(bad)],
    ):
        subprocess.run(
            [sys.executable, "-m", "intranet_metrics", *store, *args],
            capture_output=True,
            env=env,
            cwd=work,
            check=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", type=Path, required=True, help="a folder with intranet_metrics/")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="command names (as printed) to run")
    args = ap.parse_args()
    variants = {"this": ROOT, "against": args.against.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        small, bad = top / "small.csv", top / "bad.csv"
        lines = [f"2026-01-0{1 + i % 9}T10:00:00Z,u{i}@x.example,like" for i in range(10)]
        small.write_text("timestamp,user,activity\n" + "\n".join(lines) + "\n")
        bad.write_text(
            "timestamp,user,activity\n2026-01-01T10:00:00Z,a@x.example,like\n"
            "2026-01-02T10:00:00Z,,like\n2026-01-03T10:00:00Z,,view\n"
        )
        works = {v: top / v for v in variants}
        for v, package in variants.items():
            works[v].mkdir()
            prepare(package, works[v], bad)
        print(f"calibration {calibration():.2f} s; best of {args.runs}, alternating", flush=True)
        for name in commands(works["this"], small, bad):
            if args.only and name not in args.only:
                continue
            best, outs, heavy = {}, {}, {}
            for i in range(args.runs):
                order = list(variants) if i % 2 == 0 else list(reversed(variants))
                for v in order:
                    argv, clean = commands(works[v], small, bad)[name]
                    cpu, outs[v] = run(variants[v], argv, works[v], clean)
                    best[v] = min(best.get(v, cpu), cpu)
            for v in variants:
                argv, clean = commands(works[v], small, bad)[name]
                heavy[v] = ",".join(heavy_imports(variants[v], argv, works[v], clean)) or "-"
            same = comparable(outs["this"]) == comparable(outs["against"])
            print(
                f"{name:20s} this {best['this']:6.3f} CPU-s  against {best['against']:6.3f}  "
                f"ratio {best['this'] / best['against']:4.2f}  "
                f"stdout {'equal' if same else 'DIFFERS'}"
                f"  imports: this {heavy['this']} | against {heavy['against']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
