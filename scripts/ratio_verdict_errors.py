"""Simulated false verdicts of the speed rule at our run counts: both sides drawn from one timing
distribution, how often the 95% bootstrap interval of the ratio of medians lies wholly on one side
of 1 (a verdict of "ahead" or "behind" where there is no difference). The minimum run count of a
verdict read from that interval (stats.RATIO_MIN_RUNS) was chosen from this table (docs/verdicts.md
holds the result).

    python scripts/ratio_verdict_errors.py [--reps 2000]
"""

from __future__ import annotations

import argparse

import numpy as np

from harness.reporting.stats import ratio_of_medians_ci

RUN_COUNTS = ((3, 3), (4, 4), (4, 5), (5, 5), (5, 10), (10, 10))
# fit times around 1 s: name, sampler
DISTRIBUTIONS = (
    ("normal, sd 5%", lambda rng, n: rng.normal(1.0, 0.05, n)),
    ("lognormal, sd 10%", lambda rng, n: np.exp(rng.normal(0.0, 0.1, n))),
    ("1 + exponential(0.05): slow outliers", lambda rng, n: 1.0 + rng.exponential(0.05, n)),
)


def false_verdicts(reps: int, seed: int = 0) -> list[tuple[str, int, int, float]]:
    """(distribution, n, m, share of samples whose interval excludes 1)."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, draw in DISTRIBUTIONS:
        for n, m in RUN_COUNTS:
            wrong = 0
            for _ in range(reps):
                _, low, high = ratio_of_medians_ci(draw(rng, n), draw(rng, m))
                wrong += high < 1 or low > 1
            rows.append((name, n, m, wrong / reps))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000, help="simulated pairs of samples per cell")
    args = parser.parse_args()
    print("| data | runs a side | false verdicts (nominal 5%) |")
    print("| --- | --- | --- |")
    for name, n, m, share in false_verdicts(args.reps):
        print(f"| {name} | {n} vs {m} | {share:.1%} |")


if __name__ == "__main__":
    main()
