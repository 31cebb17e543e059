"""The HR roster: who could have taken part (SPEC section 2), and every name they go by."""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import ConfigError, IntranetMetricsError
from .identity import ID_NAMESPACES, Pseudonymiser, personal_value
from .loaders import textfile
from .metrics import DEFAULT
from .notices import Notice

IDENTITY_COLUMNS = ("user_id", "email", "upn", "aliases")
# Names the engine uses for its own columns: a roster column may not take them. The
# metrics' columns come from the registry (metrics.py); the engine checks a registry
# other than the default itself.
RESERVED = (
    "person",
    "person_key",
    "period",
    "from_date",
    "to_date",
    "start_utc",
    "end_utc",
    "f_period",
    "f_person",
    *(f"l_{step}" for step in ("inactive", "reader_only", "reactor_only", "contributor")),
    "population",
    "identifier",
    *DEFAULT.engine_columns(),
)
DATE_COLUMNS = ("start_date", "end_date")
UNKNOWN = "(unknown)"
# A roster row is a few hundred characters; a longer record is a broken quote.
ROW_LIMIT = 1 << 20


@dataclass(frozen=True)
class Roster:
    """People (one row each, with employment dates and segment columns) and their aliases."""

    people: pa.Table  # person (int), person_key, start_date, end_date, <dimensions...>
    aliases: pa.Table  # identifier (normalised or hashed), person
    dimensions: tuple[str, ...]
    path: str
    notes: tuple[str, ...] = ()  # what reading it assumed (an encoding), for the warnings

    @property
    def size(self) -> int:
        return self.people.num_rows


def _date(
    value: str, path: Path, line: int, column: str, date_format: str | None = None
) -> date | None:
    """A roster date: ISO 8601 (a time after it is ignored), or ``date_format``."""
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        pass
    if date_format:
        try:
            return datetime.strptime(value, date_format).date()
        except ValueError:
            pass
    raise ConfigError(
        f"{path} line {line}: {column} is not an ISO date (YYYY-MM-DD)"
        + (f" nor {date_format}" if date_format else "")
        + "; fix the roster, or set date_format in the config (e.g. '%d-%m-%Y', the Dutch "
        "Excel date)"
    ) from None


def load_roster(
    path: str | Path,
    pseudo: Pseudonymiser | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    date_format: str | None = None,
) -> Roster:
    """Read a roster CSV; every identifier is normalised (and hashed when pseudonymising).

    The file may be any CSV a spreadsheet writes (``textfile``): separator ``, ; tab |``
    found from the header, UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252
    (noted); ``encoding`` and ``delimiter`` force them. Dates are ISO 8601 or
    ``date_format``. The records are read once into columns; every check after that is
    columnar (pyarrow): 100,000 people in a fraction of the row loop's time."""
    pseudo = pseudo or Pseudonymiser(None)
    path = Path(path)
    fh, found = _open(path, encoding)
    notes = _notes(path, found)
    # Every check finds its first bad line; the earliest is reported, as a row loop would.
    errors: list[tuple[int, int, str]] = []
    with fh:
        header, cols, lines = _read(fh, path, delimiter, found.name, errors)
    dims = tuple(h for h in header if h and h not in IDENTITY_COLUMNS + DATE_COLUMNS)
    people = _people(path, cols, lines, dims, pseudo, date_format, errors)
    aliases = _aliases(path, cols, lines, pseudo, errors)
    if errors:
        raise ConfigError(min(errors)[2])
    return Roster(people, aliases, dims, str(path), notes)


def _notes(path: Path, found: textfile.Encoding) -> tuple[str, ...]:
    """What reading the roster assumed, as warnings (coded, so a Dutch report says it in
    Dutch)."""
    if found.bad_line is not None:
        where = {"path": str(path), "byte": found.bad_byte, "line": found.bad_line}
        return (Notice("roster_encoding", **where),)
    return (f"roster {path}: {found.note}",) if found.note else ()


def _open(path: Path, encoding: str | None) -> tuple[IO[str], textfile.Encoding]:
    try:
        found = textfile.choose_encoding(path, encoding)
        return textfile.open_text(path, "", found), found
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such roster file; check --roster") from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot open the roster ({exc.strerror}); check --roster"
        ) from None
    except IntranetMetricsError as exc:
        raise ConfigError(f"{exc} (the roster)") from None


def _read(
    fh: IO[str],
    path: Path,
    delimiter: str | None,
    encoding: str,
    errors: list[tuple[int, int, str]],
) -> tuple[list[str], dict[str, pa.Array], pa.Array]:
    """The header, each column as strings, and each kept row's line number: read by Arrow
    when the file is plain, else by ``textfile`` (quotes, dialects, multi-line records) up
    to the first record that cannot be a row (its error joins ``errors``)."""
    sep = textfile.sniff_delimiter(fh.readline(textfile.HEAD_BYTES), delimiter)
    fh.seek(0)
    tried = f"read as {textfile.delimiter_name(sep)}-separated {encoding}"
    text = fh.read()
    records = textfile.csv_rows(io.StringIO(text, newline=""), sep, ROW_LIMIT)
    header = _header(path, next(records, None), tried)
    fast = _arrow_read(text, sep, header)
    if fast is not None:
        return header, *_drop_blank(header, fast)
    rows: list[list[str]] = []
    lines: list[int] = []
    for line, row in records:
        if isinstance(row, textfile.BadRecord):
            msg = f"{path} line {line}: unreadable roster record ({row.reason}; {tried}); "
            errors.append((line, -1, msg + "fix the roster"))
            break
        if len(row) != len(header):
            if not any(v.strip() for v in row):
                continue  # a blank line, or a row of empty cells
            msg = f"{path} line {line}: {len(row)} values for {len(header)} columns "
            errors.append((line, -1, msg + f"({tried}); fix the roster"))
            break
        rows.append(row)
        lines.append(line)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    table = pa.table(
        {f"c{i}": pa.array(c, pa.string()) for i, c in enumerate(columns)}
        | {"line": pa.array(lines, pa.int64())}
    )
    return header, *_drop_blank(header, table)


_LINE_END = re.compile(r"\r\n|\r|\n")


def _arrow_read(text: str, sep: str, header: list[str]) -> pa.Table | None:
    """The records after the header read by Arrow's CSV reader, with their line numbers,
    when the file has the plain shape (one record a line, no blank line, no line in a
    quoted value); else None and the record reader takes it (its messages name lines)."""
    first_end = _LINE_END.search(text)
    # A header with an odd number of quotes goes on past its line (a quoted line break):
    # Arrow's rows would not start on the lines counted here. Quoted names (pandas and
    # Excel quote every header cell) are plain.
    if first_end is None or text[: first_end.start()].count('"') % 2:
        return None
    lines = len(_LINE_END.findall(text)) + (0 if _LINE_END.search(text[-1:]) else 1)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(
                skip_rows=1, column_names=[f"c{i}" for i in range(len(header))]
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, newlines_in_values=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(len(header))},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if table.num_rows != lines - 1:
        return None
    return table.append_column("line", pa.array(range(2, table.num_rows + 2), pa.int64()))


def _drop_blank(header: list[str], table: pa.Table) -> tuple[dict[str, pa.Array], pa.Array]:
    """Trimmed columns by name, and line numbers; rows of empty cells only (a spreadsheet's
    trailing rows) are skipped like blank lines."""
    cells = [pc.utf8_trim_whitespace(table.column(f"c{i}")) for i in range(len(header))]
    if cells:
        blank = functools.reduce(pc.and_, [pc.equal(c, "") for c in cells])
        keep = pc.invert(blank)
        cells = [pc.filter(c, keep) for c in cells]
        line = pc.filter(table.column("line"), keep)
    else:
        line = table.column("line")
    cols = {h: c.combine_chunks() for h, c in zip(header, cells, strict=True)}
    return cols, line.combine_chunks()


def _header(path: Path, first: tuple[int, Any] | None, tried: str) -> list[str]:
    if first is None:
        raise ConfigError(f"{path}: the roster is empty; it needs a user_id column")
    if isinstance(first[1], textfile.BadRecord):
        raise ConfigError(
            f"{path} line 1: unreadable roster header ({first[1].reason}; {tried}); save it as CSV"
        )
    header = [h.strip() for h in first[1]]
    if "user_id" not in header:
        # A roster without a header line has a person's identifiers on line 1.
        seen_cols = (
            "it holds an email address: is the header line missing?"
            if any(personal_value("item", h) for h in header)
            else f"found: {', '.join(header[:8])}"
        )
        raise ConfigError(
            f"{path} line 1: the roster has no user_id column ({seen_cols}; {tried}); "
            "rename the column holding the employee id, or give --delimiter / --encoding"
        )
    clash = [h for h in header if h in RESERVED]
    if clash:
        raise ConfigError(
            f"{path} line 1: column name '{clash[0]}' is reserved for the metrics; "
            "rename that roster column"
        )
    return header


def _first(mask: pa.Array) -> int | None:
    """Index of the first true value of ``mask`` (nulls are false), else None."""
    idx = pc.indices_nonzero(pc.fill_null(mask, False))
    return idx[0].as_py() if len(idx) else None


def _people(
    path: Path,
    cols: dict[str, pa.Array],
    lines: pa.Array,
    dims: tuple[str, ...],
    pseudo: Pseudonymiser,
    date_format: str | None,
    errors: list[tuple[int, int, str]],
) -> pa.Table:
    uid = cols["user_id"]
    if (i := _first(pc.equal(uid, ""))) is not None:
        msg = f"{path} line {lines[i]}: empty user_id; every person needs one"
        errors.append((lines[i].as_py(), 0, msg))
    key = pc.utf8_lower(uid)
    if pc.count_distinct(key).as_py() < len(key):
        seen: dict[str, int] = {}
        for k, line in zip(key.to_pylist(), lines.to_pylist(), strict=True):
            if k in seen:
                # Lines, not the id: messages never print an identifier.
                msg = f"{path} line {line}: the same user_id as line {seen[k]}; "
                errors.append((line, 1, msg + "user_id must be unique"))
                break
            seen[k] = line
    n = len(uid)
    start, end = (
        _dates(cols[c], path, lines, c, date_format, errors, rank)
        if c in cols
        else pa.nulls(n, pa.date32())
        for rank, c in enumerate(DATE_COLUMNS, 2)
    )
    if (i := _first(pc.less(end, start))) is not None:
        msg = f"{path} line {lines[i]}: end_date {end[i]} is before start_date {start[i]}; "
        errors.append((lines[i].as_py(), 4, msg + "fix the roster"))
    return pa.table(
        {
            "person": pa.array(range(n), pa.int64()),
            # A stable pseudonymous key (keyed when pseudonymising) that lets two
            # measurements be paired without storing the employee id.
            "person_key": pa.array(pseudo.key_hashes(key.to_pylist(), "person\x1f"), pa.string()),
            "start_date": start,
            "end_date": end,
            **{d: pc.if_else(pc.equal(cols[d], ""), UNKNOWN, cols[d]) for d in dims},
        }
    )


def _dates(
    values: pa.Array,
    path: Path,
    lines: pa.Array,
    column: str,
    date_format: str | None,
    errors: list[tuple[int, int, str]],
    rank: int,
) -> pa.Array:
    """A column of roster dates: ISO ones parsed by Arrow; any other value by ``_date``
    (``date_format``, or the error naming its line)."""
    iso = pc.match_substring_regex(values, r"^\d{4}-\d{2}-\d{2}")
    head = pc.utf8_slice_codeunits(pc.if_else(iso, values, None), 0, 10)
    parsed = pc.cast(pc.strptime(head, "%Y-%m-%d", "s", error_is_null=True), pa.date32())
    rest = pc.and_(pc.not_equal(values, ""), pc.is_null(parsed))
    todo = pc.indices_nonzero(rest).to_pylist()
    if not todo:
        return parsed
    out = parsed.to_pylist()
    for i in todo:
        try:
            out[i] = _date(values[i].as_py(), path, lines[i].as_py(), column, date_format)
        except ConfigError as exc:
            errors.append((lines[i].as_py(), rank, str(exc)))
            break
    return pa.array(out, pa.date32())


def _aliases(
    path: Path,
    cols: dict[str, pa.Array],
    lines: pa.Array,
    pseudo: Pseudonymiser,
    errors: list[tuple[int, int, str]],
) -> pa.Table:
    """(identifier, person): every form of every identity value; a form of two people is
    an error naming the line and column, never the identifier."""
    parts = []
    for order, col in enumerate(c for c in IDENTITY_COLUMNS if c in cols):
        values = cols[col]
        if col == "aliases":
            split = pc.split_pattern(values, ";")
            row = pc.list_parent_indices(split)
            values = pc.list_flatten(split)
        else:
            row = pa.array(range(len(values)), pa.int64())
        parts.append(pa.table({"raw": values, "person": row, "order": pa.repeat(order, len(row))}))
    names = pa.concat_tables(parts)
    forms = _forms(names)
    # The first holder of each form (the lowest person, rows are in file order) owns it.
    # One thread: groups in order of first appearance, the same table on every run.
    held = forms.group_by("form", use_threads=False).aggregate(
        [("person", "min"), ("person", "max")]
    )
    if pc.any(pc.not_equal(held["person_min"], held["person_max"])).as_py():
        _clash(path, [c for c in IDENTITY_COLUMNS if c in cols], lines, forms, held, errors)
    ids = held["form"]
    if pseudo.enabled:
        ids = pa.array([pseudo(a) for a in ids.to_pylist()], pa.string())
    return pa.table(
        {"identifier": ids, "person": held["person_min"].cast(pa.int64())},
        schema=pa.schema([("identifier", pa.string()), ("person", pa.int64())]),
    )


def _clash(
    path: Path,
    columns: list[str],
    lines: pa.Array,
    forms: pa.Table,
    held: pa.Table,
    errors: list[tuple[int, int, str]],
) -> None:
    """The first name (in file order) of a form another person holds already."""
    forms = forms.append_column("seq", pa.array(range(forms.num_rows), pa.int64()))
    forms = forms.sort_by([("person", "ascending"), ("order", "ascending"), ("seq", "ascending")])
    forms = forms.set_column(3, "seq", pa.array(range(forms.num_rows), pa.int64()))
    owners = held.select(["form", "person_min"]).rename_columns(["form", "owner"])
    both = forms.join(owners, "form")
    clash = both.filter(pc.not_equal(both["person"], both["owner"]))
    c = clash.sort_by("seq").slice(0, 1).to_pylist()[0]
    line = lines[c["person"]].as_py()
    msg = f"{path} line {line}: an identifier in {columns[c['order']]} also belongs to the "
    errors.append((line, 5, msg + f"person on line {lines[c['owner']]}; each alias must be unique"))


def _forms(names: pa.Table) -> pa.Table:
    """``alias_forms`` by column: trimmed, lowercased, a claims prefix through the last
    ``|`` dropped; a namespaced id also bare, a bare one also namespaced."""
    v = pc.utf8_lower(pc.utf8_trim_whitespace(names["raw"]))
    v = pc.utf8_trim_whitespace(pc.replace_substring_regex(v, r"^.*\|", ""))
    names = names.set_column(0, "form", v).filter(pc.not_equal(v, ""))
    v = names["form"]
    out = [names]
    bare = pc.invert(pc.match_substring_regex(v, r"[@\\:]"))
    for ns in ID_NAMESPACES:
        has = pc.starts_with(v, ns)
        cut = pc.utf8_slice_codeunits(v, len(ns))
        out.append(names.filter(has).set_column(0, "form", pc.filter(cut, has)))
        out.append(
            names.filter(bare).set_column(
                0, "form", pc.binary_join_element_wise(ns, pc.filter(v, bare), "")
            )
        )
    return pa.concat_tables(out)
