"""The ``intranet-metrics`` command: click commands only (parse, call the library, render).

Exit codes (also in the README): 0 ok; 1 internal error (a bug); 2 bad options;
3 a goal is not met (compare --fail-on-goals); 4 bad input file; 5 store problem;
6 invalid config, roster or goals file; 7 verify found changed or missing inputs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .errors import ExitCode, IntranetMetricsError, UsageError
from .render import FORMATS, render_text, to_json
from .render.common import printable

# ibis, DuckDB, pandas, pyarrow and numpy are imported by the commands that use them
# (through ``api``, the one door to store, loaders and engine), never at import time: --help,
# --version and shell completion stay fast (issue 10.10; tests/test_cli_startup.py). So are
# rich, the config and goals files' readers and each command's renderer (issue 12).
if TYPE_CHECKING:
    from rich.console import Console

    from .api import IngestResult, Store
    from .config import Config
    from .progress import Steps

# --output FILE picks the format from its extension unless --format is given.
EXTENSION_FORMATS = {
    ".json": "json",
    ".csv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "table",
}


# -- plumbing ----------------------------------------------------------------------------
class Group(click.Group):
    """Maps every error to one ``Error: ...`` line and a documented exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **kw):
        debug = "--debug" in (sys.argv[1:] if args is None else list(args))
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **kw)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Error: interrupted", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            msg = exc.format_message().replace("\n", " ")
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f"; see '{exc.ctx.command_path} --help'"
            click.echo(f"Error: {printable(msg)}{hint}", err=True)
            sys.exit(exc.exit_code)
        except IntranetMetricsError as exc:
            if debug:
                _print_traceback()
            click.echo(f"Error: {printable(exc)}", err=True)
            sys.exit(int(exc.exit_code))
        except Exception as exc:  # a bug: say so plainly, traceback only with --debug
            if debug:
                _print_traceback()
            # Under a key the exception's text is not shown: it may quote a value.
            what = type(exc).__name__ if os.environ.get("INTRANET_METRICS_KEY") else None
            click.echo(
                f"Error: internal error ({what or f'{type(exc).__name__}: {printable(exc)}'}); "
                "run again with --debug and report it",
                err=True,
            )
            sys.exit(int(ExitCode.ERROR))


class Ctx:
    def __init__(self, config: Config, store_path: Path | None, debug: bool) -> None:
        self.config = config
        self._store_path = store_path
        self.debug = debug
        # --csv-dialect; None: excel for Dutch (Dutch Excel opens a comma CSV as one column).
        self.csv_dialect: str | None = None
        # --quiet: no progress bar on stderr (it is never shown when stderr is not a terminal).
        self.quiet = False

    @property
    def store_path(self) -> Path:
        from . import api

        return self._store_path or api.default_store_path(self.config)

    def store(self, create: bool = False) -> Store:
        from . import api

        return api.open_store(self.store_path, create=create)


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


def _console(**options: Any) -> Console:
    from rich.console import Console

    return Console(**options)


def _width() -> int | None:
    """Terminal width on a terminal; wide enough for file names when redirected."""
    return None if sys.stdout.isatty() else 160


def _stderr_console() -> Console:
    return _console(stderr=True, width=None if sys.stderr.isatty() else 160)


def _warn(msg: str, word: str = "Warning") -> None:
    click.echo(f"{word}: {printable(msg)}", err=True)


def _note(msg: str) -> None:
    click.echo(printable(msg), err=True)


def output_format(fmt: str | None, output: str | None) -> str:
    """--format if given, else the --output extension's format, else the table."""
    if fmt is None and output is not None:
        fmt = EXTENSION_FORMATS.get(Path(output).suffix.lower())
    fmt = fmt or "table"
    if fmt not in FORMATS:
        raise UsageError(
            f"--output {output}: this version cannot write {fmt.upper()}; use .json, .csv or "
            ".md, .html, or --format " + "|".join(FORMATS)
        )
    return fmt


def emit(
    result: dict[str, Any], fmt: str | None, output: str | None, force: bool, c: Ctx | None = None
) -> None:
    """Render ``result`` to stdout or to ``output``. Every format carries the warnings; they
    also go to stderr, except under a table on a terminal (shown there already)."""
    from .render.i18n import get_lang

    fmt = output_format(fmt, output)
    lang = get_lang(c.config.language if c else None)
    if output is not None:
        from . import api

        result = api.with_relative_inputs(result, Path(output).absolute().parent)
    if not (fmt == "table" and output is None and sys.stdout.isatty()):
        for w in lang.warnings(result):  # in the report's language, like the report
            _warn(w, lang.t("Warning"))
    if fmt == "table":
        from .render.table import to_table

        if output is None:
            _console(width=_width()).print(to_table(result, lang))
            return
        with open(os.devnull, "w") as sink:
            con = _console(record=True, width=120, file=sink)
            con.print(to_table(result, lang))
            text = con.export_text()
    else:
        text = render_text(
            fmt,
            result,
            lang,
            csv_dialect=(c.csv_dialect if c else None)
            or ("excel" if lang.code == "nl" else "plain"),
        )
    if output is None:
        # color=True: click would otherwise drop escape sequences from a piped CSV value,
        # changing the data (the human formats hold none: they are escaped).
        click.echo(text, nl=False, color=True)
    else:
        write_output(Path(output), text, force)
        _note(f"wrote {output}")


def write_output(path: Path, text: str, force: bool) -> None:
    """Write ``text`` to ``path`` (its folder created), atomically; never replace a file
    without ``force``."""
    if path.exists() and not force:
        raise UsageError(f"{path} exists; choose another --output or add --force to replace it")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise UsageError(
            f"{path}: cannot write the report ({exc.strerror or exc}); choose another --output"
        ) from None


def format_options(f):
    f = click.option("--force", is_flag=True, help="Replace an existing --output file.")(f)
    f = click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False),
        help="Write the report to FILE instead of stdout.",
    )(f)
    f = click.option(
        "--csv-dialect",
        type=click.Choice(["plain", "excel"]),
        callback=_set_dialect,
        expose_value=False,
        help="CSV for tools (plain: , and .) or for Excel (excel: ; decimal comma, BOM) "
        "[default: excel with --lang nl, else plain].",
    )(f)
    f = click.option(
        "--lang",
        type=click.Choice(["en", "nl"]),
        callback=_set_lang,
        expose_value=False,
        help="Language of table, Markdown, HTML and Excel CSV; JSON has none "
        "[default: config key 'language', else en].",
    )(f)
    f = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        help="Report format (json for pipes and tools) [default: from the --output "
        "extension (.json .csv .md .html), else table].",
    )(f)
    return f


def _set_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    obj = ctx.find_object(Ctx)
    if value is not None and obj is not None:
        obj.config = obj.config.with_overrides(language=value)


def _set_dialect(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    obj = ctx.find_object(Ctx)
    if obj is not None:
        obj.csv_dialect = value


def _set_engine(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    obj = ctx.find_object(Ctx)
    if value is not None and obj is not None:
        obj.config = obj.config.with_overrides(engine=value)


def population_options(f):
    f = click.option(
        "--engine",
        type=click.Choice(["duckdb", "spark"]),
        expose_value=False,
        callback=_set_engine,
        help="Measure with DuckDB (this machine) or PySpark (extra [spark]) [default: duckdb].",
    )(f)
    f = click.option(
        "--by", multiple=True, metavar="COLUMN", help="Break down by a roster column (repeatable)."
    )(f)
    f = click.option(
        "--population",
        "population_size",
        type=int,
        metavar="N",
        help="Fixed headcount when there is no roster.",
    )(f)
    f = click.option(
        "--roster",
        type=click.Path(dir_okay=False),
        help="HR roster CSV (user_id, email, aliases, start_date, end_date, ...).",
    )(f)
    return f


def _set_text(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--encoding`` / ``--delimiter``: override the config's key of the same name."""
    if value is not None:
        obj = ctx.find_object(Ctx)
        if obj is not None:
            obj.config = obj.config.with_overrides(**{str(param.name): _text_value(param, value)})


def _text_value(param: click.Parameter, value: str) -> str:
    if param.name == "delimiter":
        from . import api

        try:
            return api.parse_delimiter(value)
        except IntranetMetricsError as exc:
            raise click.BadParameter(str(exc)) from None
    import codecs

    try:
        codecs.lookup(value)
    except LookupError:
        raise click.BadParameter(f"unknown encoding '{value}' (e.g. utf-8, cp1252)") from None
    return value


def text_options(f):
    """How CSV exports and the roster are read when the file itself does not say."""
    f = click.option(
        "--delimiter",
        callback=_set_text,
        expose_value=False,
        metavar="CHAR",
        help="CSV separator of exports and roster: , ; | or tab [default: from the header].",
    )(f)
    f = click.option(
        "--encoding",
        callback=_set_text,
        expose_value=False,
        metavar="NAME",
        help="Text encoding of exports and roster, e.g. cp1252 [default: UTF-8/UTF-16 by "
        "BOM, else Windows-1252 with a warning].",
    )(f)
    return f


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    obj = ctx.find_object(Ctx)
    if value and obj is not None:
        obj.quiet = True


def quiet_option(f):
    return click.option(
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_set_quiet,
        help="No progress bar on stderr.",
    )(f)


def _bar_shown(c: Ctx) -> bool:
    """A bar on a terminal only: stderr stays clean when redirected, and with --quiet."""
    return sys.stderr.isatty() and not c.quiet


@contextmanager
def _measure_bar(c: Ctx, label: str) -> Iterator[Steps]:
    from .progress import measure_bar

    with measure_bar(_stderr_console(), _bar_shown(c), label) as steps:
        yield steps


def ingest_options(f):
    f = text_options(f)
    f = quiet_option(f)
    f = click.option(
        "--map",
        "mapping",
        metavar="FIELD=COLUMN,...",
        help="Column names of a generic CSV/JSONL, e.g. timestamp=When,user=Who.",
    )(f)
    f = click.option(
        "--input-format",
        metavar="NAME",
        help="Force the format instead of detecting it (see 'formats').",
    )(f)
    return f


def _with_map(config: Config, mapping: str | None) -> Config:
    if not mapping:
        return config
    pairs = {}
    for part in mapping.split(","):
        field, sep, column = part.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise UsageError(f"--map '{part}': use FIELD=COLUMN pairs, e.g. timestamp=When")
        pairs[field.strip()] = column.strip()
    return config.with_overrides(column_map={**config.column_map, **pairs})


def _ingest(
    c: Ctx,
    paths: tuple[str, ...],
    input_format,
    mapping,
    skip_bad=False,
    wait=True,
    console: Console | None = None,
) -> IngestResult:
    from . import api

    config = _with_map(c.config, mapping)
    store = c.store(create=True)
    from .progress import ingest_bar

    shown = _bar_shown(c)
    with ingest_bar(paths, _stderr_console(), shown) as bar:
        result = api.ingest(
            store,
            paths,
            config,
            input_format=input_format,
            skip_bad=skip_bad,
            wait=wait,
            notify=_note,
            on_start=bar.on_start if shown else None,
        )
    from .render.admin import ingest_table

    (console or _stderr_console()).print(ingest_table(_ingest_doc(result)))
    return result


def _ingest_doc(result: IngestResult) -> dict[str, Any]:
    return {
        "kind": "ingest",
        "commit": result.commit,
        "sources": [s.to_dict() for s in result.sources],
    }


# -- commands ----------------------------------------------------------------------------
@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False),
    envvar="INTRANET_METRICS_STORE",
    help="Store folder [env INTRANET_METRICS_STORE; default ./.intranet-metrics].",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file [default ./intranet-metrics.toml if present].",
)
@click.option("--debug", is_flag=True, help="Show tracebacks (for bug reports).")
@click.version_option(__version__, prog_name="intranet-metrics")
@click.pass_context
def cli(ctx: click.Context, store_path: str | None, config_path: str | None, debug: bool) -> None:
    """Adoption of a social intranet: who reads, reacts and contributes, as a share of
    employees; zero and one measurements against goals."""
    from .config import load_config

    config = load_config(config_path)
    ctx.obj = Ctx(config, Path(store_path) if store_path else None, debug)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@ingest_options
@click.option("--skip-bad", is_flag=True, help="Ingest the good files when some cannot be read.")
@click.option("--no-wait", is_flag=True, help="Fail at once if another ingest holds the store.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_obj
def ingest(c: Ctx, paths, input_format, mapping, skip_bad, no_wait, fmt) -> None:
    """Read exports (files or folders, recursively) into the store. Idempotent."""
    console = _stderr_console() if fmt == "json" else _console(width=_width())
    result = _ingest(c, paths, input_format, mapping, skip_bad, not no_wait, console)
    if fmt == "json":
        click.echo(to_json(_ingest_doc(result)), nl=False)
    if result.failed:
        sys.exit(int(ExitCode.BAD_INPUT))


def _baseline(
    c: Ctx, paths, input_format, mapping, start, end, roster, population_size, by, goals, label
) -> dict[str, Any]:
    from . import api

    if paths:
        _ingest(c, paths, input_format, mapping)
    with _measure_bar(c, "baseline") as steps:
        result = api.baseline(
            c.store(),
            start,
            end,
            config=c.config,
            roster=roster,
            population_size=population_size,
            by=by,
            goals=goals,
            label=label,
            progress=steps,
        )
    return result.to_dict()


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--from", "start", required=True, metavar="DATE", help="First day (YYYY-MM-DD).")
@click.option("--to", "end", required=True, metavar="DATE", help="Last day, inclusive.")
@population_options
@click.option("--goals", type=click.Path(dir_okay=False), help="Goals TOML (see 'goals --init').")
@click.option("--label", help="Name of this measurement [default: the window].")
@ingest_options
@format_options
@click.pass_obj
def baseline(
    c: Ctx,
    paths,
    start,
    end,
    roster,
    population_size,
    by,
    goals,
    label,
    input_format,
    mapping,
    fmt,
    output,
    force,
) -> None:
    """Ingest PATHS (if any), then take the zero measurement of the window."""
    fmt = output_format(fmt, output)  # a format this version cannot write fails first
    result = _baseline(
        c,
        paths,
        input_format,
        mapping,
        start,
        end,
        roster,
        population_size,
        by,
        goals,
        label or f"baseline {start}..{end}",
    )
    emit(result, fmt, output, force, c)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--baseline",
    "baseline_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The JSON written by 'baseline --format json'.",
)
@click.option("--from", "start", required=True, metavar="DATE")
@click.option("--to", "end", required=True, metavar="DATE")
@population_options
@click.option("--goals", type=click.Path(dir_okay=False))
@click.option("--label", help="Name of this measurement [default: the window].")
@click.option("--fail-on-goals", is_flag=True, help="Exit 3 when a goal is not met.")
@click.option(
    "--allow-different-basis",
    is_flag=True,
    help="Compare even if the baseline's population basis (roster, --population, observed) "
    "differs; the report says so.",
)
@ingest_options
@format_options
@click.pass_obj
def compare(
    c: Ctx,
    paths,
    baseline_file,
    start,
    end,
    roster,
    population_size,
    by,
    goals,
    label,
    fail_on_goals,
    allow_different_basis,
    input_format,
    mapping,
    fmt,
    output,
    force,
) -> None:
    """Ingest PATHS (if any), measure the window, and compare it with the baseline."""
    from . import api

    fmt = output_format(fmt, output)
    base = api.load_baseline(baseline_file)
    if paths:
        _ingest(c, paths, input_format, mapping)
    with _measure_bar(c, "compare") as steps:
        result = api.compare_to(
            c.store(),
            base,
            start,
            end,
            config=c.config,
            roster=roster,
            population_size=population_size,
            by=by,
            goals=goals,
            label=label or f"current {start}..{end}",
            allow_different_basis=allow_different_basis,
            progress=steps,
        ).to_dict()
    emit(result, fmt, output, force, c)
    from .goals import unmet

    missed = unmet(result) if fail_on_goals else []
    if missed:
        click.echo(f"goals not met: {'; '.join(missed)}", err=True)
        sys.exit(int(ExitCode.GOALS_NOT_MET))


@cli.command()
@click.option(
    "--period",
    type=click.Choice(["day", "week", "month", "quarter", "year"]),
    default="month",
    show_default=True,
)
@click.option("--from", "start", metavar="DATE", help="[default: first day in the store]")
@click.option("--to", "end", metavar="DATE", help="[default: last day in the store]")
@population_options
@text_options
@quiet_option
@format_options
@click.pass_obj
def report(c: Ctx, period, start, end, roster, population_size, by, fmt, output, force) -> None:
    """The three rates per period, each period over its own population."""
    from . import api

    fmt = output_format(fmt, output)
    with _measure_bar(c, f"report by {period}") as steps:
        result = api.trend(
            c.store(),
            period,
            start,
            end,
            config=c.config,
            roster=roster,
            population_size=population_size,
            by=by,
            progress=steps,
        )
    emit(result.to_dict(), fmt, output, force, c)


@cli.command()
def schema() -> None:
    """Print the JSON Schema every JSON report validates against."""
    from importlib import resources

    click.echo(resources.files("intranet_metrics").joinpath("report.schema.json").read_text())


@cli.command()
@click.option(
    "--init",
    "init_file",
    type=click.Path(dir_okay=False),
    help="Write a commented goals file to edit.",
)
@click.option(
    "--goals", "goals_file", type=click.Path(dir_okay=False), help="Show the goals of this file."
)
@click.option("--force", is_flag=True)
@click.pass_obj
def goals(c: Ctx, init_file, goals_file, force) -> None:
    """Print the active goals, or write a goals file with --init."""
    from .goals import TEMPLATE, describe, load_goals

    if init_file:
        write_output(Path(init_file), TEMPLATE.format(name=init_file), force)
        _note(f"wrote {init_file}; edit it and pass it with --goals")
        return
    active = load_goals(goals_file or c.config.goals)
    source = goals_file or c.config.goals or "defaults"
    for metric, target in active.items():
        click.echo(f"{metric:<12} {describe(metric, target)}")
    for dim, by_value in active.segments.items():
        for value, targets in by_value.items():
            for metric, target in targets.items():
                where = f"every {dim}" if value == "*" else f"{dim} {value}"
                click.echo(f"{metric:<12} {describe(metric, target)} ({where})")
    _note(f"(goals from {source})")


@cli.command()
def formats() -> None:
    """List the export formats, what each can tell and what it cannot."""
    from . import api
    from .render.admin import formats_table

    _console(width=_width()).print(formats_table(api.formats()))


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
# The committed sample_logs/ is this command's output with these defaults (tests check it).
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--people", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--force", is_flag=True, help="Write into a folder that has files.")
def sample(directory, seed, people, force) -> None:
    """Write a synthetic organisation (roster, goals, exports in every format) to DIRECTORY."""
    from .sample import write_sample

    d = Path(directory)
    if d.exists() and any(d.iterdir()) and not force:
        raise UsageError(f"{d} is not empty; choose a new folder or add --force")
    written = write_sample(d, seed=seed, people=people)
    _note(f"wrote {len(written)} files to {d}: roster.csv, goals.toml and exports/")
    # Quoted when needed: Windows profile folders often hold spaces ("Jan de Vries").
    ex, ro = (f'"{p}"' if " " in str(p) else str(p) for p in (d / "exports", d / "roster.csv"))
    _note(f"next: intranet-metrics baseline {ex} --roster {ro} --from 2026-01-01 --to 2026-03-31")


@cli.command()
@click.option("--limit", type=int, default=100, show_default=True, help="0 for all.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.pass_obj
def rejects(c: Ctx, limit, fmt) -> None:
    """Show the rows that could not be read, with file, line and reason."""
    from . import api
    from .render.admin import rejects_csv, rejects_table

    table = api.rejects(c.store(), None if limit == 0 else limit)
    doc = {"kind": "rejects", "rows": table.to_pylist()}
    if fmt == "json":
        click.echo(to_json(doc), nl=False)
    elif fmt == "csv":
        click.echo(rejects_csv(doc | {"columns": table.schema.names}), nl=False)
    else:
        _console(width=_width()).print(rejects_table(doc))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_obj
def sources(c: Ctx, fmt) -> None:
    """List the exports in the store (path, SHA-256, format, events, span); give a path or
    SHA-256 from here to 'forget'."""
    from . import api
    from .render.admin import sources_table

    doc = {"kind": "sources", "sources": api.sources(c.store())}
    if fmt == "json":
        click.echo(to_json(doc), nl=False)
        return
    _console(width=_width()).print(sources_table(doc | {"store": str(c.store_path)}))


@cli.command()
@click.argument("specs", nargs=-1, required=True, metavar="SOURCE...")
@click.option("--no-wait", is_flag=True, help="Fail at once if another writer holds the store.")
@click.pass_obj
def forget(c: Ctx, specs, no_wait) -> None:
    """Take sources (a path or SHA-256 prefix from 'sources') and their events out of the
    store, e.g. to ingest them again with other settings."""
    from . import api

    result = api.forget(c.store(), specs, wait=not no_wait, notify=_note)
    for s in result.forgotten:
        _note(f"forgot {s['path']} ({s['sha256'][:12]}); ingest it again to read it afresh")
    _note(f"removed {result.events_removed:,} events and {result.rejects_removed:,} rejected rows")
    if result.shared_with:
        _warn(
            f"{len(result.shared_with)} other source(s) shared events with what was forgotten "
            "(counted once, under the first source read); ingest the forgotten source(s) "
            "again to restore them"
        )


@cli.command()
@click.option("--no-wait", is_flag=True, help="Fail at once if another writer holds the store.")
@click.pass_obj
def compact(c: Ctx, no_wait) -> None:
    """Merge each month's data files into one, sorted by time (after many small ingests)."""
    from . import api

    result = api.compact(c.store(), wait=not no_wait, notify=_note, tz=c.config.timezone)
    if not result.months:
        click.echo(f"{c.store_path}: one data file per month already; nothing to compact")
        return
    click.echo(
        f"compacted {len(result.months)} month(s) ({result.months[0]} to {result.months[-1]}): "
        f"{result.files_before:,} data files -> {result.files_after:,}"
    )


@cli.command()
@click.option("--no-wait", is_flag=True, help="Fail at once if another writer holds the store.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_obj
def repair(c: Ctx, no_wait, fmt) -> None:
    """Restore a damaged store: drop what cannot be read and list the exports to ingest again."""
    from . import api
    from .render.admin import repair_lines

    result = api.repair(c.store_path, wait=not no_wait, notify=_note)
    doc = {
        "kind": "repair",
        "problems": result.problems,
        "ingest_again": result.ingest_again,
        "removed": result.removed,
    }
    if fmt == "json":
        click.echo(to_json(doc), nl=False)
        return
    for line in repair_lines(doc, str(c.store_path), result.repaired):
        click.echo(line)


@cli.command()
@click.option("--roster", type=click.Path(dir_okay=False), help="HR roster CSV.")
@text_options
@click.option("--from", "start", metavar="DATE", help="Only events from this day.")
@click.option("--to", "end", metavar="DATE", help="Only events up to this day.")
@click.option(
    "--top", type=int, default=20, show_default=True, help="How many unmatched actors to list."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_obj
def identities(c: Ctx, roster, start, end, top, fmt) -> None:
    """Diagnose identity matching: coverage per source and the top unmatched actors.

    This is the only command that shows individual actors (normalised ids, or keyed
    hashes when pseudonymised); use it to fix the roster's aliases, not in reports."""
    from . import api
    from .render.admin import identities_table

    result = api.identities(
        c.store(), config=c.config, roster=roster, start=start, end=end, top=top
    )
    if fmt == "json":
        click.echo(to_json({"kind": "identities", **result}), nl=False)
        return
    _console(width=_width()).print(identities_table(result, top))
    if result["top_unmatched"]:
        _note(
            "add these identifiers to the roster's aliases column (';'-separated), or to "
            "service_accounts in the config if they are not people"
        )


@cli.command()
@click.argument("report_file", type=click.Path(dir_okay=False))
@click.pass_obj
def verify(c: Ctx, report_file) -> None:
    """Re-hash the inputs a JSON report lists; exit 7 if any changed or is missing."""
    from . import api

    checks = api.verify(report_file)
    for ch in checks:
        click.echo(f"{ch.status:<10} {printable(ch.file)}")
    bad = [ch for ch in checks if ch.status not in ("unchanged", "superseded")]
    if bad:
        click.echo(f"Error: {len(bad)} of {len(checks)} input(s) changed or missing", err=True)
        sys.exit(int(ExitCode.VERIFY_CHANGED))
    if not checks:
        _note("the report lists no inputs (nothing was ingested for its window)")
        return
    _note(f"all {len(checks)} input(s) unchanged")


def main() -> None:
    cli.main(prog_name="intranet-metrics")


if __name__ == "__main__":
    main()
