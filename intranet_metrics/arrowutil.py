"""Arrow arrays from Python and NumPy values, and NumPy views of Arrow arrays, without
pyarrow's pandas check.

``pa.array``, ``pa.scalar`` and ``Array.to_numpy`` ask pyarrow's pandas shim whether the
input is a pandas object, and the first time they do, the shim imports pandas
(``Schema.empty_table`` imports it too): a third of a CPU second of every ingest, which
never uses pandas (measured: 0.74 -> 0.53 CPU-s for a
10-line file, with ibis left out too). The ingest path builds its arrays here instead;
elsewhere ``pa.array`` is fine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def text(value: str | None) -> pa.Scalar:
    """``pa.scalar(value, pa.string())``, for compute functions given a constant."""
    return texts([value])[0]


def texts(values: Sequence[str | None]) -> pa.Array:
    """``pa.array(values, pa.string())``."""
    n = len(values)
    encoded = [b"" if v is None else v.encode() for v in values]
    data = b"".join(encoded)
    if len(data) >= 1 << 31:  # beyond 32-bit offsets: let pyarrow chunk it
        return pa.array(values, pa.string())
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.fromiter(map(len, encoded), np.int32, n), out=offsets[1:])
    missing = np.fromiter((v is None for v in values), np.bool_, n)
    nulls = int(missing.sum())
    valid = _bitmap(~missing) if nulls else None
    return pa.Array.from_buffers(
        pa.string(), n, [valid, pa.py_buffer(offsets), pa.py_buffer(data)], nulls
    )


def fixed(values: np.ndarray | Sequence[int], type: pa.DataType | None = None) -> pa.Array:
    """``pa.array(values, type)`` of numbers without nulls (int64 by default, int32, date32
    days)."""
    type = type or pa.int64()
    dtype = np.int32 if type.bit_width == 32 else np.int64
    buffer = np.ascontiguousarray(values, dtype=dtype)
    return pa.Array.from_buffers(type, len(buffer), [None, pa.py_buffer(buffer)])


def ints(values: Sequence[int | None]) -> pa.Array:
    """``pa.array(values, pa.int64())`` of numbers with nulls."""
    n = len(values)
    missing = np.fromiter((v is None for v in values), np.bool_, n)
    data = np.fromiter((0 if v is None else v for v in values), np.int64, n)
    nulls = int(missing.sum())
    valid = _bitmap(~missing) if nulls else None
    return pa.Array.from_buffers(pa.int64(), n, [valid, pa.py_buffer(data)], nulls)


def flags(values: np.ndarray) -> pa.Array:
    """``pa.array(values)`` of a NumPy bool array."""
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, _bitmap(values)])


def empty(schema: pa.Schema) -> pa.Table:
    """``schema.empty_table()``, which imports pandas."""
    return pa.Table.from_batches([], schema=schema)


def numbers(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``array.to_numpy()`` of a fixed-width array without nulls (a read-only view)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count or array.type.bit_width not in (32, 64):
        return array.to_numpy(zero_copy_only=False)
    t = array.type
    kind = "f" if pa.types.is_floating(t) else "u" if pa.types.is_unsigned_integer(t) else "i"
    dtype = np.dtype(f"{kind}{t.bit_width // 8}")
    if not len(array):
        return np.zeros(0, dtype)
    return np.frombuffer(array.buffers()[1], dtype, len(array), array.offset * dtype.itemsize)


def _bitmap(mask: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(mask.astype(np.bool_), bitorder="little"))
