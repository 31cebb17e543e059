"""Issue 12: ingest and measurement at 1 M / 10 M / 100 M events beside the references.

For each size it generates an organisation (a roster with departments of skewed sizes,
joiners and leavers, a few heavy users, many light ones and some inactive people) and a
year (2025) of its events, then runs each of these in a fresh child process, on the same
data in the same run, and prints wall, CPU (user + system) and peak RSS (the child's own
VmHWM) and the ratios:

- ingest of the events as a generic CSV vs the streaming pyarrow floor (open_csv batches
  -> ParquetWriter); ingest of an IIS log (SharePoint-like, ~85 % assets) vs the same
  floor reading that log (space-separated) and its lines per second;
- ``baseline --by department`` (Q1), ``baseline`` + ``compare`` (Q1 then Q4, paired),
  ``report --period month`` over the year, each vs
  (a) a hand-written DuckDB query over the store's Parquet files (``events/month=*``),
  (b) a pandas notebook: pyarrow reads only the window's months (categoricals), then
      pandas maps the identifiers onto people and groups by person (a monthly loop for the
      year's report).
  The references' numbers (population, reader / reactor / contributor people, the ladder,
  every department, unmatched actors and identity coverage; for the compare the paired
  discordant counts; for the report every month) must EQUAL the project's JSON, else the
  script stops: a ratio between different answers means nothing.

Up to ``--ingest-max`` events (default 10 M) the store is built by ``intranet-metrics
ingest`` of the CSV; above it (100 M) the store is written directly in the store's layout
(monthly Parquet files and a manifest, the same events a CSV ingest would leave, and the
derived activity files built by ``Store.rebuild_activity`` when the store has them): ingest
is not what is measured there, and building it through ingest would take most of an hour.

A child whose resident memory passes ``--rss-cap`` (default 6 GB; the machine is shared)
is killed and reported as such.

    python benchmarks/bench_scale.py --sizes 1e6 1e7 1e8
    python benchmarks/bench_scale.py --sizes 1e5 --people 2000      # quick
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import bytecode, calibration, describe

YEAR = 2025
Q1 = ("2025-01-01", "2025-03-31")
Q4 = ("2025-10-01", "2025-12-31")
FULL = ("2025-01-01", "2025-12-31")
N_DEPTS = 25
PER_FILE = 1_000_000
# SPEC section 1's default classes (the references restate them: they are hand-written).
VIEW = ("page_view", "file_view")
REACT = ("like", "comment")
CONTRIBUTE = ("post", "page_create")
IGNORE = ("edit",)


# -- the organisation ----------------------------------------------------------------------
class Org:
    """A roster of ``n`` people and how active each one is."""

    def __init__(self, n: int, seed: int = 11) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        idx = np.arange(n)
        # Departments of Zipf-like sizes (a big operations department, small staff ones).
        sizes = 1 / np.arange(1, N_DEPTS + 1) ** 0.8
        self.dept = rng.choice(N_DEPTS, n, p=sizes / sizes.sum())
        year0 = np.datetime64(f"{YEAR}-01-01", "D")
        days = 365
        # Joiners start during the year, leavers end during it (6 % each); the rest were
        # there before and stay (some with a start date years back).
        self.start = np.full(n, np.datetime64("NaT", "D"))
        self.end = np.full(n, np.datetime64("NaT", "D"))
        joiner = rng.random(n) < 0.06
        leaver = ~joiner & (rng.random(n) < 0.06)
        old = ~joiner & (rng.random(n) < 0.3)
        self.start[joiner] = year0 + rng.integers(0, days, joiner.sum())
        self.start[old] = np.datetime64("2019-05-01", "D") + rng.integers(0, 1500, old.sum())
        self.end[leaver] = year0 + rng.integers(0, days, leaver.sum())
        # Activity: 15 % never active; the others lognormal (a few heavy users, many light).
        w = rng.lognormal(0.0, 1.4, n)
        w[rng.random(n) < 0.15] = 0.0
        self.weight = w
        # Who ever reacts or contributes (the others only read).
        self.reacts = rng.random(n) < 0.45
        self.contributes = self.reacts & (rng.random(n) < 0.25)
        # How each one appears in the logs: 1 in 3 by a domain account (a roster alias),
        # the others by e-mail, written in mixed case (the store normalises).
        email = np.char.add(np.char.add("p", idx.astype(str)), "@corp.example")
        alias = np.char.add("corp\\p", idx.astype(str))
        self.logged = np.where(idx % 3 == 0, alias, email)
        self.email, self.alias = email, alias
        self.lo = np.where(np.isnat(self.start), year0, np.maximum(self.start, year0))
        self.hi = np.where(np.isnat(self.end), year0 + days, self.end + 1)  # exclusive

    def write_roster(self, path: Path) -> Path:
        def dates(a: np.ndarray) -> pa.Array:
            return pa.array(np.where(np.isnat(a), "", np.datetime_as_string(a)))

        idx = np.arange(self.n).astype(str)
        table = pa.table(
            {
                "user_id": np.char.add("E", idx),
                "email": self.email,
                "aliases": self.alias,
                "start_date": dates(self.start),
                "end_date": dates(self.end),
                "department": np.char.add("Dept", np.char.zfill(self.dept.astype(str), 2)),
            }
        )
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
        return path

    def month_weights(self, month: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each person's share of a month's events (activity x days employed in it), and the
        first and last+1 day of their time in it."""
        m0 = np.datetime64(f"{YEAR}-{month:02d}", "M").astype("datetime64[D]")
        m1 = (np.datetime64(f"{YEAR}-{month:02d}", "M") + 1).astype("datetime64[D]")
        lo, hi = np.maximum(self.lo, m0), np.minimum(self.hi, m1)
        days = np.clip((hi - lo).astype(np.int64), 0, None)
        w = self.weight * days
        return w / w.sum(), lo, hi


def events(org: Org, n: int, seed: int = 5) -> Iterator[tuple[int, pa.Table]]:
    """(month, table of time/actor/activity/item) chunks: ``n`` events over the year, in
    canonical form but for the actor, which is written as a log would (mixed case). 1 % are
    by actors outside the roster, 0.5 % by ``SHAREPOINT\\system`` (excluded)."""
    rng = np.random.default_rng(seed)
    per_month = np.full(12, n // 12)
    per_month[: n % 12] += 1
    # Every name an event can carry, taken by code (Arrow strings, not NumPy's): the
    # roster's people as logged, the same upper-cased, 400 guests, the system account.
    guests = np.char.add(np.char.add("guest", np.arange(400).astype(str)), "@partner.example")
    names = pa.concat_arrays(
        [
            pa.array(org.logged),
            pa.array(np.char.upper(org.logged)),
            pa.array(guests),
            pa.array(["SHAREPOINT\\system"]),
        ]
    )
    activities = pa.array([*VIEW, *REACT, *CONTRIBUTE, *IGNORE])
    for month in range(1, 13):
        p, lo, hi = org.month_weights(month)
        cdf = np.cumsum(p)
        left = int(per_month[month - 1])
        while left:
            k = min(PER_FILE, left)
            left -= k
            who = np.minimum(np.searchsorted(cdf, rng.random(k) * cdf[-1]), org.n - 1)
            span = (hi[who] - lo[who]).astype("timedelta64[us]").astype(np.int64)
            t0 = lo[who].astype("datetime64[us]").astype(np.int64)
            t = t0 + (rng.random(k) * span).astype(np.int64) // 10**6 * 10**6
            u = rng.random(k)
            cls = np.where(u < 0.80, 0, np.where(u < 0.95, 1, 2))
            cls = np.where((cls == 2) & ~org.contributes[who], 1, cls)
            cls = np.where((cls == 1) & ~org.reacts[who], 0, cls)
            v = rng.random(k)
            act = np.where(v > 0.97, 6, cls * 2 + (v < 0.2))
            code = who + org.n * (rng.random(k) < 0.5)
            r = rng.random(k)
            code = np.where(r < 0.01, 2 * org.n + rng.integers(0, len(guests), k), code)
            code = np.where(r > 0.995, 2 * org.n + len(guests), code)
            page = pc.cast(pa.array(rng.integers(0, 5000, k)), pa.string())
            yield (
                month,
                pa.table(
                    {
                        "time": pa.array(t, pa.timestamp("us", "UTC")),
                        "actor": names.take(pa.array(code)),
                        "activity": activities.take(pa.array(act)),
                        "item": pc.binary_join_element_wise(
                            "/sites/intranet/SitePages/p", page, ""
                        ),
                    }
                ),
            )


def write_csv(org: Org, n: int, path: Path) -> Path:
    """The events as a generic CSV (timestamp,user,activity,item)."""
    with open(path, "wb") as fh:
        for i, (_, t) in enumerate(events(org, n)):
            ts = pc.strftime(t["time"], "%Y-%m-%dT%H:%M:%SZ")
            out = pa.table(
                {"timestamp": ts, "user": t["actor"], **{c: t[c] for c in t.column_names[2:]}}
            )
            pacsv.write_csv(
                out, fh, pacsv.WriteOptions(include_header=i == 0, quoting_style="none")
            )
    return path


IIS_HEAD = (
    "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
    "#Date: 2025-01-01 00:00:00\n"
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"
)
IIS_ASSETS = np.array(
    [
        "/_layouts/15/init.js",
        "/_layouts/15/sp.core.js",
        "/_layouts/15/images/spcommon.png",
        "/_vti_bin/client.svc/ProcessQuery",
        "/_api/web/lists",
        "/sites/intranet/SiteAssets/logo.png",
    ]
)
AGENT = (
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)"
    "+Chrome/120.0.0.0+Safari/537.36+Edg/120.0.0.0"
)


def write_iis(org: Org, n: int, path: Path) -> Path:
    """An IIS W3C log of ``n`` lines, one #Fields block, ~85 % asset requests."""
    rng = np.random.default_rng(9)
    with open(path, "wb") as fh:
        fh.write(IIS_HEAD.encode())
        for _, t in events(org, n, seed=6):
            k = t.num_rows
            ts = pc.strftime(t["time"], "%Y-%m-%d %H:%M:%S")
            asset = rng.random(k) < 0.85
            stem = np.where(asset, IIS_ASSETS[rng.integers(0, len(IIS_ASSETS), k)], "")
            stem = pc.if_else(
                pa.array(asset), pa.array(stem), pc.binary_join_element_wise(t["item"], ".aspx", "")
            )
            user = pc.binary_join_element_wise("0#.w|", t["actor"], "")
            cols = {
                "date": pc.utf8_slice_codeunits(ts, 0, 10),
                "time": pc.utf8_slice_codeunits(ts, 11, 19),
                "sip": pa.array(np.full(k, "10.0.0.5")),
                "method": pa.array(np.full(k, "GET")),
                "stem": stem,
                "query": pa.array(np.full(k, "-")),
                "port": pa.array(np.full(k, 443)),
                "user": user,
                "cip": pa.array(np.full(k, "10.1.2.3")),
                "agent": pa.array(np.full(k, AGENT)),
                "ref": pa.array(np.full(k, "https://intranet.corp.example/")),
                "status": pa.array(np.where(rng.random(k) < 0.9, 200, 304)),
                "sub": pa.array(np.zeros(k, np.int64)),
                "win32": pa.array(np.zeros(k, np.int64)),
                "taken": pa.array(rng.integers(1, 900, k)),
            }
            opts = pacsv.WriteOptions(include_header=False, delimiter=" ", quoting_style="none")
            pacsv.write_csv(pa.table(cols), fh, opts)
    return path


def build_store(org: Org, n: int, root: Path) -> None:
    """The store ingest of ``write_csv``'s file would leave (normalised actors, the
    system account excluded, the derived activity files), written directly: monthly files
    of up to 1 M events and a manifest listing them under one source."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from layout import write_store

    from intranet_metrics.schema import EVENT_SCHEMA

    sha = "b" * 64

    def parts() -> Iterator[tuple[str, pa.Table]]:
        for f, (month, t) in enumerate(events(org, n)):
            k = t.num_rows
            actor = pc.utf8_lower(t["actor"])
            excluded = pc.if_else(
                pc.equal(actor, "sharepoint\\system"), "system_account", pa.nulls(k, pa.string())
            )
            keys = pc.utf8_lpad(pc.cast(pa.array(np.arange(k)), pa.string()), 24, "0")
            cols = {
                "time": t["time"],
                "actor": actor,
                "activity": t["activity"],
                "item": t["item"],
                "count": pa.array(np.ones(k, np.int64)),
                "excluded": excluded,
                "source_format": pa.array(np.full(k, "generic")),
                "source_sha256": pa.array(np.full(k, sha)),
                "source_file": pa.array(np.full(k, "built.csv")),
                "source_line": pa.array(np.arange(k, dtype=np.int64) + 2),
                "event_key": pc.binary_join_element_wise(f"{f:08x}", keys, ""),
            }
            fields = [cols.get(fl.name, pa.nulls(k, fl.type)) for fl in EVENT_SCHEMA]
            yield f"{YEAR}-{month:02d}", pa.table(fields, schema=EVENT_SCHEMA)

    source = {
        "path": "built.csv",
        "sha256": sha,
        "format": "generic",
        "rows": n,
        "events": n,
        "new_events": n,
        "min_time": f"{YEAR}-01-01T00:00:00+00:00",
        "max_time": f"{YEAR}-12-31T23:59:59+00:00",
        "key_version": 2,
    }
    write_store(root, parts(), source, derive=True)


# -- child processes -----------------------------------------------------------------------
# Each child reports its own peak RSS from /proc (VmHWM, which execve resets).
WRAP = """
import atexit, importlib, runpy, sys, time
out, mode, target, preload, *rest = sys.argv[1:]
def hwm():
    with open("/proc/self/status") as fh:
        kb = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM"))
    with open(out, "w") as fh:
        fh.write(f"{kb} {time.process_time() - ready}")
atexit.register(hwm)
for name in filter(None, preload.split(",")):
    importlib.import_module(name)
ready = time.process_time()
sys.argv = [target, *rest]
if mode == "module":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    exec(compile(target, "reference", "exec"), {"__name__": "__main__"})
"""


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(x.split()[1]) for x in fh if x.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        return 0.0


def run(
    mode: str, target: str, args: list[str], cap_mb: float, preload: str = ""
) -> dict[str, float]:
    """Wall, CPU and peak RSS of one child; killed (``killed`` True) past ``cap_mb``.
    ``work``: the child's CPU after importing the ``preload`` modules (comma-separated),
    i.e. the work without the start-up of its libraries."""
    with tempfile.NamedTemporaryFile(suffix=".hwm", delete=False) as fh:
        hwm = Path(fh.name)
    cmd = [sys.executable, "-c", WRAP, str(hwm), mode, target, preload, *args]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    killed = {"peak": 0.0, "killed": False}
    finished = threading.Event()

    def watch() -> None:
        # Never proc.poll() here: it would reap the child before os.wait4 reads its usage.
        while not finished.wait(0.05):
            rss = _rss_mb(proc.pid)
            killed["peak"] = max(killed["peak"], rss)
            if rss > cap_mb and not finished.is_set():
                killed["killed"] = True
                os.kill(proc.pid, signal.SIGKILL)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with proc.stderr as stream:  # type: ignore[union-attr]
        err = stream.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    finished.set()
    proc.returncode = 0
    wall = time.perf_counter() - t0
    watcher.join()
    cpu = usage.ru_utime + usage.ru_stime
    if killed["killed"]:
        hwm.unlink(missing_ok=True)
        return {"wall": wall, "cpu": cpu, "work": cpu, "rss_mb": killed["peak"], "killed": True}
    if status:
        raise SystemExit(f"{target[:60]!r} {args} failed: {err[-3000:]}")
    kb, work = hwm.read_text().split()
    hwm.unlink()
    rss = int(kb) / 1024
    return {"wall": wall, "cpu": cpu, "work": float(work), "rss_mb": rss, "killed": False}


# What each child imports before its ``work`` clock starts: the libraries' start-up, which a
# long-running notebook or service pays once. Every module the command needs is listed; one
# left out would count as work (against whoever imports it).
PROJECT_LIBS = (
    "intranet_metrics.cli,intranet_metrics.api,intranet_metrics.report,intranet_metrics.figures,"
    "intranet_metrics.engine,intranet_metrics.render,ibis,ibis.backends.duckdb,pandas,"
    "pyarrow.parquet,duckdb,rich.console"
)
INGEST_LIBS = (
    "intranet_metrics.cli,intranet_metrics.api,intranet_metrics.pipeline,intranet_metrics.store,"
    "intranet_metrics.activity,pyarrow.csv,pyarrow.parquet,duckdb,numpy,rich.console"
)
FLOOR_LIBS = "pyarrow.csv,pyarrow.parquet"
DUCKDB_LIBS = "duckdb"
PANDAS_LIBS = "numpy,pandas,pyarrow.parquet"


FLOOR = """
import sys, pyarrow.csv as c, pyarrow.parquet as pq
src, dst, skip, delim = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ro = c.ReadOptions(skip_rows=skip, autogenerate_column_names=bool(skip))
r = c.open_csv(src, read_options=ro, parse_options=c.ParseOptions(delimiter=delim))
with pq.ParquetWriter(dst, r.schema) as w:
    for b in r:
        w.write_batch(b)
"""

# -- the references: one hand-written DuckDB query, one pandas notebook --------------------
COMMON = """
import json, sys, glob, datetime as dt
VIEW, REACT, CONTRIBUTE = CLASSES
store, roster_path, out, job = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
def months(lo, hi):
    a, b = int(lo[5:7]), int(hi[5:7])
    return [f"{lo[:4]}-{m:02d}" for m in range(a, b + 1)]
def files(lo, hi):
    found = (glob.glob(f"{store}/events/month={m}/*.parquet") for m in months(lo, hi))
    return sorted(f for files in found for f in files)
def month_end(lo):
    nxt = (dt.date.fromisoformat(lo) + dt.timedelta(days=32)).replace(day=1)
    return (nxt - dt.timedelta(days=1)).isoformat()
def bounds(lo, hi):
    start = dt.datetime.fromisoformat(lo).replace(tzinfo=dt.timezone.utc)
    end = dt.datetime.fromisoformat(hi).replace(tzinfo=dt.timezone.utc) + dt.timedelta(days=1)
    return start, end
""".replace("CLASSES", repr((VIEW, REACT, CONTRIBUTE)))

DUCKDB_REF = (
    COMMON
    + """
import duckdb
con = duckdb.connect()
con.execute("CREATE TABLE roster AS SELECT * FROM read_csv($p, header=true, all_varchar=true)",
            {"p": roster_path})
con.execute('''CREATE TABLE ids AS SELECT DISTINCT lower(trim(x)) AS identifier, user_id AS person
  FROM (SELECT user_id, user_id AS x FROM roster UNION ALL SELECT user_id, email FROM roster
        UNION ALL SELECT user_id, unnest(string_split(aliases, ';')) FROM roster)
  WHERE x IS NOT NULL AND trim(x) <> '' ''')
CLS = '''CASE WHEN activity IN (SELECT unnest($v)) THEN 1 WHEN activity IN (SELECT unnest($r))
  THEN 2 WHEN activity IN (SELECT unnest($c)) THEN 3 END'''
def flags(lo, hi, name):
    start, end = bounds(lo, hi)
    con.execute(f'''CREATE OR REPLACE TABLE {name} AS
      WITH ev AS (SELECT actor, {CLS} AS cls FROM read_parquet($f)
                  WHERE time >= $s AND time < $e AND excluded IS NULL AND window_start IS NULL),
      m AS (SELECT ev.actor, ev.cls, ids.person FROM ev LEFT JOIN ids ON ev.actor = ids.identifier
            WHERE ev.cls IS NOT NULL)
      SELECT * FROM m''', {"f": files(lo, hi), "s": start, "e": end, "v": VIEW, "r": REACT,
                           "c": CONTRIBUTE})
    ident = con.execute(f'''SELECT count(*), count(person),
      count(DISTINCT actor) FILTER (WHERE person IS NULL) FROM {name}''').fetchone()
    con.execute(f'''CREATE OR REPLACE TABLE {name}_p AS
      SELECT p.user_id, p.department, coalesce(f.top, 0) AS top
      FROM (SELECT * FROM roster WHERE (start_date IS NULL OR start_date <= $hi)
            AND (end_date IS NULL OR end_date >= $lo)) p
      LEFT JOIN (SELECT person, max(cls) AS top FROM {name} WHERE person IS NOT NULL
                 GROUP BY person) f ON p.user_id = f.person''', {"lo": lo, "hi": hi})
    return ident
def counts(name, by_dept):
    rows = con.execute(f'''SELECT department, grouping(department) AS g, count(*),
      count(*) FILTER (top >= 1), count(*) FILTER (top >= 2), count(*) FILTER (top = 3)
      FROM {name}_p GROUP BY GROUPING SETS ((), (department))''')
    out = {("*" if g else d): list(r) for d, g, *r in rows.fetchall()}
    return out if by_dept else {"*": out["*"]}
result = {}
if job["kind"] in ("baseline", "compare"):
    ident = flags(*job["window"], "w0")
    result["window"] = {"ident": list(ident), "counts": counts("w0", job["by_dept"])}
if job["kind"] == "compare":
    result["before"] = {"ident": list(flags(*job["before"], "w1")), "counts": counts("w1", False)}
    result["discordant"] = con.execute('''SELECT
      count(*) FILTER (b.top >= 1 AND a.top < 1), count(*) FILTER (b.top < 1 AND a.top >= 1),
      count(*) FILTER (b.top >= 2 AND a.top < 2), count(*) FILTER (b.top < 2 AND a.top >= 2),
      count(*) FILTER (b.top = 3 AND a.top < 3), count(*) FILTER (b.top < 3 AND a.top = 3)
      FROM w1_p b JOIN w0_p a USING (user_id)''').fetchone()
if job["kind"] == "report":
    result["months"] = {}
    for m in months(*job["window"]):
        lo = m + "-01"
        flags(lo, month_end(lo), "w0")
        result["months"][m] = counts("w0", False)["*"]
json.dump(result, open(out, "w"))
"""
)

PANDAS_REF = (
    COMMON
    + """
import numpy as np, pandas as pd, pyarrow.parquet as pq
roster = pd.read_csv(roster_path, dtype=str, keep_default_na=False)
alias = roster.assign(x=roster["aliases"].str.split(";")).explode("x")
ids = pd.concat([roster[["user_id"]].assign(x=roster["user_id"]),
                 roster[["user_id"]].assign(x=roster["email"]), alias[["user_id", "x"]]])
ids["identifier"] = ids["x"].str.strip().str.lower()
ids = ids[ids["identifier"] != ""].drop_duplicates(["identifier", "user_id"])
ids = ids.rename(columns={"user_id": "person"})[["identifier", "person"]]
CLS = {**{a: 1 for a in VIEW}, **{a: 2 for a in REACT}, **{a: 3 for a in CONTRIBUTE}}
ID_MAP = dict(zip(ids["identifier"], ids["person"]))
def flags(lo, hi):
    start, end = bounds(lo, hi)
    cols = ["time", "actor", "activity", "excluded", "window_start"]
    within = [("time", ">=", start), ("time", "<", end)]
    # Dictionary-encoded strings become categoricals, and the identifiers are mapped onto
    # their categories (not merged row by row): the memory of a careful notebook.
    t = pq.read_table(files(lo, hi), columns=cols, filters=within,
                      read_dictionary=["actor", "activity", "excluded"])
    ev = t.to_pandas(date_as_object=False)
    ev = ev.loc[ev["excluded"].isna() & ev["window_start"].isna(), ["actor", "activity"]]
    ev["cls"] = ev["activity"].map(CLS).astype("float64")
    ev = ev[ev["cls"].notna()]
    person = ev["actor"].map(ID_MAP)
    matched = person.notna()
    ident = [len(ev), int(matched.sum()), int(ev.loc[~matched, "actor"].nunique())]
    top = ev["cls"][matched].groupby(person[matched].astype(str)).max()
    alive = ((roster["start_date"] == "") | (roster["start_date"] <= hi)) & (
        (roster["end_date"] == "") | (roster["end_date"] >= lo))
    pop = roster.loc[alive, ["user_id", "department"]].copy()
    pop["top"] = pop["user_id"].map(top).fillna(0)
    return ident, pop
def counts(pop, by_dept):
    def row(p):
        return [len(p), int((p.top >= 1).sum()), int((p.top >= 2).sum()), int((p.top == 3).sum())]
    out = {"*": row(pop)}
    if by_dept:
        for d, p in pop.groupby("department"):
            out[d] = row(p)
    return out
result = {}
if job["kind"] in ("baseline", "compare"):
    ident, pop = flags(*job["window"])
    result["window"] = {"ident": ident, "counts": counts(pop, job["by_dept"])}
if job["kind"] == "compare":
    ident1, pop1 = flags(*job["before"])
    result["before"] = {"ident": ident1, "counts": counts(pop1, False)}
    j = pop1.merge(pop, on="user_id", suffixes=("_b", "_a"))
    b, a = j["top_b"], j["top_a"]
    pairs = [((b >= t) & (a < t), (b < t) & (a >= t)) for t in (1, 2, 3)]
    result["discordant"] = [int(x.sum()) for p in pairs for x in p]
if job["kind"] == "report":
    result["months"] = {}
    for m in months(*job["window"]):
        lo = m + "-01"
        _, pop = flags(lo, month_end(lo))
        result["months"][m] = counts(pop, False)["*"]
json.dump(result, open(out, "w"))
"""
)


# -- the project's numbers in the references' shape -----------------------------------------
TIERS = ("reader", "reactor", "contributor")


def _counts(m: dict) -> list[int]:
    return [m["population"]["size"], *(m["metrics"][t]["users"] for t in TIERS)]


def _ident(m: dict) -> list[float]:
    return [m["population"]["unmatched_actors"], m["population"]["identity_coverage"]]


def project_numbers(kind: str, doc: dict) -> dict:
    """The project's JSON cut to what the references compute."""
    if kind == "report":
        return {"months": {r["period"]: _counts(r) for r in doc["rows"]}}
    m = doc if kind == "baseline" else doc["current"]
    counts = {"*": _counts(m)}
    for seg in m.get("segments", {}).get("department", []):
        if seg.get("suppressed"):  # under k people: no numbers to compare (see unsuppressed)
            continue
        pop = seg["population"]
        counts[seg["value"]] = [pop if isinstance(pop, int) else pop["size"]] + [
            seg["metrics"][t]["users"] for t in TIERS
        ]
    out = {"window": {"ident": _ident(m), "counts": counts}}
    if kind == "compare":
        out["before"] = {
            "ident": _ident(doc["baseline"]),
            "counts": {"*": _counts(doc["baseline"])},
        }
        out["discordant"] = [doc["changes"][t]["discordant"][k] for t in TIERS for k in ("b", "c")]
    return out


def reference_numbers(kind: str, ref: dict) -> dict:
    """A reference's output in the project's shape (coverage as a rate)."""
    out = dict(ref)
    for side in ("window", "before"):
        if side in ref:
            counted, matched, unmatched = ref[side]["ident"]
            out[side] = {
                "ident": [unmatched, matched / counted if counted else None],
                "counts": ref[side]["counts"],
            }
    return out


def unsuppressed(mine: dict, ref: dict) -> dict:
    """The reference's numbers without the segments the project suppressed (fewer than k
    people, or hidden beside one that is): the references do not suppress."""
    if "window" not in ref or "window" not in mine:
        return ref
    shown = mine["window"]["counts"].keys()
    counts = {k: v for k, v in ref["window"]["counts"].items() if k in shown}
    return {**ref, "window": {**ref["window"], "counts": counts}}


def same(a: dict, b: dict) -> bool:
    """Equal numbers; coverage to 1e-9 (the JSON may round it)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) < 1e-6
    return a == b


# -- one size -------------------------------------------------------------------------------
class Bench:
    def __init__(self, folder: Path, n: int, people: int, cap_mb: float, ingest_max: int):
        self.folder, self.n, self.cap = folder, n, cap_mb
        self.org = Org(people)
        self.roster = self.org.write_roster(folder / "roster.csv")
        self.store = folder / "store"
        self.ingest_max = ingest_max
        self.lines: list[str] = []

    def say(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)

    def cli(self, *args: str) -> dict[str, float]:
        libs = INGEST_LIBS if args[0] == "ingest" else PROJECT_LIBS
        return run(
            "module", "intranet_metrics", ["--store", str(self.store), *args], self.cap, libs
        )

    def ingest(self) -> None:
        n, f = self.n, self.folder
        if n > self.ingest_max and self.store.is_dir():
            self.say(f"store of {n:,} events reused (written in the store's layout earlier)")
            return
        if n > self.ingest_max:
            t = time.perf_counter()
            build_store(self.org, n, self.store)
            self.say(
                f"store of {n:,} events written in the store's layout in "
                f"{time.perf_counter() - t:.0f} s (not through ingest)"
            )
            return
        csv = write_csv(self.org, n, f / "events.csv")
        floor = run(
            "code", FLOOR, [str(csv), str(f / "floor.parquet"), "0", ","], self.cap, FLOOR_LIBS
        )
        ours = self.cli("ingest", str(csv), "--quiet")
        self.pair(
            "ingest generic CSV", ours, floor, "pyarrow floor", f"{csv.stat().st_size / 1e6:.0f} MB"
        )
        csv.unlink()
        log = write_iis(self.org, n, f / "u_ex2025.log")
        floor = run(
            "code", FLOOR, [str(log), str(f / "floor.parquet"), "4", " "], self.cap, FLOOR_LIBS
        )
        ours = run(
            "module",
            "intranet_metrics",
            ["--store", str(f / "store-iis"), "ingest", str(log), "--quiet"],
            self.cap,
            INGEST_LIBS,
        )
        self.pair(
            "ingest IIS log",
            ours,
            floor,
            "pyarrow floor",
            f"{n / ours['wall']:,.0f} lines/s wall, {n / ours['cpu']:,.0f} lines/s CPU",
        )
        log.unlink()
        (f / "floor.parquet").unlink(missing_ok=True)

    def pair(self, what: str, ours: dict, ref: dict, ref_name: str, extra: str = "") -> None:
        def fig(r: dict) -> str:
            cut = " KILLED" if r.get("killed") else ""
            return f"{r['wall']:6.1f} s wall {r['cpu']:6.1f} s CPU {r['rss_mb']:6.0f} MB{cut}"

        self.say(
            f"{self.n:>11,} {what:<28} {fig(ours)} | {ref_name:<14} {fig(ref)} | "
            f"ratio wall {ours['wall'] / ref['wall']:5.2f}x CPU {ours['cpu'] / ref['cpu']:5.2f}x"
            f" | work CPU {ours['work']:.2f} s / {ref['work']:.2f} s "
            f"{ours['work'] / max(ref['work'], 1e-3):5.2f}x" + (f" | {extra}" if extra else "")
        )

    def reference(self, code: str, job: dict, libs: str) -> tuple[dict, dict]:
        out = self.folder / "ref.json"
        args = [str(self.store), str(self.roster), str(out), json.dumps(job)]
        r = run("code", code, args, self.cap, libs)
        doc = reference_numbers(job["kind"], json.loads(out.read_text())) if not r["killed"] else {}
        out.unlink(missing_ok=True)
        return r, doc

    def measure(self, kind: str, job: dict, ours: dict, doc: dict | None) -> None:
        mine = project_numbers(kind, doc) if doc is not None else None
        refs = (("DuckDB SQL", DUCKDB_REF, DUCKDB_LIBS), ("pandas", PANDAS_REF, PANDAS_LIBS))
        for name, code, libs in refs:
            r, numbers = self.reference(code, job, libs)
            numbers = unsuppressed(mine, numbers) if mine is not None else numbers
            if mine is not None and not r["killed"] and not same(mine, numbers):
                raise SystemExit(
                    f"{kind} at {self.n:,}: the project's numbers differ from {name}'s:\n"
                    f"project {json.dumps(mine)}\n{name} {json.dumps(numbers)}"
                )
            self.pair(kind, ours, r, name, "numbers equal" if mine is not None else "")

    def json_of(self, name: str) -> dict | None:
        p = self.folder / name
        return json.loads(p.read_text()) if p.exists() else None

    def measurements(self) -> None:
        roster = ["--roster", str(self.roster), "--format", "json", "--force"]
        base = self.cli(
            "baseline",
            "--from",
            Q1[0],
            "--to",
            Q1[1],
            "--by",
            "department",
            *roster,
            "--output",
            str(self.folder / "by.json"),
        )
        self.measure(
            "baseline",
            {"kind": "baseline", "window": Q1, "by_dept": True},
            base,
            None if base["killed"] else self.json_of("by.json"),
        )
        b = self.cli(
            "baseline",
            "--from",
            Q1[0],
            "--to",
            Q1[1],
            *roster,
            "--output",
            str(self.folder / "q1.json"),
        )
        # A killed baseline left no JSON to compare against: the pair counts as killed.
        c = (
            {**b, "wall": 0.0, "cpu": 0.0}
            if b["killed"]
            else self.cli(
                "compare",
                "--baseline",
                str(self.folder / "q1.json"),
                "--from",
                Q4[0],
                "--to",
                Q4[1],
                *roster,
                "--output",
                str(self.folder / "q4.json"),
            )
        )
        both = {
            "wall": b["wall"] + c["wall"],
            "cpu": b["cpu"] + c["cpu"],
            "work": b["work"] + c["work"],
            "rss_mb": max(b["rss_mb"], c["rss_mb"]),
            "killed": b["killed"] or c["killed"],
        }
        job = {"kind": "compare", "window": Q4, "before": Q1, "by_dept": False}
        self.measure("compare", job, both, None if both["killed"] else self.json_of("q4.json"))
        rep = self.cli(
            "report",
            "--period",
            "month",
            "--from",
            FULL[0],
            "--to",
            FULL[1],
            *roster,
            "--output",
            str(self.folder / "year.json"),
        )
        self.measure(
            "report",
            {"kind": "report", "window": FULL},
            rep,
            None if rep["killed"] else self.json_of("year.json"),
        )


LINE = re.compile(
    r"^\s*(?P<n>[\d,]+) (?P<what>.+?)\s+(?P<w>[\d.]+) s wall\s+(?P<c>[\d.]+) s CPU\s+(?P<r>\d+) MB"
    r"(?P<k> KILLED)? \| (?P<ref>.+?)\s+(?P<rw>[\d.]+) s wall\s+(?P<rc>[\d.]+) s CPU\s+"
    r"(?P<rr>\d+) MB(?P<rk> KILLED)? \| ratio wall\s+(?P<xw>[\d.]+)x CPU\s+(?P<xc>[\d.]+)x"
    r"(?: \| work CPU (?P<ow>[\d.]+) s / (?P<rw2>[\d.]+) s\s+(?P<xk>[\d.]+)x)?"
    r"(?: \| (?P<extra>.*))?$"
)


def markdown(log: str) -> str:
    """The lines this script printed as a Markdown table (for RESULTS.md)."""
    out = [
        "| events | work | project wall / CPU / peak RSS | reference | reference wall / CPU / "
        "peak RSS | ratio CPU | ratio wall | work CPU (imports excluded) | ratio work CPU | note |",
        "|---:|---|---|---|---|---:|---:|---|---:|---|",
    ]
    for line in log.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        g = m.groupdict()
        n = int(g["n"].replace(",", ""))
        size = f"{n / 1e6:g} M" if n >= 1e6 else f"{n:,}"
        cut = " (killed)" if g["k"] else ""
        rcut = " (killed)" if g["rk"] else ""
        out.append(
            f"| {size} | {g['what']} | {g['w']} s / {g['c']} s / {g['r']} MB{cut} | {g['ref']} | "
            f"{g['rw']} s / {g['rc']} s / {g['rr']} MB{rcut} | {g['xc']}x | {g['xw']}x | "
            + (f"{g['ow']} s / {g['rw2']} s | {g['xk']}x | " if g["ow"] else " | | ")
            + f"{g['extra'] or ''} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7, 1e8])
    ap.add_argument(
        "--people",
        type=int,
        default=0,
        help="roster size [default: 20,000 up to 10 M events, 100,000 above]",
    )
    ap.add_argument(
        "--ingest-max",
        type=float,
        default=1e7,
        help="largest size built through ingest; above it the store is written",
    )
    ap.add_argument("--rss-cap", type=float, default=6000, help="MB; a child above is killed")
    ap.add_argument("--dir", type=Path, default=None, help="where to put the data")
    ap.add_argument("--table", type=Path, help="print a log of this script as Markdown; exit")
    ap.add_argument(
        "--keep", action="store_true", help="keep each size's data in DIR/<n> (for profiling)"
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: measure a store written directly by an earlier --keep run of the "
        "same size instead of writing it again (the data is the same: it is seeded)",
    )
    args = ap.parse_args(argv)
    if args.table:
        print(markdown(args.table.read_text()))
        return []
    bytecode()
    print(describe(), flush=True)
    print(f"calibration {calibration():.2f} s (pure-Python loop; lower is faster)", flush=True)
    lines: list[str] = []
    for size in args.sizes:
        n = int(size)
        people = args.people or (20_000 if n <= 10_000_000 else 100_000)
        with contextlib.ExitStack() as stack:
            if args.keep:
                tmp = (args.dir or Path(tempfile.gettempdir())) / str(n)
                if not (args.reuse and n > args.ingest_max and (tmp / "store").is_dir()):
                    shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir(parents=True, exist_ok=True)
            else:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir))
            bench = Bench(Path(tmp), n, people, args.rss_cap, int(args.ingest_max))
            bench.say(f"-- {n:,} events, {people:,} people")
            bench.ingest()
            bench.measurements()
            lines += bench.lines
    return lines


if __name__ == "__main__":
    main()
