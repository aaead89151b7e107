"""Statistics for a few seeds: medians and spreads for time, t-intervals of means, the bootstrap
interval of a ratio of medians, a named test, Holm's adjustment of a family of tests.

Every random draw here comes from `np.random.default_rng(BOOTSTRAP_SEED)`, created afresh for
each interval, so a report rebuilt from the same records shows the same numbers, and one
interval does not depend on how many others were computed before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

BOOTSTRAP_SEED = 20240607
N_RESAMPLES = 10_000
CONFIDENCE = 0.95
ALPHA = 0.05
WELCH = "Welch t-test"
MANN_WHITNEY = "Mann-Whitney U"
# A test, hence a verdict, needs this many runs (per group where two are compared): every verdict
# (harness.reporting.verdicts), every ablation effect and the summary's accuracy test read it here.
MIN_RUNS = 3


def finite(values: object) -> np.ndarray:
    """The finite values of a sequence as float64 (None and NaN dropped)."""
    array = np.asarray([np.nan if v is None else v for v in np.ravel(np.asarray(values, dtype=object))],
                       dtype=np.float64)
    return array[np.isfinite(array)]


# What a record column can take. The interval of its mean is cut to that range: a t-interval knows
# no bounds, and one outlying run can stretch it past them (an accuracy above 1, a negative count).
# The true mean lies inside the range, so the cut interval covers it at least as often.
RANGES: dict[str, tuple[float, float]] = {
    "test_accuracy": (0.0, 1.0), "test_misclassified": (0.0, math.inf), "final_loss": (0.0, math.inf),
    "first_loss": (0.0, math.inf), "fit_seconds": (0.0, math.inf),
}
UNBOUNDED = (-math.inf, math.inf)


def range_of(column: str, absolute: bool = False) -> tuple[float, float]:
    """What ``column``'s values (or, ``absolute``, their |x|) can take: ``RANGES``, else unbounded."""
    bounds = RANGES.get(column, UNBOUNDED)
    return absolute_range(bounds) if absolute else bounds


def absolute_range(bounds: tuple[float, float]) -> tuple[float, float]:
    """What |x| can take when x lies within ``bounds``."""
    low, high = bounds
    return (0.0 if low <= 0 <= high else min(abs(low), abs(high)), max(abs(low), abs(high)))


def t_interval(values: object, confidence: float = CONFIDENCE,
               within: tuple[float, float] = UNBOUNDED) -> tuple[float, float]:
    """The interval of a mean everywhere on the page: mean ± t(n-1) · s / sqrt(n) (NaN below two
    values), cut to the range ``within`` that the values can take (``RANGES``). Chosen over
    bootstrap intervals for its coverage at 2-20 runs, where a bootstrap interval under-covers: it
    can never be wider than the sample's range (docs/verdicts.md, scripts/interval_coverage.py)."""
    data = finite(values)
    if data.size < 2:
        return (math.nan, math.nan)
    half = scipy_stats.t.ppf((1 + confidence) / 2, data.size - 1) * spread(data) / math.sqrt(data.size)
    return cut_to(mean(data) - half, mean(data) + half, within)


def cut_to(low: float, high: float, within: tuple[float, float]) -> tuple[float, float]:
    """The interval [low, high] cut to the range ``within`` that its quantity can take (``RANGES``)."""
    return float(max(low, within[0])), float(min(high, within[1]))


def ratio_interval_paired(x: object, y: object, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """mean(x) / mean(y) for paired observations, with Fieller's interval: the ratios R for which a
    paired t-test of x - R y against 0 (n - 1 degrees of freedom) does not reject at 1 - confidence.
    The bounds are NaN below three pairs, or where that set is not one bounded interval (mean(y) not
    told from 0 at that level): then no finite interval holds the ratio."""
    xs, ys = np.ravel(np.asarray(x, dtype=np.float64)), np.ravel(np.asarray(y, dtype=np.float64))
    if xs.size != ys.size:
        raise ValueError(f"paired values need as many x as y, got {xs.size} and {ys.size}")
    kept = np.isfinite(xs) & np.isfinite(ys)
    if not kept.any() or ys[kept].mean() == 0:
        return (math.nan,) * 3
    # The quadratic below holds fourth powers of the values: each side is scaled to about 1 first
    # (by a power of two, so exactly) and the ratio scaled back, which only over- or underflows where
    # the ratio itself does.
    x_scale, y_scale = binary_scale(np.max(np.abs(xs[kept]))), binary_scale(np.max(np.abs(ys[kept])))
    ratio, low, high = _fieller(np.column_stack([xs[kept] / x_scale, ys[kept] / y_scale]), confidence)
    factor = x_scale / y_scale  # a power of two: exact wherever the ratio itself is in range
    return ratio * factor, low * factor, high * factor


def binary_scale(magnitude: float) -> float:
    """The power of two at or below a positive finite ``magnitude`` (1 for 0 or inf): dividing by it
    is exact and brings numbers of that size into [1, 2), where their squares and fourth powers
    neither under- nor overflow."""
    return math.ldexp(1.0, math.frexp(magnitude)[1] - 1) if 0 < magnitude < math.inf else 1.0


def _fieller(pairs: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """``ratio_interval_paired`` on its finite pairs, scaled to about 1 (mean(y) not 0)."""
    n = len(pairs)
    a, b = pairs.mean(axis=0)
    if n < 3:
        return float(a / b), math.nan, math.nan
    (v11, v12), (_, v22) = np.cov(pairs, rowvar=False, ddof=1) / n
    t2 = scipy_stats.t.ppf((1 + confidence) / 2, n - 1) ** 2
    # (a - R b)^2 = t^2 (v11 - 2 R v12 + R^2 v22), a quadratic q2 R^2 - 2 q1 R + q0 = 0 in R
    q2, q1, q0 = b * b - t2 * v22, a * b - t2 * v12, a * a - t2 * v11
    if q2 <= 0:  # the set is not one bounded interval
        return float(a / b), math.nan, math.nan
    root = math.sqrt(max(q1 * q1 - q2 * q0, 0.0))  # >= 0 whenever q2 > 0, up to rounding
    return float(a / b), float((q1 - root) / q2), float((q1 + root) / q2)


def p_text(p: float) -> str:
    """A p-value as the page prints it: three significant digits, more where rounding would carry a
    p under ALPHA up to it (0.04996 is not "0.05"; "<0.05" where no digit count shows it below),
    and "<0.0001" below that (never "0")."""
    if p < 1e-4:
        return "<0.0001"
    for digits in range(3, 17):
        text = f"{p:.{digits}g}"
        if (float(text) < ALPHA) == (p < ALPHA):
            return text
    return f"<{ALPHA}"  # below ALPHA by less than a float's digits show


def p_is(p: float) -> str:
    """'p=0.0171', or 'p<0.0001' (p_text)."""
    text = p_text(p)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def holm(p_values: object) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaN stays NaN and is not counted): an
    adjusted p under ALPHA keeps the chance that any of the family is called significant by chance
    under ALPHA, where each raw p alone would let it grow with the family's size."""
    raw = np.asarray(p_values, dtype=np.float64)
    out = np.full(raw.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(raw))
    order = tested[np.argsort(raw[tested], kind="stable")]
    factors = np.arange(order.size, 0, -1)
    out[order] = np.minimum(1.0, np.maximum.accumulate(factors * raw[order]))
    return out


# A verdict read from the interval of a ratio of medians (a speed verdict, the article's time ratio)
# needs this many runs a side. With both sides drawn from one timing distribution (normal,
# lognormal, slow outliers), the interval lies wholly on one side of 1 in 2.1-3.4% of samples at
# 5 vs 5 and 2.5-4.2% at 10 vs 10, but 6.3-8.1% at 4 vs 4 and 9.8% at 3 vs 3: below 5 a side its
# false verdicts exceed the 5% it claims (scripts/ratio_verdict_errors.py, docs/verdicts.md).
RATIO_MIN_RUNS = 5


def ratio_of_medians_ci(numerator: object, denominator: object, *, seed: int = BOOTSTRAP_SEED,
                        n_resamples: int = N_RESAMPLES,
                        confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Ratio of medians with a percentile bootstrap interval (groups resampled independently).

    Used for the speed ratio against Keras: medians are robust to the one slow warm-up run that
    timing on a shared machine produces. Returns (ratio, low, high); the interval is NaN when a
    group has fewer than two values.
    """
    top, bottom = finite(numerator), finite(denominator)
    if top.size == 0 or bottom.size == 0 or np.median(bottom) == 0:
        return (math.nan, math.nan, math.nan)
    ratio = float(np.median(top) / np.median(bottom))
    if top.size < 2 or bottom.size < 2:
        return (ratio, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    top_medians = np.median(top[rng.integers(0, top.size, size=(n_resamples, top.size))], axis=1)
    bottom_medians = np.median(bottom[rng.integers(0, bottom.size, size=(n_resamples, bottom.size))], axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = np.percentile(top_medians / bottom_medians, [tail, 100.0 - tail])
    return (ratio, float(low), float(high))


@dataclass(frozen=True)
class Comparison:
    """Outcome of testing whether two groups of per-seed values differ."""

    difference: float      # mean(a) - mean(b)
    p_value: float
    test: str              # name of the test used, shown in the table
    significant: bool | None  # None when no test was possible


def compare_means(a: object, b: object, *, alpha: float = ALPHA) -> Comparison:
    """Two-sided test for a difference in mean between two small groups of seeds.

    Welch's t-test does not assume equal variances and is usable also when one group has no spread
    (every seed the same accuracy): its standard error then comes from the other group alone. Only
    when both groups have no spread is the t statistic undefined; equal values then give p = 1,
    different ones the rank-based Mann-Whitney U test with its exact p (``mann_whitney_exact``),
    named in the result. Below MIN_RUNS runs a group, as for every verdict, no test.
    """
    x, y = finite(a), finite(b)
    if x.size < MIN_RUNS or y.size < MIN_RUNS:
        return Comparison(mean(x) - mean(y), math.nan, f"too few runs (need {MIN_RUNS} per group)", None)
    if not (has_spread(x) or has_spread(y)) and x[0] == y[0]:  # not difference == 0: means round
        return Comparison(0.0, 1.0, "identical values", False)
    if not (has_spread(x) or has_spread(y)):
        p = mann_whitney_exact(x, y)
        return Comparison(mean(x) - mean(y), p, MANN_WHITNEY, bool(p < alpha))
    difference, error, df = welch(x, y)
    p = two_sided_p(difference / error, df)
    return Comparison(difference, p, WELCH, bool(p < alpha))


def two_sided_p(t: float, df: float) -> float:
    """The two-sided p of a t statistic with ``df`` degrees of freedom: every t-test on the page."""
    return float(2 * scipy_stats.t.sf(abs(t), df))


def satterthwaite_df(ea: float, eb: float, na: int, nb: int) -> float:
    """Satterthwaite's degrees of freedom of a variance ea² + eb², its terms estimated from na and nb
    values: (ea² + eb²)² / (ea⁴/(na-1) + eb⁴/(nb-1)), NaN where both are 0. Taken from the standard
    errors ea, eb scaled by the larger, so no power of them under- or overflows (computed as written,
    errors below about 1e-81 gave 0/0): df does not depend on their scale."""
    largest = max(ea, eb)
    if largest == 0:
        return math.nan
    ra, rb = ea / largest, eb / largest
    return (ra ** 2 + rb ** 2) ** 2 / (ra ** 4 / (na - 1) + rb ** 4 / (nb - 1))


def welch(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Welch's mean(x) - mean(y), its standard error sqrt(sx²/nx + sy²/ny) and Satterthwaite's
    degrees of freedom, from ``spread``'s deviations (one constant group adds no variance, not a
    rounding residue; its df is the other's n - 1); the one rule of compare_means' test and
    welch_interval. The error is a hypot: no variance is formed, which would underflow for tiny spreads."""
    ea, eb = spread(x) / math.sqrt(x.size), spread(y) / math.sqrt(y.size)
    return mean(x) - mean(y), math.hypot(ea, eb), satterthwaite_df(ea, eb, x.size, y.size)


def welch_interval(a: object, b: object, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Welch's interval of mean(a) - mean(b) for independent groups: the difference ± t(df) ·
    sqrt(va/na + vb/nb), df by Satterthwaite (``welch``); NaN below two values a side or when
    neither group has spread."""
    x, y = finite(a), finite(b)
    if x.size < 2 or y.size < 2 or not (has_spread(x) or has_spread(y)):
        return (math.nan, math.nan)
    difference, error, df = welch(x, y)
    half = scipy_stats.t.ppf((1 + confidence) / 2, df) * error
    return float(difference - half), float(difference + half)


def mann_whitney_exact(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided exact p of the Mann-Whitney U test, ties given midranks: twice the smaller tail of
    the rank sum over all C(n+m, n) equally likely splits of the pooled values (at most 1), as
    SciPy's exact method and permutation_test take it. SciPy's own falls back on the normal
    approximation whenever values tie, which for tied small groups is anti-conservative (3 vs 3,
    each group constant: 0.0469 where the exact p is 2/20 = 0.1). The rank sums' distribution is
    counted, not enumerated (doubled midranks are integers), so it is cheap at any run count here."""
    doubled = np.rint(2 * scipy_stats.rankdata(np.concatenate([x, y]))).astype(np.int64)
    total = int(doubled.sum())
    ways = np.zeros((x.size + 1, total + 1))  # ways[k, s]: subsets of k values whose doubled ranks sum to s
    ways[0, 0] = 1.0
    for rank in doubled:
        ways[1:, rank:] += ways[:-1, :total + 1 - rank].copy()
    counts = ways[x.size]
    observed = int(doubled[:x.size].sum())
    upper, lower = counts[observed:].sum(), counts[:observed + 1].sum()
    return float(min(1.0, 2 * min(upper, lower) / counts.sum()))


# Why a group of identical values gets no t-test, as the verdicts and the ablation's effects say it (the
# accuracy column's compare_means, which has another test for that case, names that test instead).
NO_SPREAD = "no spread for a t-test"


def has_spread(values: np.ndarray) -> bool:
    """Whether the values differ at all, the one rule for when a t-test can run: without spread its
    t is 0/0, and a computed standard deviation is a rounding residue (about 1e-17) that would
    decide the test by itself."""
    return bool(values.size) and bool(np.ptp(values) != 0)


def spread(values: np.ndarray) -> float:
    """Sample standard deviation, exactly 0 for identical values (``has_spread``: a computed one is a
    rounding residue that makes scipy warn of catastrophic cancellation). NumPy's is taken of the
    values scaled by a power of two to a range of about 1 (``binary_scale``: the same digits, where
    squared deviations below about 1e-162 or above 1e154 would leave a double's range)."""
    if not has_spread(values):
        return 0.0
    scale = binary_scale(float(np.ptp(values)))
    return float((values / scale).std(ddof=1)) * scale


def mean(values: np.ndarray) -> float:
    """The mean, exactly the value itself for identical values (their computed mean can carry a
    rounding residue: 12 runs of 0.1 average 0.09999999999999999); NaN for none."""
    if not values.size:
        return math.nan
    return float(values.mean()) if has_spread(values) else float(values[0])


def describe_time(values: object) -> dict[str, float]:
    """Median, quartiles, IQR, min and max of timings (NaN when there are none)."""
    data = finite(values)
    if data.size == 0:
        return {k: math.nan for k in ("median", "q25", "q75", "iqr", "min", "max")}
    q25, median, q75 = np.percentile(data, [25, 50, 75])
    return {"median": float(median), "q25": float(q25), "q75": float(q75), "iqr": float(q75 - q25),
            "min": float(data.min()), "max": float(data.max())}


def describe_mean(values: object, within: tuple[float, float] = UNBOUNDED) -> dict[str, float]:
    """Mean, sample standard deviation (ddof=1) and 95% t-interval of the mean (cut to ``within``)."""
    data = finite(values)
    low, high = t_interval(data, within=within)
    return {"mean": mean(data),
            "std": spread(data) if data.size > 1 else math.nan,
            "ci_low": low, "ci_high": high}
