"""Reading and checking the Titanic CSV files, and the train/test splits both variants share."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset, LoadOptions, limited
from .download import locate
from .errors import data_error
from .paths import resolve_data_root

ARTICLE_TRAIN_ROWS = 600  # the article trains on the first 600 usable rows
SPLITS = ("article", "stratified")
SEX_CODES = {"male": 0.0, "female": 1.0}
REPLACE = "replace it with the original file (see the data README) or delete it so it is downloaded again"


@dataclass(frozen=True)
class CsvSource:
    """One Titanic CSV: where it lives under the data root, its digest, its public copies.

    ``sha256_lf`` is the SHA-256 of the file with CRLF line endings turned into LF, so a
    copy whose line endings git or an editor changed still verifies.
    """

    relpath: str
    sha256_lf: str
    urls: tuple[str, ...]
    columns: tuple[str, ...]


def read_csv(source: CsvSource, opts: LoadOptions) -> tuple[pd.DataFrame, Path, bool]:
    """The CSV as a DataFrame, with its columns and (unless opts.verify is off) digest checked.

    Columns are checked before the digest because a missing column is the more useful
    message. Returns (frame, path, downloaded).
    """
    root = resolve_data_root(opts.root)
    path, downloaded = locate([source.relpath], root, urls=source.urls,
                              verify=lambda p, origin: _check(p.read_bytes(), source, origin),
                              allow_download=opts.download)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise data_error(f"cannot read data file ({exc.strerror})", path, REPLACE) from exc
    frame = parse_csv(content, source, path)
    if opts.verify:
        check_digest(content, source, path)
    return frame, path, downloaded


def parse_csv(content: bytes, source: CsvSource, path: Path | str) -> pd.DataFrame:
    """Parse CSV bytes and insist on the columns the variant needs."""
    try:
        frame = pd.read_csv(io.BytesIO(content))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise data_error(f"not a readable CSV ({reason})", path, REPLACE) from exc
    missing = [c for c in source.columns if c not in frame.columns]
    if missing:
        raise data_error(f"CSV lacks the expected columns {', '.join(missing)} "
                         f"(needs {', '.join(source.columns)})", path, REPLACE)
    return frame


def check_digest(content: bytes, source: CsvSource, path: Path | str, local: bool = True) -> None:
    """Raise a DataError unless the content is the known file (line endings aside). Only a
    ``local`` file may be used modified (verify=False): a download is always verified."""
    actual = hashlib.sha256(content.replace(b"\r\n", b"\n")).hexdigest()
    if actual != source.sha256_lf:
        on_purpose = " (pass verify=False / data.verify=false to use a modified copy on purpose)" if local else ""
        raise data_error(f"checksum mismatch, SHA-256 (LF line endings) is {actual[:16]}... "
                         f"but expected {source.sha256_lf[:16]}...{on_purpose}", path, REPLACE)


def _check(content: bytes, source: CsvSource, origin: str) -> None:
    """A downloaded copy: its columns, then its digest."""
    parse_csv(content, source, origin)
    check_digest(content, source, origin, local=False)


def numeric(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """A column as floats; text that is not a number is an error, an empty cell is NaN."""
    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    bad = values.isna() & frame[column].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise data_error(f"column {column} holds {frame[column].iloc[row]!r} in data row {row + 1}, "
                         "not a number", path, REPLACE)
    return values


def encode(frame: pd.DataFrame, column: str, codes: dict[str, float], path: Path) -> pd.Series:
    """A categorical column mapped through ``codes``; an unknown category is an error."""
    values = frame[column].map(codes).astype(float)
    bad = values.isna() & frame[column].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise data_error(f"column {column} holds {frame[column].iloc[row]!r} in data row {row + 1}, "
                         f"expected one of {', '.join(codes)}", path, REPLACE)
    return values


def check_labels(y: np.ndarray, path: Path) -> None:
    """Survived must be 0 or 1 on every row used."""
    if not np.isin(y, (0.0, 1.0)).all():
        raise data_error("column Survived must be 0 or 1 on every passenger", path, REPLACE)


def check_finite(x: np.ndarray, names: list[str], path: Path) -> None:
    """The last guard: no NaN or inf may reach a model."""
    bad = [name for name, ok in zip(names, np.isfinite(x).all(axis=0)) if not ok]
    if bad:
        raise data_error(f"NaN left in features after preprocessing (columns {', '.join(bad)})",
                         path, "fill in or drop those values, or " + REPLACE)


def split_rows(y: np.ndarray, split: str, seed: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices: the article's first-600 split or a seeded stratified one.

    The stratified split keeps the article's test size (all rows after the first 600) and
    each class's share, so the two splits differ only in which passengers are held out.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown titanic split {split!r}: use one of {', '.join(SPLITS)}")
    n = len(y)
    if n <= ARTICLE_TRAIN_ROWS:
        raise data_error(f"only {n} usable rows, the split needs more than {ARTICLE_TRAIN_ROWS}",
                         path, REPLACE)
    if split == "article":
        return np.arange(ARTICLE_TRAIN_ROWS), np.arange(ARTICLE_TRAIN_ROWS, n)
    rng = np.random.default_rng(seed)
    n_test, classes, picked = n - ARTICLE_TRAIN_ROWS, np.unique(y), []
    for i, label in enumerate(classes):
        members = np.flatnonzero(y == label)
        take = n_test - sum(map(len, picked)) if i == len(classes) - 1 else round(n_test * len(members) / n)
        picked.append(rng.permutation(members)[:take])
    test = np.sort(np.concatenate(picked))
    return np.setdiff1d(np.arange(n), test), test


def build(variant: str, x: np.ndarray, y: np.ndarray, rows: tuple[np.ndarray, np.ndarray],
          names: list[str], opts: LoadOptions, meta: dict) -> Dataset:
    """The Dataset for given rows, in the requested dtype, cut to the smoke-run limits."""
    train, test = rows
    x, y = x.astype(opts.dtype), y.reshape(-1, 1).astype(opts.dtype)
    tr, te = train[: limited(len(train), opts.limit_train)], test[: limited(len(test), opts.limit_test)]
    meta = {**meta, "split": opts.split, "seed": opts.seed, "n_train": len(train), "n_test": len(test),
            "train_positives": int(y[train].sum()), "test_positives": int(y[test].sum()),
            "limit_train": opts.limit_train, "limit_test": opts.limit_test}
    return Dataset("titanic", variant, x[tr], y[tr], x[te], y[te], "binary", list(names), meta=meta)
