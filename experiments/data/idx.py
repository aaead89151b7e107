"""The IDX file format of MNIST-style data sets, parsed with NumPy alone.

An IDX file is: two zero bytes, a type code, the number of dimensions, one big-endian
uint32 per dimension, then the values in C order (big-endian). See
http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE MNIST DATABASE").
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .errors import data_error

IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
REPLACE = "replace it with an intact copy (see the data README) or delete it so it is downloaded again"


def read_content(path: Path) -> bytes:
    """The file's bytes, gunzipped when they start with gzip's magic bytes, whatever the name.

    Why not the name: some distributions ship the files uncompressed, others gzip them
    without the .gz suffix, and a mirror may serve the raw file under a .gz URL; the
    content is what matters.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise data_error(f"cannot read data file ({exc.strerror})", path, REPLACE) from exc
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise data_error(f"bad gzip data, the file is truncated or corrupted ({reason})",
                         path, REPLACE) from exc


def parse_idx(content: bytes, path: Path | str, ndim: int | None = None) -> np.ndarray:
    """Array held by IDX ``content`` (a read-only view, no copy), checking header and size.

    ``ndim`` is the expected number of dimensions (3 for images, 1 for labels). Raises a
    DataError for a wrong magic number, wrong dimensions or a payload whose size does not
    match the header (a truncated or padded file).
    """
    if len(content) < 4 or content[:2] != b"\0\0" or content[2] not in IDX_TYPES:
        magic = f"0x{content[:4].hex()}" if content else "missing (empty file)"
        raise data_error(f"wrong IDX magic number {magic}, not an IDX file (raw or gzip-compressed)",
                         path, REPLACE)
    file_ndim = content[3]
    if ndim is not None and file_ndim != ndim:
        raise data_error(f"wrong dimensions: IDX header has {file_ndim} dimensions, expected {ndim}",
                         path, REPLACE)
    offset = 4 + 4 * file_ndim
    if len(content) < offset:
        raise data_error("truncated IDX header", path, REPLACE)
    dims = tuple(int(d) for d in np.frombuffer(content, ">u4", file_ndim, 4))
    dtype = np.dtype(IDX_TYPES[content[2]])
    needed = math.prod(dims) * dtype.itemsize
    if len(content) - offset != needed:
        raise data_error(f"wrong dimensions: IDX header says {dims} ({needed} data bytes) "
                         f"but the file holds {len(content) - offset}", path, REPLACE)
    return np.frombuffer(content, dtype, math.prod(dims), offset).reshape(dims)
