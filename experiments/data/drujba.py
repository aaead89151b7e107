"""The article's synthetic "Drujba housing" data for linear regression; no files.

Price F(x) = 1837.5 x + U(0, 10000) + 14376.52 for a flat of size x. The article does
not give its x range; sizes are drawn uniformly from 50 to 300 (square metres), a range
under which a 50-step gradient-descent fit lands near the article's w = 1933.3 (the
intercept is mostly absorbed into the slope when x is large). ``n`` points train; another
``max(1, n // 4)`` points drawn after them from the same generator are the test set.
"""

from __future__ import annotations

import numpy as np

from .dataset import Dataset, LoadOptions, apply_limits

SLOPE = 1837.5
INTERCEPT = 14376.52
NOISE_HIGH = 10000.0  # b ~ U(0, NOISE_HIGH)
SIZE_RANGE = (50.0, 300.0)
VARIANTS = ("article",)


def load(variant: str, opts: LoadOptions) -> Dataset:
    """Seeded synthetic points: x of shape (n, 1), prices y of shape (n, 1)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown drujba variant {variant!r}: use one of {', '.join(VARIANTS)}")
    n = opts.n
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (number of drujba points) must be a positive integer, got {n!r}")
    n_test = max(1, n // 4)
    x, y = generate(n + n_test, opts.seed)
    x, y = x.astype(opts.dtype), y.astype(opts.dtype)
    meta = {"formula": "F(x) = 1837.5 x + U(0, 10000) + 14376.52", "slope": SLOPE,
            "intercept": INTERCEPT, "noise": [0.0, NOISE_HIGH], "x_range": list(SIZE_RANGE),
            "seed": opts.seed, "n_train": int(n), "n_test": n_test}
    ds = Dataset("drujba", variant, x[:n], y[:n], x[n:], y[n:], "regression", ["size"], meta=meta)
    return apply_limits(ds, opts)


def generate(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` (size, price) pairs from the article's formula, as float64 columns."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(*SIZE_RANGE, size=(count, 1))
    y = SLOPE * x + rng.uniform(0.0, NOISE_HIGH, size=(count, 1)) + INTERCEPT
    return x, y
