"""Each verdict rule on hand-made values, with p-values computed here from the t distribution
(not through the function under test's SciPy call) and exact expected verdicts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from harness.reporting import multiple_testing, stats, verdicts


def _exact_p(mean: float, s: float, n: int, published: float, m: int) -> float:
    """The exact t when the article's sd is assumed equal to ours: s is our estimate alone (n - 1
    degrees of freedom) and the difference of means has variance s^2 (1/n + 1/m)."""
    t = (mean - published) / (s * math.sqrt(1 / n + 1 / m))
    return 2 * scipy_stats.t.sf(abs(t), n - 1)


def test_published_mean_welch_lower_is_better() -> None:
    ours = [10.0, 12.0, 14.0, 16.0]  # mean 13, s = sqrt(20/3)
    s = math.sqrt(20 / 3)
    p = _exact_p(13.0, s, 4, 20.0, 10)
    assert p == pytest.approx(0.0195, abs=1e-4)  # by hand: t = -7 / (2.582 * 0.5916) = -4.583, df = 3
    result = verdicts.judge_mean(ours, 20.0, 10, "lower")
    assert (result.verdict, result.p_value, result.n) == ("better", pytest.approx(p, rel=1e-9), 4)
    assert verdicts.judge_mean(ours, 20.0, 10, "higher").verdict == "worse"  # higher is better
    assert verdicts.judge_mean(ours, 20.0, 10, "none").verdict == "differs"
    near = verdicts.judge_mean(ours, 14.0, 10, "lower")
    assert near.verdict == "consistent" and near.p_value == pytest.approx(_exact_p(13.0, s, 4, 14.0, 10))


def test_published_mean_uses_our_degrees_of_freedom_only() -> None:
    """mean 12, s = 2, n = 3 against 16.7 over 10 runs: t = -4.7 / (2 sqrt(1/3 + 1/10)) = -3.570 on 2 df,
    p = 0.070, not significant; the article's run count's df (Welch on 2 and 9) would make it 0.032."""
    p = 2 * scipy_stats.t.sf(4.7 / (2 * math.sqrt(1 / 3 + 1 / 10)), 2)
    assert p == pytest.approx(0.070, abs=1e-3)
    result = verdicts.judge_mean([10.0, 12.0, 14.0], 16.7, 10, "closer_to_zero")
    assert result.verdict == "consistent" and result.p_value == pytest.approx(p, rel=1e-9)


def test_published_mean_holds_its_false_alarm_rate() -> None:
    """n = 3 against N = 10 from the same normal: 'not consistent' at most about 5% of the time
    (4000 draws: binomial sd 0.0034; the article's-df formula gave 0.089)."""
    rng = np.random.default_rng(11)
    alarms = sum(verdicts.judge_mean(rng.normal(0, 1, 3), rng.normal(0, 1, 10).mean(), 10, "none").verdict
                 != "consistent" for _ in range(4000))
    assert 0.035 <= alarms / 4000 <= 0.065


def test_closer_to_zero_compares_the_signed_mean_the_article_printed() -> None:
    """The article's Titanic "error" is the mean of signed per-run values, so ours is too: errors
    -13, -12, -14, -13 (mean -13) against its 12.75 differ (p from the signed values), but are not
    told farther from zero than it (they are as far as its mirror image -12.75): "differs".
    Negative control: the mirror runs 13, 12, 14, 13 have the same mean |error| and are consistent
    with 12.75, so the verdict reads the sign, which a rule on |error| cannot."""
    ours, s = [-13.0, -12.0, -14.0, -13.0], math.sqrt(2 / 3)
    result = verdicts.judge_mean(ours, 12.75, 20, "closer_to_zero")
    assert (result.verdict, result.ours) == ("differs", -13.0)
    assert result.p_value == pytest.approx(_exact_p(-13.0, s, 4, 12.75, 20), rel=1e-9)
    mirror = verdicts.judge_mean([-v for v in ours], 12.75, 20, "closer_to_zero")
    assert (mirror.verdict, mirror.ours) == ("consistent", 13.0)
    assert mirror.p_value == pytest.approx(_exact_p(13.0, s, 4, 12.75, 20), rel=1e-9)
    # better / worse by distance from zero, not by the sign: -20 is lower than 12.75 but farther from 0,
    # -5 is closer; and 5 is closer to 0 than -12.75 though higher
    far, near = [-20.0, -21.0, -19.0, -20.0], [-5.0, -6.0, -4.0, -5.0]
    assert verdicts.judge_mean(far, 12.75, 20, "lower").verdict == "better"
    assert verdicts.judge_mean(far, 12.75, 20, "closer_to_zero").verdict == "worse"
    assert verdicts.judge_mean(near, 12.75, 20, "closer_to_zero").verdict == "better"
    assert verdicts.judge_mean([-v for v in near], -12.75, 20, "closer_to_zero").verdict == "better"
    # as far from zero on the other side, or not told apart from that mirror image: neither is nearer
    for shift in (0.0, 0.1, -0.1):  # means -16.6, -16.7, -16.8 against 16.7 (the mirror -16.7)
        mirrored = [v + shift for v in (-16.6, -16.8, -16.7, -16.5, -16.9)]
        result = verdicts.judge_mean(mirrored, 16.7, 10, "closer_to_zero")
        assert result.verdict == "differs" and ("neither is told nearer zero" in result.reason) == (shift != 0.0)


def test_the_titanic_gap_of_signed_means_has_no_better_side() -> None:
    """A gap of signed "errors" (mlp - keras) that is lower is not a more accurate MLP: an MLP off
    by -30 passengers beside a Keras off by 0 gives a gap of -30, far below the article's 4, and
    must not read "better"."""
    from harness.reporting.article_numbers import load_reference

    entry = next(e for e in load_reference()["numbers"] if e["id"] == "titanic_vs_tf_error_gap")
    result = verdicts.judge_gap([-31.0, -29.0, -30.0, -32.0, -28.0], [1.0, -1.0, 0.0, 2.0, -2.0], entry["value"],
                                10, 10, entry["better"])
    assert result.verdict == "differs"


def test_too_few_runs_says_so() -> None:
    for rule in (lambda v: verdicts.judge_mean(v, 1.0, 20, "lower"), lambda v: verdicts.judge_single(v, 1.0, "lower"),
                 lambda v: verdicts.judge_gap(v, [1.0, 2.0, 3.0], 1.0, 5, 5, "lower")):
        result = rule([1.0, 2.0])
        assert result.verdict == "too few runs (n=2)" and math.isnan(result.p_value)
    assert verdicts.judge_mean([1.0, 2.0, 4.0], 1.0, 20, "lower").verdict != "too few runs (n=3)"


def test_single_value_against_prediction_interval_and_its_edge() -> None:
    ours = [1.0, 2.0, 3.0, 4.0, 5.0]  # mean 3, s = sqrt(2.5)
    half = scipy_stats.t.ppf(0.975, 4) * math.sqrt(2.5) * math.sqrt(1 + 1 / 5)
    assert half == pytest.approx(4.809, abs=1e-3)  # by hand: 2.776 * 1.581 * 1.095
    low, high = verdicts.prediction_interval(ours)
    assert (low, high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    inside, outside = verdicts.judge_single(ours, 3 + half - 1e-6, "lower"), verdicts.judge_single(ours, 3 + half + 1e-6, "lower")
    assert inside.verdict == "consistent" and outside.verdict == "better"  # ours below the article's value
    assert inside.p_value == pytest.approx(0.05, abs=1e-6) and outside.p_value < 0.05
    t = (7.0 - 3.0) / (math.sqrt(2.5) * math.sqrt(1.2))
    assert verdicts.judge_single(ours, 7.0, "none").p_value == pytest.approx(2 * scipy_stats.t.sf(t, 4))
    assert verdicts.judge_single(ours, -3.0, "lower").verdict == "worse"


def test_gap_between_mlp_and_keras() -> None:
    mlp, keras = [100.0, 110.0, 120.0], [50.0, 55.0, 60.0]  # variances 100 and 25, gap 55
    # two variance estimates (ours, 2 df each), each serving our mean and the article's (5 runs)
    ta, tb = 100 * (1 / 3 + 1 / 5), 25 * (1 / 3 + 1 / 5)
    df = (ta + tb) ** 2 / (ta ** 2 / 2 + tb ** 2 / 2)
    assert df == pytest.approx(2.941, abs=1e-3)  # by hand: 66.67^2 / (53.33^2 / 2 + 13.33^2 / 2)
    p = 2 * scipy_stats.t.sf(abs(55 - 106) / math.sqrt(ta + tb), df)
    result = verdicts.judge_gap(mlp, keras, 106.0, 5, 5, "lower")
    assert (result.verdict, result.ours) == ("better", 55.0)  # a smaller gap than the article's
    assert result.p_value == pytest.approx(p, rel=1e-9)
    own = scipy_stats.ttest_ind(mlp, keras, equal_var=False).confidence_interval(0.95)
    assert (result.low, result.high) == (pytest.approx(own.low), pytest.approx(own.high))
    assert verdicts.judge_gap(mlp, keras, 60.0, 5, 5, "lower").verdict == "consistent"


def test_range_claims_need_overlap() -> None:
    assert verdicts.judge_range(0.5, 0.4, 0.6, (0.19, 0.237), "lower", 10).verdict == "worse"
    assert verdicts.judge_range(0.1, 0.05, 0.15, (0.19, 0.237), "lower", 10).verdict == "better"
    assert verdicts.judge_range(0.2, 0.15, 0.25, (0.19, 0.237), "lower", 10).verdict == "consistent"
    assert verdicts.judge_range(0.2, 0.15, 0.25, (0.19, 0.237), "lower", 2).verdict == "too few runs (n=2)"


def test_bound_and_t_interval() -> None:
    ours = [10.0, 11.0, 12.0]
    low, high = stats.t_interval(ours)
    expected = scipy_stats.t.interval(0.95, 2, loc=11.0, scale=1.0 / math.sqrt(3))
    assert (low, high) == (pytest.approx(expected[0]), pytest.approx(expected[1]))
    assert verdicts.judge_bound(ours, high + 0.01, "why").verdict == "consistent"
    assert verdicts.judge_bound(ours, high - 0.01, "why").verdict == "not shown below"  # the interval holds it
    assert verdicts.judge_bound(ours, low - 0.01, "why").verdict == "differs"  # wholly above it
    assert all(math.isnan(v) for v in stats.t_interval([1.0]))


def test_a_bound_inside_the_interval_is_no_verdict() -> None:
    """[10, 12, 190] under 193.77: mean 70.7, t-interval [-187.4, 328.7] holds the bound, so the runs
    neither show the mean below it nor above it: "not shown below", neither consistent nor significant;
    "differs" only where the whole interval lies above the bound."""
    ours = [10.0, 12.0, 190.0]
    low, high = stats.t_interval(ours)
    result = verdicts.judge_bound(ours, 193.77, "why")
    assert (result.verdict, math.isnan(result.p_value), result.low, result.high) == (
        "not shown below", True, pytest.approx(low), pytest.approx(high))
    assert result.reason == ("fixed bound 193.77: why; our 95% interval [-186.1, 327.4] holds it, so the "
                             "runs show the mean neither below nor above it")
    above = verdicts.judge_bound([200.0, 201.0, 202.0], 193.77, "why")
    assert above.verdict == "differs" and above.reason.endswith("our interval's lower end is 198.5, above it")
    assert verdicts.NOT_SHOWN not in verdicts.JUDGED


def test_reasons_write_large_numbers_whole() -> None:
    """Misclassified counts of a run near chance (sd in the thousands) and values above 10,000 read
    as the tables write them (number_text.fmt), never as 3.47e+03."""
    spread = [100.0, 4000.0, 200.0, 6000.0, 300.0]
    large = [12000.0, 13000.0, 14000.0, 12500.0]
    reasons = {"mean": verdicts.judge_mean(spread, 341.0, 5, "lower").reason,
               "single": verdicts.judge_single(large, 13000.0, "lower").reason,
               "bound": verdicts.judge_bound(large, 20000.0, "why").reason,
               "range": verdicts.judge_range(2.0, 1.0, 3.0, (1500.0, 2500.0), "lower", 5).reason}
    for name, reason in reasons.items():
        assert "e+0" not in reason, (name, reason)
    assert f"assumed equal to ours, {np.std(spread, ddof=1):.0f};" in reasons["mean"]
    low, high = verdicts.prediction_interval(large)
    assert f"[{low:.0f}, {high:.0f}]" in reasons["single"]
    assert "1500–2500" in reasons["range"]


def test_unknown_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown direction 'up'"):
        verdicts.judge_mean(np.arange(5.0), 1.0, 5, "up")


def test_t_interval_holds_its_coverage_at_three_runs() -> None:
    """The reason the verdicts use t-intervals (docs/verdicts.md): 95% on normal data even at n=3.
    2000 samples: the binomial sd of the coverage is 0.005, so [0.93, 0.97] fails only on a real fault."""
    rng = np.random.default_rng(7)
    hits = sum(low <= 0.0 <= high for low, high in (stats.t_interval(rng.normal(0, 1, 3)) for _ in range(2000)))
    assert 0.93 <= hits / 2000 <= 0.97
    # negative control: the z-interval (no t correction) under-covers badly at n=3
    z_hits = 0
    for _ in range(2000):
        sample = rng.normal(0, 1, 3)
        half = 1.96 * sample.std(ddof=1) / math.sqrt(3)
        z_hits += abs(sample.mean()) <= half
    assert z_hits / 2000 < 0.90


def test_verdicts_are_styled_on_the_page() -> None:
    from harness.reporting import html

    assert 'class="verdict v-too-few-runs">too few runs (n=2)<' in html.verdict_html("too few runs (n=2)")
    import pandas as pd
    page = html.page([], pd.DataFrame(columns=["verdict"]), title="t", generated="now", roots=[])
    style = page[page.index("<style>"):page.index("</style>")]
    assert ".v-too-few-runs{" in style and ".v-consistent{" in style


def test_page_names_the_time_ratios_bootstrap_interval() -> None:
    """The time ratio's verdict interval is stats.ratio_of_medians_ci, a percentile bootstrap: the
    method text must not say every verdict interval is a t-interval."""
    import re

    from harness.reporting import html

    text = re.sub(r"\s+", " ", html.method_html())
    assert "Intervals of the verdicts are t-intervals" not in text
    assert ("percentile bootstrap interval of the ratio of medians overlaps that range widened by the times' "
            "read-off error") in text
    assert "the time ratio's is the percentile bootstrap of the ratio of medians" in text


# Expected values below are worked by hand. The t distribution has closed forms at one and two
# degrees of freedom: t(1) is the Cauchy, ppf(q) = tan(pi (q - 1/2)); t(2) has
# sf(t) = 1/2 - t / (2 sqrt(t^2 + 2)), so a two-sided p is 1 - |t| / sqrt(t^2 + 2), and
# ppf(0.975) = 0.95 sqrt(2 / (4 * 0.975 * 0.025)) = 4.302653.
T1 = math.tan(math.pi * 0.475)  # 12.706205
T2 = 0.95 * math.sqrt(2 / (4 * 0.975 * 0.025))  # 4.302653


def _check(result: verdicts.Verdict, *expected: object) -> None:
    """Every field of `result` against `expected`, in Verdict's order (NaN matches only NaN)."""
    got = (result.verdict, result.p_value, result.ours, result.low, result.high, result.n, result.reason)
    assert len(expected) == len(got)
    for name, value, want in zip(("verdict", "p_value", "ours", "low", "high", "n", "reason"), got, expected):
        if isinstance(want, float) and math.isnan(want):
            assert isinstance(value, float) and math.isnan(value), name
        elif isinstance(want, float):
            assert isinstance(value, float) and value == pytest.approx(want, rel=1e-6), name
        else:
            assert type(value) is type(want) and value == want, name


def test_closed_forms_used_below() -> None:
    assert (T1, T2) == (pytest.approx(12.706205, abs=1e-6), pytest.approx(4.302653, abs=1e-6))


def test_too_few_runs_keep_our_numbers() -> None:
    """Two runs [1, 3]: mean 2, s = sqrt(2); the t-interval 2 ± t(1) s / sqrt(2) = 2 ± T1, the
    prediction interval 2 ± t(1) s sqrt(1 + 1/2) = 2 ± T1 sqrt(3); no test, so p is NaN."""
    two, nan = [1.0, 3.0], math.nan
    needs = "a verdict needs 3 runs"
    _check(verdicts.judge_mean(two, 1.0, 20, "lower"), "too few runs (n=2)", nan, 2.0, 2 - T1, 2 + T1, 2, needs)
    _check(verdicts.judge_bound(two, 5.0, "why"), "too few runs (n=2)", nan, 2.0, 2 - T1, 2 + T1, 2, needs)
    pi = T1 * math.sqrt(3)
    _check(verdicts.judge_single(two, 1.0, "lower"), "too few runs (n=2)", nan, 2.0, 2 - pi, 2 + pi, 2, needs)
    _check(verdicts.judge_gap(two, [1.0, 2.0, 3.0], 1.0, 5, 5, "lower"),
           "too few runs (n=2)", nan, 0.0, nan, nan, 2, needs + " per side")
    _check(verdicts.judge_range(0.2, 0.15, 0.25, (0.19, 0.237), "lower", 2),
           "too few runs (n=2)", nan, 0.2, 0.15, 0.25, 2, "a verdict needs 5 runs per side")
    # a ratio's bootstrap interval needs five a side (stats.RATIO_MIN_RUNS), four are too few
    assert verdicts.judge_range(0.2, 0.15, 0.25, (0.19, 0.237), "lower", 4).verdict == "too few runs (n=4)"
    # an interval with an open end cannot be judged either, whatever the run count
    assert verdicts.judge_range(0.2, math.nan, 0.25, (0.19, 0.237), "lower", 5).verdict == "too few runs (n=5)"
    assert verdicts.judge_range(0.2, 0.15, math.inf, (0.19, 0.237), "lower", 5).verdict == "too few runs (n=5)"
    # three runs are enough for every rule on means; five for the ratio's range
    three = [1.0, 2.0, 3.0]
    for result in (verdicts.judge_mean(three, 2.0, 5, "lower"), verdicts.judge_single(three, 2.0, "lower"),
                   verdicts.judge_gap(three, three, 0.0, 5, 5, "lower"), verdicts.judge_bound(three, 9.0, "why"),
                   verdicts.judge_range(0.2, 0.15, 0.25, (0.19, 0.237), "lower", 5)):
        assert result.verdict == "consistent"


def test_no_runs_at_all_give_nan_quietly() -> None:
    """A group without a finite value: NaN for our number and interval, n=0, and no NumPy warning
    (a mean of nothing would print 'Mean of empty slice' into the report's log)."""
    import warnings

    nan = math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for rule in (lambda v: verdicts.judge_mean(v, 1.0, 20, "lower"), lambda v: verdicts.judge_single(v, 1.0, "lower"),
                     lambda v: verdicts.judge_bound(v, 1.0, "why")):
            result = rule([None, math.nan])
            _check(result, "too few runs (n=0)", nan, nan, nan, nan, 0, "a verdict needs 3 runs")
        for a, b in (([], [1.0, 2.0, 3.0]), ([1.0, 2.0, 3.0], []), ([], [])):
            _check(verdicts.judge_gap(a, b, 1.0, 5, 5, "lower"),
                   "too few runs (n=0)", nan, nan, nan, nan, 0, "a verdict needs 3 runs per side")


def test_intervals_need_two_values_not_three() -> None:
    """[1, 3]: 2 ± T1 for the mean, 2 ± T1 sqrt(3) for one more run (one degree of freedom)."""
    assert stats.t_interval([1.0, 3.0]) == (pytest.approx(2 - T1), pytest.approx(2 + T1))
    pi = T1 * math.sqrt(3)
    assert verdicts.prediction_interval([1.0, 3.0]) == (pytest.approx(2 - pi), pytest.approx(2 + pi))
    assert all(math.isnan(v) for v in verdicts.prediction_interval([1.0]))


def test_runs_without_spread_get_no_test() -> None:
    """Every run the same (a deterministic fit): t is 0/0, so no test runs and no p is given, as for an
    ablation effect without spread; a rounding residue of the sd (about 1e-17) decides nothing."""
    nan = math.nan
    same = [5.0, 5.0, 5.0]
    _check(verdicts.judge_mean(same, 5.0, 10, "lower"), "untested", nan, 5.0, nan, nan, 3,
           "no test: every run gave 5, the article's value, so there is no spread for a t-test")
    _check(verdicts.judge_mean(same, 6.0, 10, "lower"), "untested", nan, 5.0, nan, nan, 3,
           "no test: every run gave 5 (the article: 6), so there is no spread for a t-test")
    _check(verdicts.judge_single(same, 4.0, "lower"), "untested", nan, 5.0, nan, nan, 3,
           "no test: every run gave 5 (the article: 4), so there is no spread for a t-test")
    _check(verdicts.judge_gap(same, [3.0, 3.0, 3.0], 2.0, 5, 5, "lower"), "untested", nan, 2.0, nan, nan, 3,
           "no test: every run gave 5 on one side and 3 on the other, a difference of 2, the article's value, "
           "so there is no spread for a t-test")
    _check(verdicts.judge_bound(same, 9.0, "why"), "untested", nan, 5.0, nan, nan, 3,
           "no test: every run gave 5, so there is no spread for a t-test")
    # identical floats: their mean and sd carry a residue, which must not decide (it gave worse, p=0.047)
    residue = verdicts.judge_mean([0.1] * 12, 0.1, 10, "lower")
    assert (residue.verdict, residue.ours) == ("untested", 0.1) and math.isnan(residue.p_value)
    assert residue.reason == "no test: every run gave 0.1, the article's value, so there is no spread for a t-test"
    near = verdicts.judge_single([0.037808] * 5, 0.037808 * (1 + 1e-12), "lower")  # gave better, p=0
    assert (near.verdict, math.isnan(near.p_value)) == ("untested", True)
    assert "p=" not in near.reason and "p<" not in near.reason
    interval = verdicts.prediction_interval([0.1] * 3)  # no residue: the runs' own value, both ends
    assert interval == (0.1, 0.1)


def test_a_gap_with_one_side_constant_is_tested() -> None:
    """[0.3]*3 against [0.1, 0.2, 0.15]: only one side has no spread, so the other's carries the test.
    Gap 0.15 against 0.2; va = 0, vb = 0.0025, tb = 0.0025 (1/3 + 1/5) = 1/750, t = -0.05 sqrt(750)
    = -1.369, df = tb^2 / (tb^2 / 2) = 2, p = 1 - |t| / sqrt(t^2 + 2) = 0.304; Welch's own interval
    0.15 ± T2 sqrt(0.0025 / 3) (2 degrees of freedom)."""
    t = -0.05 * math.sqrt(750)
    assert t == pytest.approx(-1.369, abs=1e-3)
    p = 1 - abs(t) / math.sqrt(t * t + 2)
    assert p == pytest.approx(0.304, abs=1e-3)
    half = T2 * math.sqrt(0.0025 / 3)
    _check(verdicts.judge_gap([0.3] * 3, [0.1, 0.2, 0.15], 0.2, 5, 5, "lower"), "consistent", p, 0.15,
           0.15 - half, 0.15 + half, 3,
           "our difference (n=3 and 3) against the article's (n=5 and 5, spreads assumed equal to ours), t with "
           "Satterthwaite's degrees of freedom over our two variances: p=0.304")


def test_an_untested_reason_tells_equal_from_different_values() -> None:
    """0.3 - 0.1 is 0.19999999999999998 in floats: a gap of constant sides equals the article's 0.2
    (it read "a difference of 0.2 (the article: 0.2)"); values that differ past 4 digits are printed
    with the digits that tell them apart (it read "every run gave 0.03781 (the article: 0.03781)")."""
    assert 0.3 - 0.1 != 0.2
    equal = verdicts.judge_gap([0.3] * 3, [0.1] * 3, 0.2, 5, 5, "lower")
    assert (equal.verdict, equal.reason) == ("untested", "no test: every run gave 0.3 on one side and 0.1 on the "
                                             "other, a difference of 0.2, the article's value, so there is no "
                                             "spread for a t-test")
    apart = verdicts.judge_gap([0.3] * 3, [0.1] * 3, 0.2001, 5, 5, "lower")
    assert "a difference of 0.2 (the article: 0.2001)" in apart.reason
    close = verdicts.judge_mean([0.0378100001] * 3, 0.03781, 10, "lower")
    assert "every run gave 0.0378100001 (the article: 0.03781)," in close.reason
    big = verdicts.judge_single([1634.2] * 3, 1634.4, "lower")  # fmt writes both out whole as 1634
    assert "every run gave 1634.2 (the article: 1634.4)," in big.reason


def test_published_mean_with_unit_spread_is_tested() -> None:
    """[1, 2, 3]: mean 2, s = 1 exactly (so a rule keyed on s == 1 would show). Against 4 over 2
    runs: t = -2 / sqrt(1/3 + 1/2), t^2 = 4.8, p = 1 - sqrt(4.8 / 6.8) = 0.159832 on 2 df;
    the t-interval is 2 ± T2 / sqrt(3)."""
    p = 1 - math.sqrt(4.8 / 6.8)
    half = T2 / math.sqrt(3)
    _check(verdicts.judge_mean([1.0, 2.0, 3.0], 4.0, 2, "none"), "consistent", p, 2.0, 2 - half, 2 + half, 3,
           "t-test of our mean (n=3) against the article's (n=2, its sd assumed equal to ours, 1; "
           "2 degrees of freedom): p=0.16")
    # closer to zero: the signed errors themselves (the same test, the interval not cut), and the reason says so
    _check(verdicts.judge_mean([-1.0, -2.0, -3.0], -4.0, 2, "closer_to_zero"), "consistent", p, -2.0, -2 - half,
           -2 + half, 3, "t-test of our signed mean (n=3) against the article's (n=2, its sd assumed equal to ours, 1; "
                         "2 degrees of freedom): p=0.16")


def test_bound_keeps_our_numbers_and_says_why() -> None:
    """[1, 2, 3] under a bound of 5: the t-interval 2 ± T2 / sqrt(3) = [-0.484, 4.484] ends below it."""
    half = T2 / math.sqrt(3)
    _check(verdicts.judge_bound([1.0, 2.0, 3.0], 5.0, "the article's table"), "consistent", math.nan, 2.0,
           2 - half, 2 + half, 3, "fixed bound 5: the article's table; our interval's upper end is 4.484")


def test_single_value_with_unit_spread_and_the_reason() -> None:
    """[1, 2, 3] against one run of 5: t = 3 / sqrt(4/3), t^2 = 6.75, p = 1 - sqrt(6.75 / 8.75) =
    0.121690; the prediction interval 2 ± T2 sqrt(4/3) = [-2.968, 6.968]. Against 8: t^2 = 27,
    p = 1 - sqrt(27 / 29) = 0.035099, outside."""
    half = T2 * math.sqrt(4 / 3)
    _check(verdicts.judge_single([1.0, 2.0, 3.0], 5.0, "none"), "consistent", 1 - math.sqrt(6.75 / 8.75),
           2.0, 2 - half, 2 + half, 3,
           "the article's single run is inside our 95% prediction interval [-2.968, 6.968] for one run (n=3): p=0.122")
    _check(verdicts.judge_single([1.0, 2.0, 3.0], 8.0, "none"), "differs", 1 - math.sqrt(27 / 29),
           2.0, 2 - half, 2 + half, 3,
           "the article's single run is outside our 95% prediction interval [-2.968, 6.968] for one run (n=3): p=0.0351")
    # closer to zero: signed errors -1, -2, -3 are judged as they are, their interval not cut at 0
    result = verdicts.judge_single([-1.0, -2.0, -3.0], -5.0, "closer_to_zero")
    assert (result.ours, result.p_value) == (-2.0, pytest.approx(1 - math.sqrt(6.75 / 8.75)))
    assert (result.low, result.high) == (pytest.approx(-2 - half), pytest.approx(-2 + half))


def test_a_p_value_of_exactly_alpha_is_not_significant(monkeypatch: pytest.MonkeyPatch) -> None:
    """'Significant' means p < ALPHA: a two-sided tail of exactly ALPHA / 2 each side is consistent."""
    monkeypatch.setattr(verdicts.scipy_stats.t, "sf", lambda t, df: verdicts.ALPHA / 2)
    for result in (verdicts.judge_mean([1.0, 2.0, 3.0], 9.0, 5, "lower"), verdicts.judge_single([1.0, 2.0, 3.0], 9.0, "lower"),
                   verdicts.judge_gap([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], 9.0, 5, 5, "lower")):
        assert (result.verdict, result.p_value) == ("consistent", verdicts.ALPHA)


def test_range_overlap_at_its_ends_and_the_reason() -> None:
    """Touching an end of the article's range is overlapping it; so is lying partly inside it."""
    published = (0.19, 0.237)
    for low, high in ((0.237, 0.3), (0.1, 0.19), (0.15, 0.2), (0.2, 0.3), (0.2, 0.21), (0.1, 0.3)):
        _check(verdicts.judge_range(0.2, low, high, published, "lower", 5), "consistent", math.nan, 0.2, low, high, 5,
               "overlap of our 95% bootstrap interval with the article's range: the article gives only 0.19–0.237, no "
               "spread to test with; our interval overlaps it")
    _check(verdicts.judge_range(0.5, 0.4, 0.6, published, "lower", 5), "worse", math.nan, 0.5, 0.4, 0.6, 5,
           "overlap of our 95% bootstrap interval with the article's range: the article gives only 0.19–0.237, no "
           "spread to test with; our interval misses it")
    assert verdicts.judge_range(0.1, 0.05, 0.15, published, "higher", 5).verdict == "worse"


def test_gap_reports_our_run_count_and_welch_interval() -> None:
    """n is the smaller group; the interval is Welch's for the difference, as SciPy computes it."""
    mlp, keras = [100.0, 110.0, 120.0, 130.0], [50.0, 55.0, 60.0]
    result = verdicts.judge_gap(mlp, keras, 60.0, 5, 5, "lower")
    own = scipy_stats.ttest_ind(mlp, keras, equal_var=False).confidence_interval(0.95)
    assert (result.n, result.ours, result.low, result.high) == (3, 60.0, pytest.approx(own.low), pytest.approx(own.high))


def test_unknown_direction_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as info:
        verdicts.judge_mean([1.0, 2.0, 3.0], 1.0, 5, "up")
    assert str(info.value) == "unknown direction 'up': use one of lower, higher, closer_to_zero, none"


def test_a_range_is_missed_on_the_side_our_interval_lies() -> None:
    """A percentile bootstrap interval need not hold the point value: the side of the published
    range that the interval lies on decides better or worse, not where the point value falls."""
    below = verdicts.judge_range(0.22, 0.10, 0.15, (0.19, 0.237), "lower", 5)  # interval wholly below the range
    assert below.verdict == verdicts.BETTER
    above = verdicts.judge_range(0.10, 0.30, 0.40, (0.19, 0.237), "lower", 5)  # interval wholly above it
    assert above.verdict == verdicts.WORSE


def test_a_consistent_mean_outside_our_interval_says_why() -> None:
    """[13, 15, 18, 21, 23]: mean 18, s = sqrt(17), our t-interval 18 ± 2.776 * 4.123 / sqrt(5) =
    [12.88, 23.12] misses 12.7, yet t = 5.3 / (4.123 * sqrt(1/5 + 1/10)) = 2.35 on 4 degrees of
    freedom gives p = 0.079: consistent, and the reason says the interval shown leaves out the
    article's own sampling error."""
    ours = [13.0, 15.0, 18.0, 21.0, 23.0]
    result = verdicts.judge_mean(ours, 12.7, 10, "lower")
    assert result.verdict == "consistent" and not result.low <= 12.7 <= result.high
    t = 5.3 / (math.sqrt(17) * math.sqrt(1 / 5 + 1 / 10))
    assert result.p_value == pytest.approx(2 * scipy_stats.t.sf(t, 4))
    assert result.reason.endswith("; the article's value lies outside our 95% interval of the mean, which covers "
                                  "our runs' sampling error only: the test also counts the article's, and finds "
                                  "no significant difference")
    assert "outside our 95% interval" not in verdicts.judge_mean(ours, 14.0, 10, "lower").reason  # inside it
    assert "outside our 95% interval" not in verdicts.judge_mean(ours, 8.0, 10, "lower").reason  # judged worse
    gap = verdicts.judge_gap([13.0, 15.0, 18.0, 21.0, 23.0], [1.0, 2.0, 3.0, 4.0, 5.0], 9.0, 10, 10, "lower")
    assert gap.verdict == "consistent" and not gap.low <= 9.0 <= gap.high
    assert gap.reason.endswith("outside our 95% interval of the difference, which covers our runs' sampling error "
                               "only: the test also counts the article's, and finds no significant difference")


def test_the_verdicts_read_as_one_family() -> None:
    """Holm by hand: p 0.004, 0.03, 0.2, 0.5 of four tests become 0.016, 0.09, 0.4, 0.5, so only the
    first significant verdict remains so; NaN (a verdict without a test's p) is not one of the family."""
    text = multiple_testing.family_note([0.03, 0.004, math.nan, 0.2, 0.5], ["a", "b", "c", "d", "e"], interval_read=2)
    assert text == ("4 verdicts come from a test at level 0.05 each (the 2 read from an interval or a bound have no p "
                    "and are not counted): were the article right on all of them, chance alone would make about 0.2 "
                    "of them significant on average (4 × 0.05). 2 are significant: a (p=0.03); b (p=0.004). With "
                    "Holm's adjustment over the 4, 1 remains significant: b (Holm p=0.016); the rest could be chance: "
                    "a (Holm p=0.09).")
    # Holm, not Bonferroni: 0.01, 0.02, 0.03 become 0.03, 0.04, 0.04 (Bonferroni would keep only the first)
    assert multiple_testing.family_note([0.01, 0.02, 0.03], ["a", "b", "c"]).endswith(
        "With Holm's adjustment over the 3, all 3 remain significant.")
    assert list(stats.holm([0.01, 0.02, 0.03])) == pytest.approx([0.03, 0.04, 0.04])
    assert multiple_testing.family_note([0.0312, 0.5, 0.6], ["x", "y", "z"], interval_read=1).endswith(
        "1 is significant: x (p=0.0312). Read as one of 3 tests, it could be chance: x (Holm p=0.0936).")
    assert multiple_testing.family_note([0.03, 0.04, 0.5], ["a", "b", "c"]).endswith(
        "2 are significant: a (p=0.03); b (p=0.04). Read as one of 3 tests, each could be chance: a (Holm p=0.09); "
        "b (Holm p=0.09).")
    assert multiple_testing.family_note([0.01, 0.02, 0.9], ["a", "b", "c"]).endswith(
        "With Holm's adjustment over the 3, both remain significant.")
    assert "(the 1 read from an interval or a bound has no p and is not counted)" in \
        multiple_testing.family_note([0.5, 0.6], ["a", "b"], interval_read=1)
    assert multiple_testing.family_note([0.5, None], ["a", "b"]) == (
        "1 verdict comes from a test at level 0.05: were the article right on it, chance alone would make it "
        "significant 5% of the time. It is not significant.")
    assert multiple_testing.family_note([0.01], ["a"]).endswith("It is significant: a (p=0.01).")  # no Holm for one test
    assert multiple_testing.family_note([1e-9, 0.6], ["a", "b"]).endswith(
        "1 is significant: a (p<0.0001). With Holm's adjustment over the 2, it remains significant.")
    assert multiple_testing.family_note([math.nan, None], ["a", "b"]) == ""


def test_a_significant_rows_test_says_its_p_adjusted_over_the_family() -> None:
    """The row itself, not only the note below the table, says whether its significant verdict survives Holm's
    adjustment (the same figures as the note: 0.004, 0.03 of four tests become 0.016, 0.09); rows without a p or
    not significant add nothing, nor does a single test."""
    assert multiple_testing.row_notes([0.03, 0.004, math.nan, 0.2, 0.5]) == [
        "; adjusted over the 4 tests (Holm): p=0.09, could be chance",
        "; adjusted over the 4 tests (Holm): p=0.016, still significant", "", "", ""]
    assert multiple_testing.row_notes([0.01, None]) == ["", ""]
    from harness.reporting import html
    table = pd.DataFrame({"figure": ["f"] * 3, "quantity": ["a", "b", "c"], "verdict": ["worse", "consistent", "untested"],
                          "test": ["Welch t-test", "Welch t-test", ""], "p_value": [0.0312, 0.5, math.nan]})
    rows, _, _ = html._reproduction_rows(table)  # as the page's table shows them
    assert [row["test"] for row in rows] == [
        "Welch t-test; p=0.0312; adjusted over the 2 tests (Holm): p=0.0624, could be chance", "Welch t-test; p=0.5", ""]


def test_a_range_read_off_a_figure_is_judged_within_its_read_off_error() -> None:
    """Our interval 0.24-0.25 misses the printed 0.19-0.237 but not 0.172-0.259, the range within the
    bars' ±0.1 s: with the read-off error the printed bounds cannot tell them apart."""
    exact = verdicts.judge_range(0.245, 0.24, 0.25, (0.19, 0.237), "lower", 5)
    assert exact.verdict == verdicts.WORSE
    read = verdicts.judge_range(0.245, 0.24, 0.25, (0.19, 0.237), "lower", 5, read=(0.172, 0.259))
    assert read.verdict == verdicts.CONSISTENT
    assert read.reason == ("overlap of our 95% bootstrap interval with the article's range: the article gives only "
                           f"0.19–0.237 (0.172–0.259 {verdicts.READ_OFF}), no spread to test with; our interval "
                           "overlaps the widened range")
    beyond = verdicts.judge_range(0.3, 0.28, 0.31, (0.19, 0.237), "lower", 5, read=(0.172, 0.259))
    assert beyond.verdict == verdicts.WORSE and beyond.reason.endswith("our interval misses even the widened range")


def test_a_range_verdict_holds_only_if_no_factor_within_the_slack_changes_its_overlap() -> None:
    """The overlap of [low f, high f] with the range, for f from slack to 1/slack: the same answer
    throughout (always or never) or not; non-positive ratios or slack are never said to hold."""
    tested = (0.19, 0.237)
    assert verdicts.range_verdict_holds(0.008, 0.009, tested, 0.63)  # never overlaps
    assert verdicts.range_verdict_holds(0.2, 0.21, tested, 0.95)  # always overlaps: 0.2/0.95 < 0.237
    assert not verdicts.range_verdict_holds(0.2, 0.21, tested, 0.8)  # 0.21 * 0.8 < 0.19: it could miss
    assert not verdicts.range_verdict_holds(0.12, 0.15, tested, 0.75)  # 0.15 / 0.75 = 0.2: it could overlap
    assert verdicts.range_verdict_holds(0.12, 0.14, tested, 0.75)  # 0.14 / 0.75 = 0.187 < 0.19
    assert not verdicts.range_verdict_holds(0.0, 0.01, tested, 0.9)
    assert not verdicts.range_verdict_holds(0.01, 0.02, tested, 0.0)


def test_verdict_intervals_are_cut_to_the_range_of_their_values() -> None:
    """The interval a verdict shows stops where its values end; the test, and so the verdict and p,
    do not change. A signed error (closer_to_zero) has no end: its interval is not cut."""
    losses = [0.02, 0.09, 0.01]
    bare, cut = verdicts.judge_single(losses, 0.05, "lower"), verdicts.judge_single(losses, 0.05, "lower", (0.0, math.inf))
    assert bare.low < 0 and cut.low == 0.0 and cut.high == bare.high
    assert (cut.verdict, cut.p_value) == (bare.verdict, bare.p_value)
    counts = [5, 120, 8]
    bare, cut = verdicts.judge_mean(counts, 30, 10, "lower"), verdicts.judge_mean(counts, 30, 10, "lower", (0.0, math.inf))
    assert bare.low < 0 and cut.low == 0.0 and (cut.verdict, cut.p_value) == (bare.verdict, bare.p_value)
    errors = [2, -30, 3]  # signed: unbounded
    assert verdicts.judge_mean(errors, 10, 10, "closer_to_zero").low == pytest.approx(stats.t_interval(errors)[0])
    assert stats.t_interval(errors)[0] < 0


def test_a_bound_verdict_reads_its_interval_cut_to_the_range() -> None:
    """Accuracies 0.99, 0.5, 0.99: the t-interval's top passes 1; cut at 1 it is below a bound of
    1.2, as the true mean must be."""
    values = [0.99, 0.5, 0.99]
    assert verdicts.judge_bound(values, 1.2, "why").verdict == "not shown below"
    cut = verdicts.judge_bound(values, 1.2, "why", (0.0, 1.0))
    assert (cut.verdict, cut.high) == ("consistent", 1.0)


def test_a_range_verdict_never_holds_against_a_range_it_cannot_read() -> None:
    assert not verdicts.range_verdict_holds(0.008, 0.009, (math.nan, 0.237), 0.63)
    assert verdicts.range_verdict_holds(0.008, 0.009, (0.19, math.inf), 0.63)  # open above: still never met
    assert verdicts.range_verdict_holds(0.2, 0.21, (0.19, 0.237), 1.0)  # a steady machine: the verdict as is


def test_the_family_note_names_verdicts_left_untested_for_want_of_spread() -> None:
    """A row without spread ran no test: the note counts it beside those read from an interval, and the
    page's rows (html._reproduction_rows) pass it on, so it is neither in the family nor unmentioned."""
    import pandas as pd

    from harness.reporting import html

    assert "(the 1 read from an interval or a bound and the 2 whose runs have no spread have no p and are not " \
           "counted)" in multiple_testing.family_note([0.5, 0.6], ["a", "b"], interval_read=1, no_spread=2)
    assert "(the 1 whose runs have no spread has no p and is not counted)" in \
        multiple_testing.family_note([0.5, 0.6], ["a", "b"], no_spread=1)
    rows = pd.DataFrame({"figure": ["f"] * 3, "quantity": ["a", "b", "c"], "test": ["t", "t", "no test"],
                         "p_value": [0.5, 0.6, math.nan], "verdict": ["consistent", "consistent", "untested"]})
    assert "(the 1 whose runs have no spread has no p and is not counted)" in html._reproduction_rows(rows)[2]


def test_the_tables_family_note_counts_each_verdict_without_a_p() -> None:
    """html._reproduction_rows: a range overlap and a bound's "not shown below" (both from an
    interval, p NaN) are counted apart from the no-spread row; too few runs and not comparable are not
    counted at all."""
    import pandas as pd

    from harness.reporting import html

    verdict = ["consistent", "worse", "consistent", verdicts.NOT_SHOWN, verdicts.UNTESTED, "too few runs (n=2)",
               "not comparable"]
    p = [0.5, 0.01, math.nan, math.nan, math.nan, math.nan, math.nan]
    table = pd.DataFrame({"figure": list("abcdefg"), "quantity": ["q"] * 7, "verdict": verdict, "p_value": p,
                          "test": ["t"] * 7})
    _, counts, family = html._reproduction_rows(table)
    assert "(the 2 read from an interval or a bound and the 1 whose runs have no spread have no p and are not " \
           "counted)" in family
    assert counts.startswith("2 consistent")


def test_every_verdict_the_rules_give_is_styled_on_the_page() -> None:
    """Every label of reference.VERDICTS has its own .v-<label>{ rule in the page's style, and every
    label a verdict function can return is among reference.VERDICTS."""
    import pandas as pd

    from harness.reporting import html, reference

    given = {*verdicts.JUDGED, verdicts.TOO_FEW, verdicts.UNTESTED, verdicts.NOT_SHOWN}
    assert given <= set(reference.VERDICTS)
    page = html.page([], pd.DataFrame(columns=["verdict"]), title="t", generated="now", roots=[])
    style = page[page.index("<style>"):page.index("</style>")]
    for label in reference.VERDICTS:
        assert f".v-{label.replace(' ', '-')}{{" in style, label


def test_the_tally_says_which_differences_survive_holm() -> None:
    """The count of verdicts above the table is what a reader takes away: a 'worse' or 'better' from a
    test's p says there whether it stays significant once the family is adjusted (Holm), as the note
    under the table does; one read from an interval has no p and is not counted in it."""
    import pandas as pd

    from harness.reporting import html

    def tally(verdict: list[str], p: list[float]) -> str:
        table = pd.DataFrame({"figure": list("abcdef")[:len(p)], "quantity": ["q"] * len(p), "verdict": verdict,
                              "p_value": p, "test": ["t"] * len(p)})
        return html._reproduction_rows(table)[1]

    chance = tally(["consistent", "consistent", "worse", "better"], [0.5, 0.6, 0.03, math.nan])
    assert chance == ("2 consistent, 1 worse, 1 better (of the 1 difference from a test, none remains significant "
                      "once adjusted for the 3 tests: see the note below the table)")
    held = tally(["consistent", "worse", "differs"], [0.5, 0.001, 0.04])
    assert held.endswith("(of the 2 differences from a test, 1 remains significant once adjusted for the 3 tests: "
                         "see the note below the table)")
    assert tally(["consistent", "better"], [0.5, math.nan]) == "1 consistent, 1 better"  # no p: nothing to adjust
    assert tally(["worse", "better"], [0.01, math.nan]) == "1 worse, 1 better"  # one test: no family to adjust for
