"""arrowutil builds the arrays pa.array would, without importing pandas (issue 11 item 4)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from intranet_metrics import arrowutil as au


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.text())))
def test_texts_are_pa_array(values):
    made = au.texts(values)
    made.validate(full=True)
    assert made.equals(pa.array(values, pa.string()))


@settings(deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1)))
def test_fixed_and_numbers_round_trip(values):
    made = au.fixed(values)
    assert made.equals(pa.array(values, pa.int64()))
    assert au.numbers(made).tolist() == values


def test_numbers_of_a_slice_and_of_flags():
    assert au.numbers(au.fixed(np.arange(10)).slice(3, 4)).tolist() == [3, 4, 5, 6]
    mask = np.array([True, False, True] * 5)
    assert au.flags(mask).equals(pa.array(mask))


def test_ingest_of_a_generic_csv_imports_neither_pandas_nor_ibis(tmp_path):
    # Fails on 382c19e: pa.array on the ingest path imported pandas (pyarrow's pandas
    # shim), and api imported report and engine (ibis): 0.4 of 0.75 CPU-s per run.
    csv = tmp_path / "e.csv"
    csv.write_text("timestamp,user,activity\n2024-01-01T10:00:00Z,anna@contoso.com,like\n")
    code = (
        "import sys; from intranet_metrics.cli import main; sys.argv = ['im', '--store', "
        f"{str(tmp_path / 's')!r}, 'ingest', {str(csv)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(sorted(m for m in ('pandas', 'ibis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
