"""MNIST and any other folder of MNIST-format IDX files (e.g. Fashion-MNIST).

Variants:
- ``mnist``: ``<root>/mnist/``, each file's uncompressed SHA-256 checked against the
  published digests below; a missing file is downloaded from a public mirror into the
  user cache.
- ``fashion-mnist``: ``<root>/fashion-mnist/`` with the same four file names (Zalando's
  release, or Debian's ``dataset-fashion-mnist`` package); no checksum table is kept for
  it, so it is structure-checked only and never downloaded.
- ``idx``: the four files directly in ``root`` (any MNIST-format data set); structure-
  checked only, never downloaded; the class count is the largest label + 1.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dataset import Dataset, LoadOptions, limited
from .download import locate
from .errors import data_error
from .idx import REPLACE, parse_idx, read_content
from .paths import resolve_data_root

# SHA-256 of the uncompressed official files (from the data README): the .gz bytes of a
# copy may differ after recompression, the content may not.
MNIST_SHA256: Mapping[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# Well-known public mirrors of the original .gz files (PyTorch's and TensorFlow's).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# (split, part) -> (file base name, expected number of IDX dimensions)
FILES = {
    ("train", "images"): ("train-images-idx3-ubyte", 3),
    ("train", "labels"): ("train-labels-idx1-ubyte", 1),
    ("test", "images"): ("t10k-images-idx3-ubyte", 3),
    ("test", "labels"): ("t10k-labels-idx1-ubyte", 1),
}


@dataclass(frozen=True)
class IdxSource:
    """Where a variant's files live and how strictly they are checked."""

    folder: str  # below the data root ("" = the root itself)
    checksums: Mapping[str, str] | None
    mirrors: tuple[str, ...]
    n_classes: int | None
    image_shape: tuple[int, int] | None


VARIANTS: dict[str, IdxSource] = {
    "mnist": IdxSource("mnist", MNIST_SHA256, MNIST_MIRRORS, 10, (28, 28)),
    "fashion-mnist": IdxSource("fashion-mnist", None, (), 10, (28, 28)),
    "idx": IdxSource("", None, (), None, None),
}


def load(variant: str, opts: LoadOptions) -> Dataset:
    """Images scaled to [0, 1] and flattened, labels one-hot; the first limit_* rows only."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown mnist variant {variant!r}: use one of {', '.join(VARIANTS)}")
    source = VARIANTS[variant]
    root = resolve_data_root(opts.root)
    raw, paths, downloaded = {}, {}, []
    for key, (base, ndim) in FILES.items():
        digest = source.checksums[base] if source.checksums else None
        path, fetched = locate(_names(source.folder, base), root,
                               urls=[m + base + ".gz" for m in source.mirrors],
                               verify=_verifier(digest, ndim), allow_download=opts.download)
        raw[key] = load_idx(path, ndim, digest if opts.verify else None)
        paths[key] = path
        downloaded += [str(path)] if fetched else []
    n_classes = _check_shapes(raw, paths, source)
    x, y = {}, {}
    for split, limit in (("train", opts.limit_train), ("test", opts.limit_test)):
        n = limited(len(raw[split, "images"]), limit)
        x[split] = _scaled(raw[split, "images"][:n], opts.dtype)
        y[split] = np.eye(n_classes, dtype=opts.dtype)[raw[split, "labels"][:n]]
    meta = {"files": {f"{s}_{p}": str(v) for (s, p), v in paths.items()},
            "sha256": dict(source.checksums) if source.checksums else None,
            "verified": bool(source.checksums) and opts.verify, "downloaded": downloaded,
            "n_classes": n_classes, "image_shape": list(raw["train", "images"].shape[1:]),
            "limit_train": opts.limit_train, "limit_test": opts.limit_test}
    return Dataset("mnist", variant, x["train"], y["train"], x["test"], y["test"], "multiclass",
                   [f"pixel{i}" for i in range(x["train"].shape[1])], meta=meta)


def load_idx(path: Path, ndim: int, sha256: str | None) -> np.ndarray:
    """Parsed IDX array (read-only), cached in-process by path, mtime and size.

    Why cache: tests and sweeps load MNIST many times; decompressing 50 MB each time
    would dominate. A changed file has a new mtime or size, so it is read again.
    """
    real = path.resolve()  # a symlinked copy shares the cache entry of its target
    stat = real.stat()
    return _cached_idx(str(real), stat.st_mtime_ns, stat.st_size, ndim, sha256)


@functools.lru_cache(maxsize=8)
def _cached_idx(path: str, _mtime_ns: int, _size: int, ndim: int, sha256: str | None) -> np.ndarray:
    content = read_content(Path(path))
    array = parse_idx(content, path, ndim)
    if sha256 is not None:
        check_sha256(content, sha256, path)
    return array


def check_sha256(content: bytes, expected: str, path: Path | str) -> None:
    """Raise a DataError when the uncompressed content's SHA-256 is not ``expected``."""
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise data_error(f"checksum mismatch, SHA-256 of the uncompressed content is {actual[:16]}... "
                         f"but MNIST's is {expected[:16]}...", path, REPLACE)


def _verifier(sha256: str | None, ndim: int):
    """Check a fresh download before it is moved into place (structure and checksum)."""
    def verify(path: Path, source: str) -> None:
        content = read_content(path)
        parse_idx(content, source, ndim)
        if sha256 is not None:
            check_sha256(content, sha256, source)
    return verify


def _names(folder: str, base: str) -> list[str]:
    prefix = f"{folder}/" if folder else ""
    dotted = base.replace("-idx", ".idx")  # some copies are named train-images.idx3-ubyte
    return [prefix + name for name in (base + ".gz", base, dotted + ".gz", dotted)]


def _check_shapes(raw: dict, paths: dict, source: IdxSource) -> int:
    """Images and labels must agree; returns the number of classes."""
    for split in ("train", "test"):
        images, labels = raw[split, "images"], raw[split, "labels"]
        where = paths[split, "labels"]
        if len(images) != len(labels):
            raise data_error(f"wrong dimensions: {len(images)} {split} images but {len(labels)} labels",
                             where, REPLACE)
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise data_error("images and labels must be unsigned bytes (IDX type 0x08)",
                             paths[split, "images"], REPLACE)
        shape = images.shape[1:]
        if shape != (source.image_shape or raw["train", "images"].shape[1:]):
            raise data_error(f"wrong dimensions: {split} images are {shape[0]}x{shape[1]}, "
                             f"expected {source.image_shape or raw['train', 'images'].shape[1:]}",
                             paths[split, "images"], REPLACE)
    tops = {s: int(raw[s, "labels"].max(initial=0)) for s in ("train", "test")}
    n_classes = source.n_classes or max(max(tops.values()) + 1, 2)
    for split, top in tops.items():
        if top >= n_classes:
            raise data_error(f"label {top} outside 0..{n_classes - 1}", paths[split, "labels"], REPLACE)
    return n_classes


def _scaled(images: np.ndarray, dtype: str) -> np.ndarray:
    """Flattened to (n, rows*cols) and scaled from bytes to [0, 1]."""
    x = images.reshape(len(images), -1).astype(dtype)
    x /= 255.0
    return x
