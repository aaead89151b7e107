"""The Dataset container shared by every loader, and the options a load takes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mlp_impl.validation import DTYPES

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays plus what a run record needs to describe them.

    y is always 2-D: (n, 1) for binary and regression, one-hot (n, k) for multiclass,
    so every implementation can take the output width from ``y.shape[1]``.
    ``n_features`` and ``n_outputs`` are filled in from the arrays when not given.
    """

    name: str
    variant: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    feature_names: list[str]
    n_features: int | None = None
    n_outputs: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}: use one of {', '.join(TASKS)}")
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
                raise ValueError(
                    f"{self.name} {part} arrays have shapes {x.shape} and {y.shape}: "
                    "x must be (n, features) and y (n, outputs) with the same n"
                )
        if self.n_features is None:
            object.__setattr__(self, "n_features", int(self.x_train.shape[1]))
        if self.n_outputs is None:
            object.__setattr__(self, "n_outputs", int(self.y_train.shape[1]))


@dataclass(frozen=True)
class LoadOptions:
    """Everything load_dataset passes to a loader; each loader uses what applies to it."""

    root: Path | str | None = None
    split: str = "article"
    seed: int = 0
    dtype: str = "float32"
    n: int = 100
    limit_train: int | None = None
    limit_test: int | None = None
    download: bool = True
    verify: bool = True


def check_options(opts: LoadOptions) -> None:
    """Reject bad option values before any file is read (one-line ValueError each).

    NumPy integers count as integers: a limit or seed taken from an array is common.
    """
    if opts.dtype not in DTYPES:
        raise ValueError(f"unknown dtype {opts.dtype!r}: use one of {', '.join(DTYPES)}")
    for name in ("limit_train", "limit_test"):
        value = getattr(opts, name)
        if value is not None and (not _is_integer(value) or value < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    if not _is_integer(opts.seed) or opts.seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {opts.seed!r}")


def _is_integer(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def with_plain_ints(opts: LoadOptions) -> LoadOptions:
    """Checked options with NumPy integers made Python ints, so meta and records stay JSON-ready."""
    def plain(value: Any) -> Any:
        return int(value) if isinstance(value, np.integer) else value
    return replace(opts, seed=plain(opts.seed), limit_train=plain(opts.limit_train),
                   limit_test=plain(opts.limit_test))


def limited(n_rows: int, limit: int | None) -> int:
    """Rows to keep under a smoke-run limit (the first ``limit`` rows, or all)."""
    return n_rows if limit is None else min(n_rows, limit)


def apply_limits(ds: Dataset, opts: LoadOptions) -> Dataset:
    """Keep the first limit_train / limit_test rows; meta records the limits."""
    if opts.limit_train is None and opts.limit_test is None:
        return ds
    n_tr, n_te = limited(len(ds.x_train), opts.limit_train), limited(len(ds.x_test), opts.limit_test)
    meta = {**ds.meta, "limit_train": opts.limit_train, "limit_test": opts.limit_test}
    return replace(ds, x_train=ds.x_train[:n_tr], y_train=ds.y_train[:n_tr],
                   x_test=ds.x_test[:n_te], y_test=ds.y_test[:n_te], meta=meta)
