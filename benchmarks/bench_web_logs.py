"""Throughput and memory of the iis-w3c and apache-combined loaders on generated logs.

Writes a SharePoint-like IIS log (CRLF, ~85 % assets and _layouts requests, a #Fields
change every 400,000 lines) and an Apache combined log to a temp dir, then streams each
through its loader the way ingest does (iterate ``load``, drop every batch) in a fresh
child process per run, so each peak RSS figure is that run's own. Lines per CPU second
is the figure to compare when other processes share the cores.

    python benchmarks/bench_web_logs.py                  # 500k and 2M lines each
    python benchmarks/bench_web_logs.py --sizes 100000   # quicker
    python benchmarks/bench_web_logs.py --sizes 1000000 --formats iis-w3c --repeat 5
    python benchmarks/bench_web_logs.py --sizes 2000000 --formats iis-w3c --ingest \\
        --against /work/main --repeat 2   # the whole ingest, against another checkout
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from machine import calibration

FIELDS = (
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)
FIELDS_BYTES = (
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes cs-bytes "
    "time-taken"
)
AGENTS = [
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)"
    "+Chrome/120.0.0.0+Safari/537.36+Edg/120.0.0.0",
    "Mozilla/5.0+(Macintosh;+Intel+Mac+OS+X+10_15_7)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)"
    "+Version/17.1+Safari/605.1.15",
    "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+17_1+like+Mac+OS+X)+AppleWebKit/605.1.15",
    "Mozilla/4.0+(compatible;+MSIE+4.01;+Windows+NT;+MS+Search+6.0+Robot)",
]
ASSETS = [
    "/_layouts/15/init.js",
    "/_layouts/15/sp.core.js",
    "/_layouts/15/images/spcommon.png",
    "/_layouts/15/1033/styles/Themable/corev15.css",
    "/_layouts/15/start.aspx",
    "/_vti_bin/client.svc/ProcessQuery",
    "/_api/web/lists",
    "/sites/intranet/SiteAssets/logo.png",
    "/ScriptResource.axd",
    "/_catalogs/masterpage/seattle.master",
]
PAGES = [f"/sites/{s}/SitePages/Page{i}.aspx" for s in ("intranet", "hr", "it") for i in range(60)]
FILES = [f"/sites/hr/Shared+Documents/Policy{i}.pdf" for i in range(40)] + [
    f"/sites/it/Documents/Guide{i}.docx" for i in range(40)
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def write_iis(path: Path, lines: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    users = [f"0#.w|contoso\\user{i:05d}" for i in range(5000)]
    t0 = datetime(2024, 3, 4, tzinfo=timezone.utc)
    with open(path, "w", newline="\r\n", encoding="utf-8") as fh:
        bytes_cols = False
        for n in range(lines):
            if n % 400_000 == 0:
                bytes_cols = not bytes_cols
                fh.write(
                    "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
                    f"#Date: {(t0 + timedelta(seconds=n // 20)):%Y-%m-%d %H:%M:%S}\n"
                    f"{FIELDS_BYTES if bytes_cols else FIELDS}\n"
                )
            t = t0 + timedelta(seconds=n // 20)
            r = rnd.random()
            user, status, method = rnd.choice(users), "200", "GET"
            if r < 0.85:
                stem = rnd.choice(ASSETS)
                method = "POST" if stem.endswith("ProcessQuery") else "GET"
            elif r < 0.88:
                stem, user, status = rnd.choice(PAGES), "-", "401"  # NTLM handshake
            elif r < 0.98:
                stem, status = rnd.choice(PAGES), rnd.choice(("200", "200", "304"))
            else:
                stem = rnd.choice(FILES)
            extra = f"{rnd.randint(200, 90000)} {rnd.randint(300, 2000)} " if bytes_cols else ""
            fh.write(
                f"{t:%Y-%m-%d %H:%M:%S} 10.0.0.5 {method} {stem} - 443 {user} "
                f"10.1.{rnd.randint(0, 255)}.{rnd.randint(1, 254)} {rnd.choice(AGENTS)} "
                f"https://intranet.contoso.com/ {status} 0 0 {extra}{rnd.randint(1, 900)}\n"
            )


def write_apache(path: Path, lines: int, seed: int = 2) -> None:
    rnd = random.Random(seed)
    users = [f"user{i:05d}" for i in range(5000)]
    static = ["/static/app.js", "/static/site.css", "/img/logo.png", "/favicon.ico"]
    pages = [f"/wiki/Page{i}" for i in range(200)] + ["/api/search", "/api/likes"]
    agents = [a.replace("+", " ") for a in AGENTS]
    t0 = datetime(2024, 3, 4)
    with open(path, "w", encoding="utf-8") as fh:
        for n in range(lines):
            t = t0 + timedelta(seconds=n // 20)
            stamp = f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S}"
            off = rnd.choice(("+0000", "+0100", "-0700"))
            r = rnd.random()
            path_, user = (rnd.choice(static), "-") if r < 0.8 else (rnd.choice(pages), None)
            user = user or rnd.choice(users)
            fh.write(
                f"10.1.{rnd.randint(0, 255)}.{rnd.randint(1, 254)} - {user} [{stamp} {off}] "
                f'"GET {path_} HTTP/1.1" {rnd.choice(("200", "200", "304"))} '
                f'{rnd.randint(200, 90000)} "https://wiki.example.com/" "{rnd.choice(agents)}"\n'
            )


def write_confluence(path: Path, lines: int, seed: int = 3) -> None:
    """A Confluence access log in both layouts: ~60 % static files and /rest/ polling."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 4, 8, 0, tzinfo=timezone(timedelta(hours=1)))
    users = [f"user{i}" for i in range(20_000)] + ["-", "anonymous"]
    urls = (
        [("GET", f"/display/HR/Page{i}") for i in range(200)]
        + [("GET", f"/pages/viewpage.action?pageId={i}") for i in range(200)]
        + [
            ("POST", "/pages/doaddcomment.action?pageId=7"),
            ("POST", "/rest/likes/1.0/content/7/likes"),
        ]
        + [("GET", f"/s/en_GB/9012/_/styles/s{i}.css") for i in range(300)]
        + [("GET", f"/rest/quickreload/latest/{i}?since=1") for i in range(300)]
    )
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for i in range(lines):
            when = (start + timedelta(seconds=i // 20)).strftime("%d/%b/%Y:%H:%M:%S %z")
            method, url = rng.choice(urls)
            client = "10.0.0.9 " if i % 2 else ""
            fh.write(
                f"[{when}] {client}{rng.choice(users)} http-nio-8090-exec-{i % 40} 10.1.0.9 "
                f"{method} {url} HTTP/1.1 {rng.choice(('200', '200', '304', '302'))} 12ms 3456 - "
                f"{AGENTS[i % len(AGENTS)].replace('+', ' ')}\n"
            )


def run_one(fmt: str, path: str, simple: bool = False) -> dict:
    """Stream one file through its loader, keeping no batch: what ingest does.

    ``simple`` reads an IIS log through its token path alone (Arrow's CSV reader never
    used): the path its fast path must beat to be kept.
    """
    import pyarrow as pa

    from intranet_metrics.config import Config
    from intranet_metrics.loaders import by_name
    from intranet_metrics.loaders.base import EventBuilder, SourceInfo
    from intranet_metrics.pipeline import read_batches

    mod = by_name(fmt)
    if simple:
        mod._columnar = lambda block, rows: None
    builder = EventBuilder(SourceInfo(path, "0" * 64, fmt), Config())
    # pyarrow's first conversion of Python values imports pandas (about 0.5 s, once per
    # process, whatever the file size): pay it before the clock starts, as a running
    # ingest has by its second batch. The loader's own rate is what is measured.
    warm_up = time.perf_counter()
    pa.array([2**40], type=pa.int64())
    warm_up = time.perf_counter() - warm_up
    start, cpu = time.perf_counter(), time.process_time()
    for _batch in read_batches(mod, Path(path), builder):
        pass
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    c = builder.counts
    return {
        "format": fmt,
        "rows": c.rows,
        "events": c.events,
        "excluded": c.excluded_total,
        "other": c.other,
        "rejected": c.rejected,
        "seconds": round(elapsed, 2),
        "lines_per_s": round(c.rows / elapsed),
        # CPU time is what to compare when other work shares the machine's cores.
        "lines_per_cpu_s": round(c.rows / cpu),
        "start_up_s": round(warm_up, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500_000, 2_000_000])
    ap.add_argument(
        "--against",
        type=Path,
        default=None,
        help="also read each file with the package of another checkout; print the CPU ratio",
    )
    ap.add_argument(
        "--compare",
        action="store_true",
        help="also read each IIS log through the token path alone; print the CPU ratio",
    )
    ap.add_argument(
        "--formats", nargs="+", choices=["iis-w3c", "apache-combined", "confluence-access"],
        default=["iis-w3c", "apache-combined", "confluence-access"],
    )  # fmt: skip
    ap.add_argument("--repeat", type=int, default=1, help="runs per file (default 1)")
    ap.add_argument(
        "--ingest",
        action="store_true",
        help="time the whole 'intranet-metrics ingest' instead of the loader alone",
    )
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fmt, path, mode = args.child
        print(json.dumps(run_one(fmt, path, mode == "simple")))
        return
    print(f"calibration loop: {calibration():.2f} s (lower is a faster machine)")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, writer, suffix in (
            ("iis-w3c", write_iis, "log"),
            ("apache-combined", write_apache, "access.log"),
            ("confluence-access", write_confluence, "confluence.log"),
        ):
            if fmt not in args.formats:
                continue
            for size in args.sizes:
                path = Path(tmp) / f"{size}.{suffix}"
                writer(path, size)
                mb = path.stat().st_size / 1e6
                if args.ingest:
                    through_ingest(fmt, path, size, args.against, args.repeat)
                    path.unlink()
                    continue
                rates = []
                modes = ("full", "against") if args.against else ("full",)
                if args.compare and fmt == "iis-w3c":
                    modes += ("simple",)
                cpu: dict[str, float] = {}
                for mode in [m for m in modes for _ in range(args.repeat)]:
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", fmt, str(path), mode],
                        check=True,
                        capture_output=True,
                        text=True,
                        env=_env(args.against if mode == "against" else None),
                    )
                    res = json.loads(out.stdout)
                    if mode == "full":
                        rates.append(res["lines_per_s"])
                    cpu[mode] = cpu.get(mode, 0.0) + res["rows"] / res["lines_per_cpu_s"]
                    label = {"full": fmt, "against": f"{fmt} ({args.against})"}.get(
                        mode, f"{fmt} (tokens)"
                    )
                    print(
                        f"{label:28} {size:>9,} lines {mb:5.0f} MB"
                        f" {res['lines_per_s']:>9,} lines/s ({res['lines_per_cpu_s']:,} per CPU s)"
                        f"  peak RSS {res['peak_rss_mb']:4} MB"
                        f"  events {res['events']:,} excluded {res['excluded']:,}"
                        f" other {res['other']:,} rejected {res['rejected']:,}",
                        flush=True,
                    )
                if "simple" in cpu:
                    ratio = cpu["simple"] / cpu["full"]
                    print(f"{fmt:28} Arrow path vs tokens: {ratio:.2f}x less CPU", flush=True)
                if "against" in cpu:
                    ratio = cpu["full"] / cpu["against"]
                    print(f"{fmt:28} CPU {ratio:.2f}x of {args.against}", flush=True)
                if args.repeat > 1:
                    print(f"{fmt:28} median {statistics.median(rates):,.0f} lines/s", flush=True)
                path.unlink()


def through_ingest(fmt: str, path: Path, n: int, against: Path | None, repeat: int) -> None:
    """``intranet-metrics ingest`` of the file into a fresh store (parse, classify, dedupe,
    commit), with this package and, alternating, with ``against``'s: lines per second of
    wall and CPU time, and the CPU ratio of the best runs."""
    from bench_ingest import ingest

    best: dict[str, float] = {}
    for i in range(repeat):
        for name, where in (("ours", None), ("against", against)):
            if name == "against" and against is None:
                continue
            with tempfile.TemporaryDirectory() as store:
                r = ingest(Path(store) / f"s{i}", path, where)
            best[name] = min(best.get(name, r["cpu"]), r["cpu"])
            label = fmt if where is None else f"{fmt} ({where})"
            print(
                f"{label:28} {n:>9,} lines through ingest: {n / r['wall']:>9,.0f} lines/s"
                f" ({n / r['cpu']:,.0f} per CPU s)  peak RSS {r['rss_mb']:4.0f} MB",
                flush=True,
            )
    if "against" in best:
        ratio = best["ours"] / best["against"]
        print(f"{fmt:28} ingest CPU {ratio:.2f}x of {against} (best of {repeat})", flush=True)


def _env(checkout: Path | None) -> dict | None:
    """The child's environment: another checkout's package first on its path."""
    if checkout is None:
        return None
    return dict(os.environ, PYTHONPATH=str(checkout.resolve()))


if __name__ == "__main__":
    main()
