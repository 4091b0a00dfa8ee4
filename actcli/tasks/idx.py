"""The IDX format (MNIST, Fashion-MNIST): read and write, with every header checked.

An IDX file is: two zero bytes, a type code (0x08 = unsigned byte), the number of
dimensions, one big-endian uint32 per dimension, then the data. Files may be gzipped.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from actcli.errors import DataError

_UBYTE = 0x08


def read(path: Path, expect_dims: int | None = None) -> np.ndarray:
    """The array in an IDX file (plain or .gz); DataError when it is not a whole IDX file."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot read (truncated or corrupt gzip?): {err}") from None
    return parse(raw, str(path), expect_dims)


def parse(raw: bytes, source: str, expect_dims: int | None = None) -> np.ndarray:
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise DataError(f"{source}: not an IDX file (bad magic number)")
    kind, dims = raw[2], raw[3]
    if kind != _UBYTE:
        raise DataError(f"{source}: IDX type 0x{kind:02x} is not supported (only unsigned bytes)")
    if expect_dims is not None and dims != expect_dims:
        raise DataError(f"{source}: expected {expect_dims} dimensions, found {dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{source}: truncated IDX header")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    size = int(np.prod(shape, dtype=np.int64)) if dims else 0
    if len(raw) - header != size:
        raise DataError(
            f"{source}: truncated or corrupt: header says {'x'.join(map(str, shape))} = {size} "
            f"bytes of data, file has {len(raw) - header}"
        )
    # a bytearray makes the array writable, so torch.from_numpy may share it
    return np.frombuffer(bytearray(raw), dtype=np.uint8, offset=header).reshape(shape)


def write(path: Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write a uint8 array as IDX (gzipped when ``compress`` or the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    raw = bytes([0, 0, _UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += array.tobytes()
    if compress or (compress is None and path.suffix == ".gz"):
        raw = gzip.compress(raw, mtime=0)
    path.write_bytes(raw)
