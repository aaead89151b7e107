"""harness.reporting.stats against values derived without it: exact cases worked by hand, SciPy's
t-interval, the exact bootstrap distribution of a ratio of medians (every resample enumerated,
``exact_bootstrap``), and SciPy's own bootstrap, Welch t-test and Mann-Whitney U on the raw samples."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as scipy_stats

import exact_bootstrap as exact
from harness.reporting import stats, verdicts

SAMPLE = [0.71, 0.83, 0.78, 0.92, 0.64]  # irregular: no two values alike


def test_t_interval_by_hand() -> None:
    """[1, 3]: mean 2, s = sqrt(2), half-width t(0.975, 1) * sqrt(2) / sqrt(2) = 12.706..."""
    t1 = scipy_stats.t.ppf(0.975, 1)
    assert stats.t_interval([1.0, 3.0]) == (pytest.approx(2 - t1), pytest.approx(2 + t1))
    low, high = stats.t_interval(SAMPLE)
    theirs = scipy_stats.t.interval(0.95, len(SAMPLE) - 1, loc=np.mean(SAMPLE), scale=scipy_stats.sem(SAMPLE))
    assert (low, high) == (pytest.approx(theirs[0], rel=1e-12), pytest.approx(theirs[1], rel=1e-12))
    narrower = stats.t_interval(SAMPLE, confidence=0.5)  # negative control: another level, another interval
    assert low < narrower[0] < narrower[1] < high


def test_constant_data_has_a_zero_width_interval() -> None:
    assert stats.t_interval([0.8] * 5) == (0.8, 0.8)  # exactly: no rounding residue of a spread
    # nor of the mean: twelve runs of 0.1 average 0.10000000000000002 in NumPy (stats.mean gives 0.1)
    assert np.mean([0.1] * 12) != 0.1 and stats.t_interval([0.1] * 12) == (0.1, 0.1)
    described = stats.describe_mean([0.8] * 3)
    assert described == {"mean": pytest.approx(0.8, rel=1e-15), "std": pytest.approx(0.0, abs=1e-15),
                         "ci_low": pytest.approx(0.8, rel=1e-15), "ci_high": pytest.approx(0.8, rel=1e-15)}


def test_missing_values_are_dropped() -> None:
    assert stats.t_interval([1.0, None, math.nan, 3.0, math.inf]) == stats.t_interval([1.0, 3.0])
    assert stats.finite([1, 2]).dtype == np.float64
    assert all(math.isnan(v) for v in stats.t_interval([None, 2.0]))


def test_ratio_of_medians_agrees_with_scipy_bootstrap() -> None:
    """SciPy's percentile bootstrap draws its own resamples: the two Monte Carlo intervals of the
    median of one group (the other a constant 1) agree to their sampling error."""
    data = np.random.default_rng(1).normal(0.8, 0.05, 12)
    ours = stats.ratio_of_medians_ci(data, [1.0, 1.0])[1:]
    theirs = scipy_stats.bootstrap((data,), np.median, method="percentile", n_resamples=10_000,
                                   confidence_level=0.95, rng=np.random.default_rng(2)).confidence_interval
    tolerance = 0.05 * data.std(ddof=1)
    other = np.random.default_rng(3).normal(1.0, 0.1, 12)
    assert stats.ratio_of_medians_ci(data, other) == stats.ratio_of_medians_ci(data, other)
    assert ours[0] == pytest.approx(theirs.low, abs=tolerance)
    assert ours[1] == pytest.approx(theirs.high, abs=tolerance)


def test_ratio_of_medians_at_its_exact_quantiles() -> None:
    top, bottom = [2.0, 3.0, 7.0, 4.5, 2.6], [1.0, 1.5, 4.0, 1.2]
    ratio, low, high = stats.ratio_of_medians_ci(top, bottom)
    assert ratio == 3.0 / 1.35
    assert stats.ratio_of_medians_ci(top, bottom) == (ratio, low, high)  # the same draws every time
    tops, bottoms = exact.distribution(top, np.median), exact.distribution(bottom, np.median)
    draws = (tops[:, None] / bottoms[None, :]).ravel()  # the two groups resampled independently
    assert exact.inside((low, high), draws)
    assert not exact.inside(stats.ratio_of_medians_ci(bottom, top)[1:], draws)  # negative control


@pytest.mark.filterwarnings("error")  # missing groups are handled, not left to NumPy's empty-slice warnings
def test_ratio_edge_cases() -> None:
    assert stats.ratio_of_medians_ci([2.0, 2.0], [4.0, 4.0]) == (0.5, 0.5, 0.5)
    for top, bottom, expected in (([3.0], [1.0, 2.0], 2.0), ([1.0, 2.0], [4.0], 0.375)):
        ratio, low, high = stats.ratio_of_medians_ci(top, bottom)
        assert ratio == expected and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(v) for v in stats.ratio_of_medians_ci([1.0, 2.0], []))
    # resamples of [0, 1, 2] can have median 0: their ratio is infinite, quietly
    assert stats.ratio_of_medians_ci([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])[0] == 2.0
    assert all(math.isnan(v) for v in stats.ratio_of_medians_ci([1.0, 2.0], [0.0, 0.0, 5.0]))
    assert all(math.isnan(v) for v in stats.ratio_of_medians_ci([], [1.0, 2.0]))


@pytest.mark.parametrize("a, b", [
    ([0.80, 0.78, 0.77], [0.70, 0.75, 0.74]),        # n = 3 per group, the fewest (verdicts.MIN_RUNS)
    ([0.80, 0.78, 0.82, 0.79], [0.83, 0.84, 0.82, 0.85]),
    ([0.81, 0.79, 0.80], [0.60, 0.95, 0.70, 0.88, 0.75]),  # unequal sizes and spreads
    ([0.8, 0.8, 0.8], [0.70, 0.71, 0.72]),  # one group without spread: its variance is 0
    ([1.0, 2.0, 1.5], [3.0, 4.5, 3.8]),     # a range of exactly 1
])
def test_welch_matches_scipy_ttest_ind(a: list[float], b: list[float]) -> None:
    with warnings.catch_warnings():  # SciPy warns of the constant group's rounding residue
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = scipy_stats.ttest_ind(a, b, equal_var=False)
    with warnings.catch_warnings():  # ours takes its spread as exactly 0, with no warning
        warnings.simplefilter("error")
        result = stats.compare_means(a, b)
    assert result.test == stats.WELCH
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-10)
    assert result.difference == pytest.approx(np.mean(a) - np.mean(b), rel=1e-12)
    assert result.significant is bool(expected.pvalue < 0.05)
    # the decision is p < alpha, at the edge on either side
    assert stats.compare_means(a, b, alpha=expected.pvalue * (1 + 1e-9)).significant is True
    assert stats.compare_means(a, b, alpha=expected.pvalue * (1 - 1e-9)).significant is False
    assert stats.compare_means(a, b, alpha=result.p_value).significant is False  # p < alpha, strictly


def test_groups_without_spread() -> None:
    # identical values in groups of different sizes: their means differ by a rounding residue
    identical = stats.compare_means([0.8, 0.8, 0.8], [0.8, 0.8, 0.8, 0.8])
    assert (identical.test, identical.p_value, identical.significant) == ("identical values", 1.0, False)
    assert identical.difference == pytest.approx(0.0, abs=1e-15)
    different = stats.compare_means([0.8] * 4, [0.7] * 4)
    # exact: of the C(8, 4) = 70 equally likely splits of the pooled runs, one puts all four 0.8 on
    # one side; two-sided, doubled, 2/70 (SciPy's normal approximation for ties gave 0.0131)
    assert different.test == stats.MANN_WHITNEY
    assert different.p_value == pytest.approx(2 / 70, rel=1e-12)
    assert different.difference == pytest.approx(0.1)
    assert different.significant is True
    assert stats.compare_means([0.8] * 4, [0.7] * 4, alpha=different.p_value).significant is False


@pytest.mark.parametrize(("n", "m"), [(3, 3), (3, 5), (5, 5), (4, 10)])
def test_separated_groups_without_spread_get_the_exact_p(n: int, m: int) -> None:
    """Complete separation: 2 / C(n + m, n) exactly (3 vs 3: 0.1, not significant; SciPy's normal
    approximation for tied values gave 0.0469, significant)."""
    result = stats.compare_means([0.9] * n, [0.8] * m)
    assert result.p_value == pytest.approx(2 / math.comb(n + m, n), rel=1e-12)
    assert result.significant is (2 / math.comb(n + m, n) < 0.05)


@pytest.mark.parametrize(("x", "y"), [([1.0, 2.0, 2.0], [2.0, 3.0, 3.0, 4.0]), ([5.0, 5.0, 6.0], [5.0, 6.0, 6.0]),
                                      ([0.7, 0.7, 0.7], [0.8, 0.8, 0.8]), ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0])])
def test_mann_whitney_is_exact_with_ties(x: list[float], y: list[float]) -> None:
    """The exact p over every split of the pooled values, counted here one split at a time: twice the
    smaller tail of U (midranks for ties), at most 1."""
    from itertools import combinations

    pooled = np.array(x + y)
    u = [scipy_stats.mannwhitneyu(pooled[list(chosen)], np.delete(pooled, list(chosen))).statistic
         for chosen in combinations(range(pooled.size), len(x))]
    observed = scipy_stats.mannwhitneyu(x, y).statistic
    tails = (np.mean(np.array(u) >= observed - 1e-9), np.mean(np.array(u) <= observed + 1e-9))
    assert stats.mann_whitney_exact(np.array(x), np.array(y)) == pytest.approx(min(1.0, 2 * min(tails)), rel=1e-12)


@pytest.mark.filterwarnings("error")
def test_too_few_runs() -> None:
    result = stats.compare_means([0.8], [0.7, 0.72])
    assert result.significant is None and math.isnan(result.p_value)
    assert result.test == "too few runs (need 3 per group)"
    # the verdicts' rule (verdicts.MIN_RUNS), not a test from two runs a side
    two = stats.compare_means([0.80, 0.78], [0.70, 0.75, 0.74])
    assert (two.test, two.significant, math.isnan(two.p_value)) == ("too few runs (need 3 per group)", None, True)
    assert two.difference == pytest.approx(0.79 - 0.73)
    assert stats.MIN_RUNS is verdicts.MIN_RUNS
    assert result.difference == pytest.approx(0.09)
    assert math.isnan(stats.compare_means([], [0.7, 0.72]).difference)


@pytest.mark.filterwarnings("error")
def test_describe_time_by_hand() -> None:
    """[4, 1, 3, 2]: linear interpolation puts q25 at 1 + 0.75 = 1.75 and q75 at 3.25."""
    assert stats.describe_time([4.0, 1.0, None, 3.0, 2.0]) == {
        "median": 2.5, "q25": 1.75, "q75": 3.25, "iqr": 1.5, "min": 1.0, "max": 4.0}
    empty = stats.describe_time([None])
    assert set(empty) == {"median", "q25", "q75", "iqr", "min", "max"} and all(map(math.isnan, empty.values()))


@pytest.mark.filterwarnings("error")
def test_describe_mean_by_hand() -> None:
    """[1, 2, 3, 4]: mean 2.5, sample variance (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3."""
    described = stats.describe_mean([1.0, 2.0, 3.0, 4.0])
    assert described["mean"] == 2.5 and described["std"] == pytest.approx(math.sqrt(5 / 3), rel=1e-15)
    half = scipy_stats.t.ppf(0.975, 3) * math.sqrt(5 / 3) / 2
    assert (described["ci_low"], described["ci_high"]) == (pytest.approx(2.5 - half), pytest.approx(2.5 + half))
    assert stats.describe_mean([1.0, 3.0])["std"] == pytest.approx(math.sqrt(2), rel=1e-15)  # n = 2
    single = stats.describe_mean([0.5])
    assert single["mean"] == 0.5 and all(math.isnan(single[k]) for k in ("std", "ci_low", "ci_high"))
    assert all(map(math.isnan, stats.describe_mean([None]).values()))


def test_holm_by_hand() -> None:
    """Sorted 0.01, 0.03, 0.04, 0.2 of four tests: times 4, 3, 2, 1, then never below an earlier one
    (0.04 x 2 = 0.08 is raised to 0.03 x 3 = 0.09); NaN is no test and keeps its place."""
    adjusted = stats.holm([0.01, 0.04, 0.03, math.nan, 0.2])
    assert adjusted[[0, 1, 2, 4]] == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert math.isnan(adjusted[3])
    assert stats.holm([0.5, 0.6]).tolist() == [1.0, 1.0]  # capped at 1
    assert stats.holm([0.03]).tolist() == [0.03]  # a family of one is not adjusted
    assert stats.holm([]).size == 0


def test_p_text_never_rounds_onto_or_across_alpha() -> None:
    assert stats.p_text(0.0123456) == "0.0123"
    assert stats.p_text(0.04996) == "0.04996"  # three digits would print 0.05, read as not significant
    assert stats.p_text(0.0500004) == "0.05"  # at or above 0.05 either way
    assert stats.p_text(0.05) == "0.05" and stats.p_text(0.5) == "0.5"
    assert stats.p_text(0.0) == "<0.0001" and stats.p_text(3e-9) == "<0.0001"  # never "p=0"
    assert stats.p_text(0.04999999) == "0.04999999" and float(stats.p_text(0.0499999999999)) < 0.05
    assert stats.p_is(0.0312) == "p=0.0312" and stats.p_is(1e-7) == "p<0.0001"
    assert stats.p_text(float(np.nextafter(0.05, 0))) == "<0.05"  # below 0.05 by less than 16 digits show


def test_an_interval_is_cut_where_the_quantity_ends() -> None:
    """One outlying run stretches a t-interval past 1 or below 0; `within` cuts it there, and an
    interval inside the range is left as it is."""
    accuracies = [0.9677, 0.4798, 0.9647]  # one run of MNIST that nearly failed
    low, high = stats.t_interval(accuracies)
    assert high > 1 and low < 0.2
    assert stats.t_interval(accuracies, within=stats.RANGES["test_accuracy"]) == (low, 1.0)
    counts = [327, 5202, 353]
    assert stats.t_interval(counts)[0] < 0
    assert stats.t_interval(counts, within=stats.RANGES["test_misclassified"]) == (0.0, stats.t_interval(counts)[1])
    steady = [0.97, 0.98, 0.975]
    assert stats.t_interval(steady, within=(0.0, 1.0)) == stats.t_interval(steady)
    described = stats.describe_mean(accuracies, within=(0.0, 1.0))
    assert (described["ci_low"], described["ci_high"]) == (low, 1.0)
    assert described["mean"] == pytest.approx(np.mean(accuracies))


def test_fieller_interval_of_a_paired_ratio_inverts_the_paired_t_test() -> None:
    """At each end R of the interval of mean(x) / mean(y), a paired t-test of x - R y has p = 0.05
    exactly; a denominator not told from 0 gives no bounded interval; fewer than 3 pairs none."""
    x, y = np.array([111.0, 90, 140, 75, 139]), np.array([89.0, 60, 120, 40, 136])
    ratio, low, high = stats.ratio_interval_paired(x, y)
    assert ratio == pytest.approx(x.mean() / y.mean()) and low < ratio < high
    for bound in (low, high):
        assert scipy_stats.ttest_1samp(x - bound * y, 0.0).pvalue == pytest.approx(0.05)
    ratio, low, high = stats.ratio_interval_paired([10.0, 12, 9, 11], [5.0, -4, 6, -5])  # mean(y) not clear of 0
    assert ratio == pytest.approx(42 / 2) and math.isnan(low) and math.isnan(high)
    assert stats.ratio_interval_paired([1.0, 2.0], [1.0, 1.0])[1:] == (pytest.approx(math.nan, nan_ok=True),) * 2
    assert all(math.isnan(v) for v in stats.ratio_interval_paired([], []))
    assert stats.ratio_interval_paired([1.0, math.nan, 3.0, 2.0], [1.0, 5.0, math.nan, 2.0])[0] == pytest.approx(1.0)
    # x exactly proportional to y: no spread in x - R y at R = 1.5, so the interval is that point
    # (rounding may leave a tiny negative discriminant; it is not read as "no interval")
    rng = np.random.default_rng(3)
    for _ in range(200):
        y = rng.integers(40, 50, size=5).astype(float)  # clearly above 0: a bounded interval
        ratio, low, high = stats.ratio_interval_paired(1.5 * y, y)
        assert (low, high) == (pytest.approx(1.5), pytest.approx(1.5))
    with pytest.raises(ValueError, match="as many x as y, got 3 and 2"):
        stats.ratio_interval_paired([1.0, 2.0, 3.0], [1.0, 2.0])


def test_the_range_of_a_column_and_of_its_absolute_value() -> None:
    assert stats.range_of("test_accuracy") == (0.0, 1.0)
    assert stats.range_of("article_error") == stats.UNBOUNDED
    assert stats.range_of("article_error", absolute=True) == (0.0, math.inf)
    assert stats.absolute_range((2.0, 5.0)) == (2.0, 5.0) and stats.absolute_range((-5.0, -2.0)) == (2.0, 5.0)
    assert stats.absolute_range((-1.0, 3.0)) == (0.0, 3.0)


def near(value: float, rel: float = 1e-12) -> object:
    """pytest.approx at a relative tolerance alone: its default absolute tolerance (1e-12) would
    take any number below it, 0 included, for a value scaled by 1e-100."""
    return pytest.approx(value, rel=rel, abs=0)


# Scales at which a variance's square (about 1e-81 and below, 1e77 and above) or a variance itself
# (below about 1e-154, above 1e154) leaves the range of a double, while the values stay well inside it.
SCALES = (1e-200, 1e-160, 1e-100, 1e-80, 1e100, 1e160, 1e200)
WELCH_PAIRS = [([0.80, 0.78, 0.77], [0.70, 0.75, 0.74, 0.72]),  # unequal sizes and spreads
               ([0.8, 0.8, 0.8], [0.70, 0.71, 0.72, 0.74]),     # one group without spread
               ([1.0, 2.0, 1.5], [3.0, 4.5, 3.8])]


def test_satterthwaite_df_by_hand() -> None:
    """From the two standard errors: (ea² + eb²)² / (ea⁴/(na-1) + eb⁴/(nb-1)); 1 and 2 from 3 and 5
    values: 25 / (1/2 + 16/4) = 25 / 4.5. One error 0: the other group's n - 1; both 0: no df."""
    assert stats.satterthwaite_df(1.0, 2.0, 3, 5) == near(25 / 4.5, rel=1e-15)
    assert stats.satterthwaite_df(2.0, 1.0, 5, 3) == near(25 / 4.5, rel=1e-15)
    assert stats.satterthwaite_df(0.0, 2.0, 3, 5) == 4.0 and stats.satterthwaite_df(3.0, 0.0, 3, 5) == 2.0
    assert math.isnan(stats.satterthwaite_df(0.0, 0.0, 3, 5))


@pytest.mark.parametrize("scale", SCALES)
def test_satterthwaite_df_does_not_depend_on_the_scale(scale: float) -> None:
    """df is a ratio of fourth powers: the same for errors multiplied by any positive constant, also
    where those powers leave the range of a double (computed they gave 0/0 or inf/inf)."""
    assert stats.satterthwaite_df(1.0 * scale, 2.0 * scale, 3, 5) == near(25 / 4.5, rel=1e-14)
    assert stats.satterthwaite_df(0.0, 2.0 * scale, 3, 5) == 4.0


@pytest.mark.parametrize("a, b", WELCH_PAIRS)
def test_welch_interval_matches_scipy(a: list[float], b: list[float]) -> None:
    with warnings.catch_warnings():  # SciPy warns of the constant group's rounding residue
        warnings.simplefilter("ignore", RuntimeWarning)
        theirs = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert stats.welch_interval(a, b) == (near(theirs.low, rel=1e-10), near(theirs.high, rel=1e-10))


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("a, b", WELCH_PAIRS)
def test_welch_test_and_interval_do_not_depend_on_the_scale(a: list[float], b: list[float], scale: float) -> None:
    """Runs multiplied by any positive constant: the same p and degrees of freedom, the interval
    multiplied by it (tiny spreads gave a ZeroDivisionError, NaN, or a wrong p such as 0.158 for 0.011)."""
    x, y = np.array(a) * scale, np.array(b) * scale
    low, high = stats.welch_interval(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stats.welch_interval(x, y) == (near(low * scale), near(high * scale))
        ours, scaled = stats.compare_means(a, b), stats.compare_means(x, y)
    assert (scaled.test, scaled.significant) == (stats.WELCH, ours.significant)
    assert scaled.p_value == near(ours.p_value)
    assert scaled.difference == near(ours.difference * scale)


@pytest.mark.parametrize("scale", (1.0, *SCALES))
def test_welch_interval_with_a_constant_group(scale: float) -> None:
    """As its docstring says: a constant group adds no variance, so the interval is the other's
    t-interval (n - 1 degrees of freedom) about the difference; both constant, NaN. Values such as
    1 + k·1e-160 are all 1.0 in a double: constant, not a tiny spread."""
    spread_out = np.array([0.70, 0.71, 0.72, 0.74]) * scale
    half = scipy_stats.t.ppf(0.975, 3) * np.std(np.array([0.70, 0.71, 0.72, 0.74]), ddof=1) / 2 * scale
    difference = 0.8 * scale - spread_out.mean()
    assert stats.welch_interval([0.8 * scale] * 3, spread_out) == (near(difference - half), near(difference + half))
    assert all(map(math.isnan, stats.welch_interval([0.8 * scale] * 3, [0.7 * scale] * 4)))
    ones = [1.0 + k * 1e-160 for k in range(3)]
    assert all(map(math.isnan, stats.welch_interval(ones, [1.0] * 3)))
    assert stats.compare_means(ones, [1.0] * 3).test == "identical values"


@pytest.mark.parametrize("scale", SCALES)
def test_gap_verdict_does_not_depend_on_the_scale(scale: float) -> None:
    """judge_gap's p, verdict and reason are those of the runs at scale 1, its interval scaled."""
    a, b = [0.80, 0.78, 0.77], [0.70, 0.75, 0.74, 0.72]
    ours = verdicts.judge_gap(a, b, -0.02, 5, 5, "lower")
    scaled = verdicts.judge_gap(np.array(a) * scale, np.array(b) * scale, -0.02 * scale, 5, 5, "lower")
    assert (scaled.verdict, scaled.reason) == (ours.verdict, ours.reason) and ours.verdict == "worse"
    assert scaled.p_value == near(ours.p_value)
    assert (scaled.low, scaled.high) == (near(ours.low * scale), near(ours.high * scale))


@pytest.mark.parametrize("scale", SCALES)
def test_a_mean_and_its_spread_do_not_depend_on_the_scale(scale: float) -> None:
    """The sample deviation (the mean of squared deviations, which leaves a double's range) and the
    intervals built on it: multiplied by the constant, not 0 or inf (a tiny spread gave a point)."""
    data = np.array(SAMPLE)
    assert stats.spread(data) == np.std(data, ddof=1)  # the same digits as NumPy's at scale 1
    assert stats.spread(data * scale) == near(np.std(data, ddof=1) * scale, rel=1e-14)
    low, high = stats.t_interval(data)
    assert stats.t_interval(data * scale) == (near(low * scale), near(high * scale))
    described, scaled = stats.describe_mean(data), stats.describe_mean(data * scale)
    assert scaled == {key: near(value * scale) for key, value in described.items()}
    low, high = verdicts.prediction_interval(data)
    assert verdicts.prediction_interval(data * scale) == (near(low * scale), near(high * scale))


@pytest.mark.parametrize(("x_scale", "y_scale"), [(1e-200, 1e-200), (1e-100, 1e-100), (1e200, 1e200),
                                                  (1e-100, 1.0), (1.0, 1e160)])
def test_paired_ratio_interval_does_not_depend_on_the_scale(x_scale: float, y_scale: float) -> None:
    """Fieller's quadratic squares means and covariances (fourth powers of the values): with x and y
    multiplied by constants, the ratio and its interval are multiplied by their quotient."""
    x, y = np.array([111.0, 90, 140, 75, 139]), np.array([89.0, 60, 120, 40, 136])
    factor = x_scale / y_scale
    assert stats.ratio_interval_paired(x * x_scale, y * y_scale) == tuple(
        near(value * factor) for value in stats.ratio_interval_paired(x, y))


def test_describe_mean_s_mean_is_the_one_its_interval_is_centred_on():
    """describe_mean's mean is stats.mean, the centre of its t-interval: 12 runs of 0.1 average
    exactly 0.1 (NumPy's mean of them carries a rounding residue, 0.09999999999999999)."""
    runs = [0.1] * 12
    assert float(np.mean(runs)) != 0.1  # the residue this guards against
    assert stats.describe_mean(runs)["mean"] == 0.1
    assert stats.describe_mean([])["mean"] != stats.describe_mean([])["mean"]  # NaN for none
