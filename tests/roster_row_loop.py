"""The row-loop roster reader of before issue 12, kept as the oracle of the columnar one
(tests/test_roster_columnar.py): the same people, keys, dates and aliases, the same errors."""

# ruff: noqa
from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from intranet_metrics.errors import ConfigError, IntranetMetricsError
from intranet_metrics.identity import Pseudonymiser, alias_forms, personal_value
from intranet_metrics.loaders import textfile
from intranet_metrics.roster import (
    DATE_COLUMNS,
    IDENTITY_COLUMNS,
    RESERVED,
    ROW_LIMIT,
    UNKNOWN,
    Roster,
    _date,
)


def row_loop_roster(
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
    ``date_format``."""
    pseudo = pseudo or Pseudonymiser(None)
    path = Path(path)
    try:
        found = textfile.choose_encoding(path, encoding)
        fh = textfile.open_text(path, "", found)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such roster file; check --roster") from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot open the roster ({exc.strerror}); check --roster"
        ) from None
    except IntranetMetricsError as exc:
        raise ConfigError(f"{exc} (the roster)") from None
    notes = (f"roster {path}: {found.note}",) if found.note else ()
    with fh:
        sep = textfile.sniff_delimiter(fh.readline(textfile.HEAD_BYTES), delimiter)
        fh.seek(0)
        tried = f"read as {textfile.delimiter_name(sep)}-separated {found.name}"
        records = textfile.csv_rows(fh, sep, ROW_LIMIT)
        first = next(records, None)
        if first is None:
            raise ConfigError(f"{path}: the roster is empty; it needs a user_id column")
        if isinstance(first[1], textfile.BadRecord):
            raise ConfigError(
                f"{path} line 1: unreadable roster header ({first[1].reason}; {tried}); "
                "save it as CSV"
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
        dims = tuple(h for h in header if h and h not in IDENTITY_COLUMNS + DATE_COLUMNS)
        idx = {h: i for i, h in enumerate(header)}
        people: dict[str, list] = {
            "person": [],
            "person_key": [],
            "start_date": [],
            "end_date": [],
        }
        people.update({d: [] for d in dims})
        alias_owner: dict[str, tuple[int, int]] = {}
        seen: dict[str, int] = {}
        line = 1
        for line, row in records:
            if isinstance(row, textfile.BadRecord):
                raise ConfigError(
                    f"{path} line {line}: unreadable roster record ({row.reason}; {tried}); "
                    "fix the roster"
                )
            if not any(v.strip() for v in row):
                continue
            if len(row) != len(header):
                raise ConfigError(
                    f"{path} line {line}: {len(row)} values for {len(header)} columns "
                    f"({tried}); fix the roster"
                )
            uid = row[idx["user_id"]].strip()
            if not uid:
                raise ConfigError(f"{path} line {line}: empty user_id; every person needs one")
            key = uid.lower()
            if key in seen:
                raise ConfigError(
                    # Lines, not the id: messages never print an identifier.
                    f"{path} line {line}: the same user_id as line {seen[key]}; "
                    "user_id must be unique"
                )
            seen[key] = line
            start = (
                _date(row[idx["start_date"]], path, line, "start_date", date_format)
                if "start_date" in idx
                else None
            )
            end = (
                _date(row[idx["end_date"]], path, line, "end_date", date_format)
                if "end_date" in idx
                else None
            )
            if start and end and end < start:
                raise ConfigError(
                    f"{path} line {line}: end_date {end} is before start_date {start}; "
                    "fix the roster"
                )
            person = len(people["person"])
            people["person"].append(person)
            # A stable pseudonymous key (keyed when pseudonymising) that lets two
            # measurements be paired without storing the employee id.
            people["person_key"].append(pseudo.key_hash("person\x1f" + key))
            people["start_date"].append(start)
            people["end_date"].append(end)
            for d in dims:
                people[d].append(row[idx[d]].strip() or UNKNOWN)
            names = [("user_id", uid)]
            for col in ("email", "upn"):
                if col in idx:
                    names.append((col, row[idx[col]]))
            if "aliases" in idx:
                names.extend(("aliases", a) for a in row[idx["aliases"]].split(";"))
            for col, name in names:
                for form in alias_forms(name):
                    owner = alias_owner.get(form)
                    if owner is not None and owner[0] != person:
                        raise ConfigError(
                            f"{path} line {line}: an identifier in {col} also belongs "
                            f"to the person on line {owner[1]}; each alias must be unique"
                        )
                    alias_owner[form] = (person, line)
    people_schema = pa.schema(
        [
            ("person", pa.int64()),
            ("person_key", pa.string()),
            ("start_date", pa.date32()),
            ("end_date", pa.date32()),
        ]
        + [(d, pa.string()) for d in dims]
    )
    aliases = pa.table(
        {
            "identifier": [pseudo(a) for a in alias_owner],
            "person": [p for p, _ in alias_owner.values()],
        },
        schema=pa.schema([("identifier", pa.string()), ("person", pa.int64())]),
    )
    return Roster(pa.table(people, schema=people_schema), aliases, dims, str(path), notes)
