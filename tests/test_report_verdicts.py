"""Each verdict rule on hand-made values, with p-values computed here from the t distribution
(not through the function under test's SciPy call) and exact expected verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from harness.reporting import verdicts


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


def test_closer_to_zero_is_judged_on_absolute_error() -> None:
    """Over- and under-predictions must not cancel: signed mean 0, mean |error| 11."""
    ours = [-10.0, 10.0, -12.0, 12.0]
    result = verdicts.judge_mean(ours, 11.0, 20, "closer_to_zero")
    assert (result.verdict, result.ours, result.p_value) == ("consistent", 11.0, pytest.approx(1.0))
    # negative control: judged on the signed values, the same runs would average 0 ("perfect")
    assert verdicts.judge_mean(ours, 11.0, 20, "lower").ours == 0.0
    worse = verdicts.judge_mean(ours, 5.0, 20, "closer_to_zero")
    assert worse.verdict == "worse"
    assert worse.p_value == pytest.approx(_exact_p(11.0, math.sqrt(4 / 3), 4, 5.0, 20))


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
    low, high = verdicts.t_interval(ours)
    expected = scipy_stats.t.interval(0.95, 2, loc=11.0, scale=1.0 / math.sqrt(3))
    assert (low, high) == (pytest.approx(expected[0]), pytest.approx(expected[1]))
    assert verdicts.judge_bound(ours, high + 0.01, "why").verdict == "consistent"
    assert verdicts.judge_bound(ours, high - 0.01, "why").verdict == "differs"
    assert all(math.isnan(v) for v in verdicts.t_interval([1.0]))


def test_unknown_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown direction 'up'"):
        verdicts.judge_mean(np.arange(5.0), 1.0, 5, "up")


def test_t_interval_holds_its_coverage_at_three_runs() -> None:
    """The reason the verdicts use t-intervals (docs/verdicts.md): 95% on normal data even at n=3.
    2000 samples: the binomial sd of the coverage is 0.005, so [0.93, 0.97] fails only on a real fault."""
    rng = np.random.default_rng(7)
    hits = sum(low <= 0.0 <= high for low, high in (verdicts.t_interval(rng.normal(0, 1, 3)) for _ in range(2000)))
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
    assert "percentile bootstrap interval of the ratio of medians overlaps it" in text
    assert "the time ratio's is the percentile bootstrap of the ratio of medians" in text
