"""The verdict rules: a published number against our runs, by a test that states its assumption.

Three rules, one per kind of published number:

* a mean over the article's N runs (``judge_mean``): a two-sample t-test of our runs against it.
  The article gives no spread, so its standard deviation is assumed equal to ours:
  ``t = (mean - theirs) / (s · sqrt(1/n + 1/N))`` with our n - 1 degrees of freedom, since s is
  our estimate alone (the article's run count adds no variance estimate).
* a single published value, one run (``judge_single``): our runs' t-based prediction interval for
  one more run, ``mean ± t(n-1) · s · sqrt(1 + 1/n)``; p is the two-sided tail of that t.
* a published difference of two means (``judge_gap``: the article's MLP minus its Keras, in one
  experiment): our difference against it, each of the four groups' spread taken as ours; the
  degrees of freedom by Satterthwaite over our two variance estimates only,
  ``ta = va (1/na + 1/Na)``, ``tb = vb (1/nb + 1/Nb)``,
  ``df = (ta + tb)² / (ta²/(na - 1) + tb²/(nb - 1))`` (``stats.satterthwaite_df``, from √ta and √tb
  scaled by the larger: the same for runs multiplied by any constant).

A bound (``judge_bound``) is read from our t-interval three ways: below it, consistent; above it,
differs; holding it, NOT_SHOWN, no verdict.

A verdict needs MIN_RUNS runs of ours per group (``stats.MIN_RUNS``); fewer gives "too few runs
(n=2)". Runs that all gave one value (``stats.has_spread``; for a gap, both sides) get no test:
UNTESTED, no p, as the ablation treats an effect without spread (a gap of two constant sides equals
the article's within float rounding of its subtraction: ``untested``). "consistent"
means the test found no difference at ALPHA, not that the numbers are equal. Where a number has
a better direction, a significant difference is "better" or "worse"; for "closer to zero" numbers
(the Titanic error) the test compares signed means, as the article published a signed mean, and
the mean nearer zero is the better, where our mean also differs from the article's mirror image
(as far from zero on the other side): else "differs". A gap of such signed means has no better
side (the reference says `better: none`): a lower gap is not a more accurate MLP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats as scipy_stats

from harness.reporting.number_text import fmt
from harness.reporting.stats import (ALPHA, CONFIDENCE, MIN_RUNS, NO_SPREAD, RATIO_MIN_RUNS, UNBOUNDED, cut_to,
                                     finite, has_spread, mean, p_is, satterthwaite_df, spread, t_interval,
                                     two_sided_p, welch_interval)

CONSISTENT, BETTER, WORSE, DIFFERS = "consistent", "better", "worse", "differs"
JUDGED = (CONSISTENT, BETTER, WORSE, DIFFERS)  # the verdicts a test or an interval gave
DIFFERENCES = (BETTER, WORSE, DIFFERS)  # the judged verdicts that say our number is not the article's
UNTESTED = "untested"  # enough runs, but no spread: no test ran (``untested``)
NOT_SHOWN = "not shown below"  # a bound inside our interval: neither consistent nor significant (``judge_bound``)
READ_OFF = "allowing for the read-off error of the numbers it comes from"
TOO_FEW = "too few runs"
DIRECTIONS = ("lower", "higher", "closer_to_zero", "none")


@dataclass(frozen=True)
class Verdict:
    """A verdict with the numbers that made it (p is NaN when no test ran)."""

    verdict: str
    p_value: float
    ours: float          # our statistic (mean, or difference of means)
    low: float           # our interval (confidence or prediction, `interval` says which)
    high: float
    n: int
    reason: str


def too_few(n: int) -> str:
    """The verdict text for a group of `n` runs, fewer than MIN_RUNS."""
    return f"{TOO_FEW} (n={n})"


def prediction_interval(values: Any, confidence: float = CONFIDENCE,
                        within: tuple[float, float] = UNBOUNDED) -> tuple[float, float]:
    """Where one more run of ours is expected: mean ± t(n-1) s sqrt(1 + 1/n) (NaN below two values),
    cut to the range ``within`` that a run's value can take (``stats.RANGES``); s and the mean as
    ``stats.spread`` and ``stats.mean`` give them (no rounding residue for identical runs)."""
    data = finite(values)
    if data.size < 2:
        return (math.nan, math.nan)
    half = scipy_stats.t.ppf((1 + confidence) / 2, data.size - 1) * spread(data) * math.sqrt(1 + 1 / data.size)
    return cut_to(mean(data) - half, mean(data) + half, within)


def untested(ours: float, n: int, published: float | None = None, *,
             sides: tuple[float, float] | None = None) -> Verdict:
    """The verdict for runs without spread (``stats.has_spread``), as the ablation treats an effect
    without spread: t is 0/0, so no test runs, no p and no interval are given, and the reason says
    what every run gave (for a gap, the two `sides`' values and `ours`, their difference). Equality
    with the article's number is told on the values themselves, not through a mean that may carry a
    rounding residue; a gap's difference, one float subtraction (0.3 - 0.1 is 0.19999999999999998),
    equals it within ``math.isclose`` (rel_tol 1e-12, abs_tol 1e-15). Values that differ are printed
    with the digits that tell them apart (``_apart``)."""
    if published is None:
        same = False
    elif sides is None:
        same = ours == published
    else:
        same = math.isclose(ours, published, rel_tol=1e-12, abs_tol=1e-15)
    if published is None or same:
        gave, article = fmt(ours, 4), "" if published is None else ", the article's value"
    else:
        gave, theirs = _apart(ours, published)
        article = f" (the article: {theirs})"
    if sides is not None:
        gave = f"{fmt(sides[0], 4)} on one side and {fmt(sides[1], 4)} on the other, a difference of {gave}"
    return Verdict(UNTESTED, math.nan, ours, math.nan, math.nan, n,
                   f"no test: every run gave {gave}{article}, so there is {NO_SPREAD}")


def _apart(ours: float, theirs: float) -> tuple[str, str]:
    """Two different values as text, with 4 significant digits or as many more as tell them apart
    (0.0378100001 and 0.03781, not 0.03781 twice)."""
    for digits in range(4, 17):
        if (texts := (fmt(ours, digits), fmt(theirs, digits)))[0] != texts[1]:
            return texts
    return fmt(ours, 17), fmt(theirs, 17)  # 17 significant digits tell any two doubles apart


def _direction(better: str, ours: float, theirs: float, significant: bool) -> str:
    """consistent / differs / better / worse, for `ours` against `theirs`; for closer_to_zero the
    one nearer zero is the better (the signed means were tested, their distance from 0 is compared)."""
    if better not in DIRECTIONS:
        raise ValueError(f"unknown direction {better!r}: use one of {', '.join(DIRECTIONS)}")
    if not significant:
        return CONSISTENT
    if better == "none":
        return DIFFERS
    if better == "closer_to_zero":
        ours, theirs = abs(ours), abs(theirs)
        if ours == theirs:  # as far from zero on the other side: neither is nearer
            return DIFFERS
    lower_is_better = better in ("lower", "closer_to_zero")
    return BETTER if (ours < theirs) == lower_is_better else WORSE


def judge_mean(values: Any, published: float, n_published: int, better: str,
               within: tuple[float, float] = UNBOUNDED) -> Verdict:
    """Our runs against a mean the article published over `n_published` runs: t = (mean - theirs) /
    (s * sqrt(1/n + 1/N)) with the article's unknown standard deviation taken as ours, so s is our
    estimate alone and the test has our n - 1 degrees of freedom. The interval shown is cut to
    ``within``, the range the values can take."""
    data = finite(values)
    low, high = t_interval(data, within=within)
    if data.size < MIN_RUNS:
        return Verdict(too_few(data.size), math.nan, mean(data), low, high, data.size, f"a verdict needs {MIN_RUNS} runs")
    if not has_spread(data):  # every run the same (a deterministic fit)
        return untested(mean(data), int(data.size), published)
    s = spread(data)

    def p_against(value: float) -> float:
        # The article's spread is ours, so the only variance estimate is ours: n - 1 degrees of freedom.
        t = (mean(data) - value) / (s * math.sqrt(1 / data.size + 1 / n_published))
        return two_sided_p(t, data.size - 1)

    p = p_against(published)
    verdict = _direction(better, mean(data), published, p < ALPHA)
    what = "signed mean" if better == "closer_to_zero" else "mean"
    reason = (f"t-test of our {what} (n={data.size}) against the article's (n={n_published}, its sd "
              f"assumed equal to ours, {fmt(s)}; {data.size - 1} degrees of freedom): {p_is(p)}")
    if better == "closer_to_zero" and verdict in (BETTER, WORSE) and (mirror := p_against(-published)) >= ALPHA:
        verdict = DIFFERS  # ours may be the article's mirror image: neither told nearer zero
        reason += (f"; against its mirror image {fmt(-published, 4)}, as far from zero, {p_is(mirror)}: "
                   "neither is told nearer zero")
    return Verdict(verdict, p, mean(data), low, high, int(data.size),
                   reason + _outside_note(verdict, published, low, high, "mean"))


def judge_single(values: Any, published: float, better: str, within: tuple[float, float] = UNBOUNDED) -> Verdict:
    """Our runs against one published run: is it inside our 95% prediction interval (cut to ``within``)?"""
    data = finite(values)
    low, high = prediction_interval(data, within=within)
    if data.size < MIN_RUNS:
        return Verdict(too_few(data.size), math.nan, mean(data), low, high, data.size, f"a verdict needs {MIN_RUNS} runs")
    if not has_spread(data):
        return untested(mean(data), int(data.size), published)
    s, n = spread(data), int(data.size)
    t = (published - mean(data)) / (s * math.sqrt(1 + 1 / n))
    p = two_sided_p(t, n - 1)
    verdict = _direction(better, mean(data), published, p < ALPHA)
    inside = "inside" if verdict == CONSISTENT else "outside"
    reason = (f"the article's single run is {inside} our 95% prediction interval "
              f"[{fmt(low, 4)}, {fmt(high, 4)}] for one run (n={n}): {p_is(p)}")
    return Verdict(verdict, p, mean(data), low, high, n, reason)


def judge_gap(ours_a: Any, ours_b: Any, published: float, n_a: int, n_b: int, better: str) -> Verdict:
    """Our mean(a) - mean(b) against the article's published difference (its groups of n_a, n_b
    runs assumed to spread like ours, so the two variance estimates are ours and Satterthwaite's
    degrees of freedom come from our run counts); the interval is ours, Welch's, for the difference."""
    a, b = finite(ours_a), finite(ours_b)
    n = min(a.size, b.size)
    gap = mean(a) - mean(b)
    if n < MIN_RUNS:
        return Verdict(too_few(n), math.nan, gap, math.nan, math.nan, n, f"a verdict needs {MIN_RUNS} runs per side")
    if not (has_spread(a) or has_spread(b)):
        return untested(gap, n, published, sides=(mean(a), mean(b)))
    low, high = welch_interval(a, b)
    # The article's groups spread like ours: two variance estimates (ours), each serving two means.
    # Standard errors, not variances: a variance of tiny runs underflows (stats.satterthwaite_df).
    ea, eb = spread(a) * math.sqrt(1 / a.size + 1 / n_a), spread(b) * math.sqrt(1 / b.size + 1 / n_b)
    p = two_sided_p((gap - published) / math.hypot(ea, eb), satterthwaite_df(ea, eb, a.size, b.size))
    verdict = _direction(better, gap, published, p < ALPHA)
    reason = (f"our difference (n={a.size} and {b.size}) against the article's (n={n_a} and {n_b}, spreads "
              f"assumed equal to ours), t with Satterthwaite's degrees of freedom over our two variances: {p_is(p)}")
    return Verdict(verdict, p, gap, low, high, n, reason + _outside_note(verdict, published, low, high, "difference"))


def _outside_note(verdict: str, theirs: float, low: float, high: float, what: str) -> str:
    """Why a "consistent" verdict can sit beside our interval that misses the article's value: the
    interval shown is of our own runs, while the test also counts the article's runs' sampling error."""
    if verdict != CONSISTENT or not (math.isfinite(low) and math.isfinite(high)) or low <= theirs <= high:
        return ""
    return (f"; the article's value lies outside our 95% interval of the {what}, which covers our runs' "
            "sampling error only: the test also counts the article's, and finds no significant difference")


def judge_range(ours: float, low: float, high: float, published: tuple[float, float], better: str,
                n: int, *, read: tuple[float, float] | None = None) -> Verdict:
    """Our ratio of medians with its bootstrap interval [low, high] against a published range:
    consistent when they overlap. Used where the article gives only a range (a time ratio from its
    lowest and highest times), which carries no spread for a test; the reason says so. `read` is the
    range widened by the error of reading it off a figure: the overlap is tested against it, since
    the printed bounds are known only that closely. Like every verdict read from that interval, it
    needs RATIO_MIN_RUNS runs a side."""
    if n < RATIO_MIN_RUNS or not (math.isfinite(low) and math.isfinite(high)):
        return Verdict(too_few(n), math.nan, ours, low, high, n, f"a verdict needs {RATIO_MIN_RUNS} runs per side")
    tested = tested_range(published, read)
    overlap = overlaps(low, high, tested)
    # without overlap, the side of the range our interval lies on decides (a bootstrap interval
    # need not hold the point value itself)
    nearest_ours, theirs = (high, tested[0]) if high < tested[0] else (low, tested[1])
    verdict = _direction(better, nearest_ours, theirs, not overlap)
    widened = f" ({fmt(read[0])}–{fmt(read[1])} {READ_OFF})" if read else ""
    against = "even the widened range" if read and not overlap else "the widened range" if read else "it"
    reason = (f"overlap of our 95% bootstrap interval with the article's range: the article gives only "
              f"{fmt(published[0])}–{fmt(published[1])}{widened}, no spread to test with; our interval "
              f"{'overlaps' if overlap else 'misses'} {against}")
    return Verdict(verdict, math.nan, ours, low, high, n, reason)


def tested_range(published: tuple[float, float], read: tuple[float, float] | None) -> tuple[float, float]:
    """The range ``judge_range`` tests: the published one, widened by its read-off error where given."""
    return read or published


def overlaps(low: float, high: float, tested: tuple[float, float]) -> bool:
    """Whether [low, high] and the range ``tested`` share a point."""
    return low <= tested[1] and tested[0] <= high


def range_verdict_holds(low: float, high: float, tested: tuple[float, float], slack: float) -> bool:
    """Whether ``judge_range``'s overlap answer is the same for every interval [low f, high f] with f
    from ``slack`` to 1 / ``slack`` (0 < slack <= 1): how far a time ratio could move if one side
    was timed on a machine up to that much slower than the other (``slack``: the slower CPU rate
    measurement over the faster). Together those intervals cover [low slack, high / slack], and the
    factors for which one overlaps form an interval, so the answer is the same for all of them when
    none meets the range or both extremes do. False where it cannot be read: a ratio not positive,
    a slack outside (0, 1], a NaN end of the range (an infinite end is a range open on that side)."""
    if not (0 < low <= high and 0 < slack <= 1) or any(math.isnan(v) for v in tested):  # NaN: nothing to read
        return False
    never = not overlaps(low * slack, high / slack, tested)
    always = overlaps(low * slack, high * slack, tested) and overlaps(low / slack, high / slack, tested)
    return never or always


def judge_bound(values: Any, bound: float, why: str, within: tuple[float, float] = UNBOUNDED) -> Verdict:
    """A claim that a value stays below `bound` (a fixed band, so `why` must say where it comes
    from), read from our 95% t-interval (cut to ``within``): consistent when its upper end is below
    the bound (the mean shown below it), differs when its lower end is above (shown above it), and
    NOT_SHOWN, no verdict, when it holds the bound: an interval that merely reaches the bound shows
    nothing significant, whatever side the mean lies on."""
    data = finite(values)
    low, high = t_interval(data, within=within)
    if data.size < MIN_RUNS:
        return Verdict(too_few(data.size), math.nan, mean(data), low, high, data.size, f"a verdict needs {MIN_RUNS} runs")
    if not has_spread(data):  # no spread, no t (0/0): no interval of the mean to read the bound from
        return untested(mean(data), int(data.size))
    if high < bound:
        verdict, found = CONSISTENT, f"our interval's upper end is {fmt(high, 4)}"
    elif low > bound:
        verdict, found = DIFFERS, f"our interval's lower end is {fmt(low, 4)}, above it"
    else:
        verdict, found = NOT_SHOWN, (f"our 95% interval [{fmt(low, 4)}, {fmt(high, 4)}] holds it, so the runs show "
                                     "the mean neither below nor above it")
    return Verdict(verdict, math.nan, mean(data), low, high, int(data.size), f"fixed bound {bound:g}: {why}; {found}")
