"""Fast builders for Arrow columns from numpy arrays: ids, money, categories.

The simulator works on integer codes in numpy and turns them into Arrow only at
the end; these helpers do that without a Python loop per value (string columns are
assembled from fixed-width byte matrices, money from integer cents).

>>> hex_ids(0, np.array([1, 2]), salt=7).to_pylist()[0] != hex_ids(0, np.array([1]), salt=8).to_pylist()[0]
True
>>> digit_matrix("C", np.array([7, 42]), width=4).tobytes()
b'C0007C0042'
>>> money(np.array([1250, -3])).to_pylist()
[Decimal('12.50'), Decimal('-0.03')]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.events.contract import MONEY, TIMESTAMP

_HEX_QUADS = np.array(
    [int.from_bytes(f"{b & 0xFF:02x}{b >> 8:02x}".encode(), "little") for b in range(1 << 16)],
    dtype=np.uint32,
)
"""Two little-endian bytes -> their four lowercase hex characters (in memory order), as one
uint32: half the lookups of a per-byte table, and the 256 KiB table stays in cache."""

_MASK64 = (1 << 64) - 1


def splitmix64(z: npt.NDArray[np.uint64], scratch: npt.NDArray[np.uint64] | None = None) -> None:
    """A bijection on uint64 that scrambles counters into random-looking ids, in place
    (``scratch``, of ``z``'s length, saves allocating one).

    Distinct inputs give distinct outputs, so ids made from distinct counters never
    collide.

    >>> z = np.array([0], np.uint64)
    >>> splitmix64(z)
    >>> z.tolist() == [splitmix64_scalar(0)]
    True
    """
    shifted = np.empty_like(z) if scratch is None else scratch
    z += np.uint64(0x9E3779B97F4A7C15)
    for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, None)):
        np.right_shift(z, np.uint64(shift), out=shifted)
        z ^= shifted
        if factor is not None:
            z *= np.uint64(factor)


_STEPS: dict[int, npt.NDArray[np.int32]] = {}


def _steps(rows: int, width: int) -> npt.NDArray[np.int32]:
    """``0, width, 2 * width, ...``, ``rows + 1`` of them: the offsets of ``rows`` strings of
    ``width`` bytes, read-only and shared by every such column (grown when one is longer), as
    the batches' all-null columns share their zeros.

    >>> _steps(3, 16).tolist()
    [0, 16, 32, 48]
    """
    steps = _STEPS.get(width)
    if steps is None or len(steps) <= rows:
        steps = np.arange(0, (rows + 1 + rows // 4) * width, width, dtype=np.int32)  # room to grow
        steps.flags.writeable = False
        _STEPS[width] = steps  # another thread may set its own copy: both hold the same values
    return steps[: rows + 1]


def strings(chars: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """A string array from a fixed-width byte matrix.

    Without ``valid``, value i is row i. With it, either the matrix has a row per slot
    (the null slots' rows are not read) or it holds one row per valid slot (in order) and
    the other slots are null, taking no bytes.

    >>> strings(np.frombuffer(b"abcd", np.uint8).reshape(2, 2), np.array([False, True])).to_pylist()
    [None, 'cd']
    """
    rows, width = chars.shape
    data = pa.py_buffer(np.ascontiguousarray(chars))
    if valid is None or rows == len(valid):
        offsets = _steps(rows, width)
        return pa.Array.from_buffers(pa.string(), rows, [_validity(valid), pa.py_buffer(offsets), data])
    if rows * 8 < len(valid):
        offsets = _spread_offsets(_steps(rows, width), valid)
    else:  # dense: the running count of valid slots, in width steps
        offsets = np.zeros(len(valid) + 1, dtype=np.int32)
        # summed from int32 into another array: numpy holds the GIL through a cumulative sum
        # that casts (bool to int) or runs in place, and releases it through this one
        np.cumsum(valid.astype(np.int32), out=offsets[1:])
        offsets *= width
    return pa.Array.from_buffers(pa.string(), len(valid), [_validity(valid), pa.py_buffer(offsets), data])


def _spread_offsets(offsets: npt.NDArray[np.int32], valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.int32]:
    """Offsets of a string column whose valid slots hold, in order, the strings ``offsets``
    delimits, and whose other slots are empty.

    >>> _spread_offsets(np.array([0, 2, 5], np.int32), np.array([False, True, False, True])).tolist()
    [0, 0, 2, 2, 5]
    """
    where = np.flatnonzero(valid)
    if len(where) * 8 < len(valid):
        # sparse: each offset repeats until the next valid slot (cheaper than a cumsum)
        repeated: npt.NDArray[np.int32] = np.repeat(offsets, np.diff(where, prepend=-1, append=len(valid)))
        return repeated
    lengths = np.zeros(len(valid) + 1, dtype=np.int32)
    lengths[where + 1] = np.diff(offsets)  # each slot's length
    spread = np.cumsum(lengths, dtype=np.int32)  # not in place: that would hold the GIL
    spread += offsets[0] if len(offsets) else 0
    return spread


def spread(values: pa.Array, valid: npt.NDArray[np.bool_]) -> pa.Array:
    """Strings given for the valid slots only, placed in a column with nulls elsewhere.

    >>> spread(pa.array(["a", "bc"]), np.array([False, True, True])).to_pylist()
    [None, 'a', 'bc']
    """
    values = values.cast(pa.string())
    offsets_in = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    offsets = _spread_offsets(offsets_in, valid)
    data = values.buffers()[2] if len(values) else pa.py_buffer(b"")
    return pa.Array.from_buffers(pa.string(), len(valid), [_validity(valid), pa.py_buffer(offsets), data])


def hex_ids(
    high: npt.NDArray[np.integer] | int,
    low: npt.NDArray[np.integer],
    salt: int,
    valid: npt.NDArray[np.bool_] | None = None,
) -> pa.Array:
    """16-character hex ids, unique per (salt, high, low) for ``high`` and ``low`` below 2**32;
    with ``valid``, ``high`` and ``low`` hold the valid slots' only and the other slots are null."""
    return strings(hex_matrix(high, low, salt), valid)


_BLOCK = 1 << 15
"""Rows :func:`hex_matrix` hashes at a time: a block's scratch stays in the core's cache through
the hash's ten steps, where a whole batch's would stream through memory at each step."""


def hex_matrix(
    high: npt.NDArray[np.integer] | int, low: npt.NDArray[np.integer], salt: int
) -> npt.NDArray[np.uint8]:
    """The ids of :func:`hex_ids` as rows of 16 bytes: the counter ``high << 32 | low``
    scrambled by :func:`splitmix64` and written out as hex."""
    n = len(low)
    high = np.broadcast_to(high, (n,))
    key = np.uint64(splitmix64_scalar(salt))
    quads = np.empty((n, 4), np.uint32)
    counters, scratch = np.empty(min(n, _BLOCK), np.uint64), np.empty(min(n, _BLOCK), np.uint64)
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        z, s = counters[: stop - start], scratch[: stop - start]
        z[:] = high[start:stop]
        z <<= np.uint64(32)
        s[:] = low[start:stop]
        z |= s
        z ^= key
        with np.errstate(over="ignore"):
            splitmix64(z, s)
        quads[start:stop] = lookup(_HEX_QUADS, z.view(np.uint16)).reshape(-1, 4)
    return quads.view(np.uint8)


def lookup(
    table: npt.NDArray[Any], index: npt.NDArray[np.integer], *, writable: bool = False
) -> npt.NDArray[Any]:
    """``np.take(table, index)`` for an ``index`` of a narrow integer type (uint16 draws,
    int32 codes), as a read-only array unless ``writable`` (then a copy).

    Arrow's take reads any index width, where ``np.take`` first copies the index to int64:
    for 16-bit indexes it is twice as fast, copy included. The indexes must be in range (no
    negative ones).

    >>> lookup(np.array([10, 20, 30]), np.array([2, 0], np.uint16)).tolist()
    [30, 10]
    """
    taken: npt.NDArray[Any] = pc.take(pa.array(table), pa.array(index)).to_numpy()
    # numpy's copy releases the GIL, where Arrow's writable conversion holds it
    return taken.copy() if writable else taken


def _validity(valid: npt.NDArray[np.bool_] | None) -> pa.Buffer | None:
    return None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))


def splitmix64_scalar(value: int) -> int:
    """:func:`splitmix64` of one Python int (used to turn a seed into a salt)."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def digit_matrix(prefix: str, numbers: npt.NDArray[np.integer], width: int) -> npt.NDArray[np.uint8]:
    """Rows of ``prefix`` followed by ``numbers`` zero-padded to ``width`` digits."""
    n = len(numbers)
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    out = np.empty((n, len(head) + width), dtype=np.uint8)
    out[:, : len(head)] = head
    rest = numbers.astype(np.int64)
    for position in range(len(head) + width - 1, len(head) - 1, -1):
        out[:, position] = (rest % 10 + 48).astype(np.uint8)
        rest = rest // 10
    return out


def take_ids(
    matrix: npt.NDArray[np.uint8], index: npt.NDArray[np.integer], valid: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """Ids of the entities at ``index`` (rows of a prebuilt id matrix); null where not ``valid``."""
    if valid is not None:
        index = np.take(index, np.flatnonzero(valid))  # much faster than a boolean mask
    return strings(np.take(matrix, index, axis=0), valid)  # faster than matrix[index]


def nulls(n: int, type_: pa.DataType, zeros: npt.NDArray[np.uint8] | None = None) -> pa.Array:
    """An all-null column of ``n`` slots, every buffer a view of zeroed memory: ``zeros``
    if given (at least 16 bytes a slot, shared by a batch's empty columns), else its own.

    Faster than ``pa.nulls`` for the wide, always-empty columns of a batch.

    >>> nulls(3, MONEY).to_pylist(), nulls(2, pa.string(), np.zeros(40, np.uint8)).to_pylist()
    ([None, None, None], [None, None])
    """
    if pa.types.is_dictionary(type_):
        indices = nulls(n, type_.index_type, zeros)
        return pa.DictionaryArray.from_arrays(indices, pa.array([], type_.value_type))
    width = 4 if pa.types.is_string(type_) else type_.bit_width // 8
    if zeros is None:
        zeros = np.zeros(width * n + 4, np.uint8)
    buffer = pa.py_buffer(zeros)
    if pa.types.is_string(type_):
        return pa.Array.from_buffers(type_, n, [buffer, buffer, pa.py_buffer(b"")], null_count=n)
    return pa.Array.from_buffers(type_, n, [buffer, buffer], null_count=n)


def money(cents: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """``decimal128(18, 2)`` from integer cents, built directly from the 16-byte layout."""
    n = len(cents)
    words = np.zeros(2 * n, dtype=np.int64)  # (low, high) word pairs
    if valid is not None and np.count_nonzero(valid) * 8 < n:
        # sparse: the few values written into zeroed memory, through a mask (an index
        # assignment would hold the GIL while it faults the fresh pages in)
        np.copyto(words[0::2], cents, where=valid)
        if n and cents.min() < 0:
            np.copyto(words[1::2], cents >> 63, where=valid)  # sign extension into the high word
    else:
        words[0::2] = cents
        if n and cents.min() < 0:
            words[1::2] = cents >> 63
    return pa.Array.from_buffers(MONEY, n, [_validity(valid), pa.py_buffer(words)])


def fixed(
    values: npt.NDArray[Any], type_: pa.DataType, valid: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """A fixed-width column from numpy values (cast to ``type_``'s width); null where not ``valid``.

    Built from buffers: ``pa.array(values, mask=...)`` costs thirty times as much.

    >>> fixed(np.array([7, 8]), pa.int32(), valid=np.array([True, False])).to_pylist()
    [7, None]
    """
    numpy_type = np.int64 if pa.types.is_timestamp(type_) else type_.to_pandas_dtype()
    data = values.astype(numpy_type, copy=False)
    return pa.Array.from_buffers(type_, len(values), [_validity(valid), pa.py_buffer(data)])


def category(
    codes: npt.NDArray[np.integer], values: Sequence[str], valid: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """A dictionary-encoded column: ``codes`` index into ``values``."""
    indices = fixed(codes, pa.int32(), valid)
    # safe=False skips a bounds check of every code: the simulator's codes come from ``values``
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(values), pa.string()), safe=False)


def timestamps(micros: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """UTC microsecond timestamps from epoch microseconds."""
    return fixed(micros, TIMESTAMP, valid)
