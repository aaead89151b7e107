"""Simulated coverage of 95% intervals of the mean at our run counts: t-interval against SciPy's
BCa bootstrap, on normal and skewed data. The verdicts' intervals were chosen from this table
(docs/verdicts.md holds the result).

    python scripts/interval_coverage.py [--reps 400] [--resamples 999]
"""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np
from scipy import stats

from harness.reporting.stats import t_interval

RUN_COUNTS = (2, 3, 5, 10, 20)
# name, sampler, true mean
DISTRIBUTIONS = (
    ("normal", lambda rng, n: rng.normal(0.0, 1.0, n), 0.0),
    ("lognormal(0, 1)", lambda rng, n: rng.lognormal(0.0, 1.0, n), math.exp(0.5)),
    ("exponential", lambda rng, n: rng.exponential(1.0, n), 1.0),
)


def bca(sample: np.ndarray, rng: np.random.Generator, resamples: int) -> tuple[float, float]:
    """SciPy's BCa interval of the mean (NaN when it cannot be formed, e.g. two runs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ci = stats.bootstrap((sample,), np.mean, method="BCa", n_resamples=resamples, random_state=rng,
                                 vectorized=True).confidence_interval
        except Exception:  # degenerate sample: no interval
            return (math.nan, math.nan)
    return (float(ci.low), float(ci.high))


def coverage(reps: int, resamples: int, seed: int = 0) -> list[tuple[str, int, float, float]]:
    """(distribution, n, t coverage, BCa coverage); an interval that is NaN counts as a miss."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, draw, mean in DISTRIBUTIONS:
        for n in RUN_COUNTS:
            hits_t = hits_b = 0
            for _ in range(reps):
                sample = draw(rng, n)
                low, high = t_interval(sample)
                hits_t += low <= mean <= high
                low, high = bca(sample, rng, resamples)
                hits_b += low <= mean <= high
            rows.append((name, n, hits_t / reps, hits_b / reps))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400, help="simulated samples per cell")
    parser.add_argument("--resamples", type=int, default=999, help="bootstrap resamples per interval")
    args = parser.parse_args()
    print("| data | n | t-interval | BCa bootstrap |\n| --- | --- | --- | --- |")
    for name, n, cov_t, cov_b in coverage(args.reps, args.resamples):
        print(f"| {name} | {n} | {cov_t:.3f} | {cov_b:.3f} |")


if __name__ == "__main__":
    main()
