"""The ablation's finding in words, generated from the numbers it states (harness.reporting.ablation):
the gap between the article's algorithm and Keras's, which components switched alone to Keras's
significantly lower the measure and what share of the gap each closes (``closes``), then which,
switched alone the other way, significantly raise it (``raises``).
"""

from __future__ import annotations

import math
from typing import Any

from harness.algorithm import COMPONENTS
from harness.reporting.ablation import (FROM_ARTICLE, FROM_KERAS, NOT_SIGNIFICANT, REVERSED, UNTESTED, Effect, Gap,
                                        gap_state, share)
from harness.reporting.claim_measures import Measure
from harness.reporting.number_text import fmt
from harness.reporting.stats import ALPHA, MIN_RUNS, p_is
from harness.reporting.verdicts import too_few


def sentence(experiment: str, found: list[Effect], the_gap: Gap) -> str:
    """The finding, from the numbers: which components, switched alone from the article's algorithm
    to Keras's, significantly lower its measure (p adjusted by Holm's method over the components;
    ``closes``), and what share of the gap to Keras's algorithm each closes; then which, switched
    alone the other way, significantly raise it (``_reverse``)."""
    state, measure = gap_state(the_gap), the_gap.measure
    if not math.isfinite(the_gap.size):
        return (f"{experiment}: no gap to explain yet: it needs runs of the article's algorithm and of Keras's "
                "algorithm on the same seeds, or TensorFlow's own runs.")
    direction = "higher" if the_gap.size >= 0 else "lower"
    tiny = abs(the_gap.size) < 0.005  # "0 test rows higher" would read as a finding
    compared = (f"{experiment}: the article's algorithm's mean {measure.name} and that with {the_gap.against} differ "
                f"by less than 0.01 {measure.unit}" if tiny else
                f"{experiment}: the article's algorithm's mean {measure.name} is {_amount(abs(the_gap.size), measure)} "
                f"{direction} than with {the_gap.against}")
    if state == UNTESTED:
        if min(the_gap.n) >= MIN_RUNS:  # paired: independent runs always get a p (stats.compare_means)
            return (f"{compared}, but the per-seed differences between the two cells "
                    "have no spread, so no t-test applies.")
        few = (f"the two cells share only {the_gap.n[0]} seed{'' if the_gap.n[0] == 1 else 's'}" if the_gap.paired
               else too_few(min(the_gap.n)))
        return (f"{compared}, but {few}, and a test needs {MIN_RUNS}; run the ablation with runs={MIN_RUNS} or more "
                "(seeds per cell) for a finding.")
    bounded = math.isfinite(the_gap.low) and math.isfinite(the_gap.high)  # not so for runs without spread
    # the interval of the amount stated: of "higher by" as it is, of "lower by" negated
    # (a tiny gap is said without a direction, so its interval is of article - Keras, as is the gap's)
    low, high = (the_gap.low, the_gap.high) if direction == "higher" or tiny else (-the_gap.high, -the_gap.low)
    measured = (f"{f'95% CI {fmt(low)} to {fmt(high)}' if bounded else the_gap.test}, "
                f"{p_is(the_gap.p_value)}, {runs(the_gap.n, the_gap.paired)}")
    if state == REVERSED:
        return f"{compared}, significantly ({measured}), so there is no gap for a component to explain."
    if state == NOT_SIGNIFICANT and not bounded:
        return (f"{compared}{'' if tiny else ', not significantly'} ({measured}): these runs show no significant "
                "gap, so no component can be said to explain one; more runs per cell may show one.")
    if state == NOT_SIGNIFICANT:
        return (f"{compared}{'' if tiny else ', not significantly'} ({measured}): these runs show no significant "
                f"gap, but one of up to {_amount(the_gap.high, measure)}{'' if direction == 'higher' or tiny else ' higher'} "
                "lies within the interval, so no component "
                "can be said to explain one; more runs per cell narrow it.")
    stated = f"{compared} ({measured})"
    reverse = _reverse(found, measure)
    tested = _tested(found, FROM_ARTICLE)
    if not tested:
        return (f"{stated}; no component's switch alone from the article's algorithm could be tested (each needs "
                f"{MIN_RUNS} seeds shared with the article's cell, and spread).{reverse}")
    over, lost = _holm_over(tested), _lost(tested, FROM_ARTICLE)
    closing = sorted((e for e in tested if closes(e)), key=lambda e: e.effect)
    if not closing:
        return (f"{stated}, and no single component switched alone to Keras's significantly lowers it"
                f"{_after(over, lost)}.{reverse}")
    named = _named(closing, tested, measure, "lower", lambda e: f": {share_text(e, the_gap)} of the gap")
    shares = "; shares of single switches need not add up" if len(closing) > 1 else ""
    return (f"{stated}; switched alone to Keras's, {_which(len(closing), 'lower', 'it')} ({over}{shares}): "
            f"{named}{_also(lost)}.{reverse}")


def runs(n: tuple[int, int], paired: bool = True) -> str:
    """The sample sizes behind a stated difference: 'n=3 seeds' (compared seed by seed) or 'n=3 vs 1
    runs' (independent runs)."""
    return f"n={n[0]} seed{'' if n[0] == 1 else 's'}" if paired else f"n={n[0]} vs {n[1]} runs"


def _amount(value: float, measure: Measure) -> str:
    """'24 images', '1 passenger'."""
    text = fmt(float(value))
    return f"{text} {measure.unit[:-1] if text == '1' and measure.unit.endswith('s') else measure.unit}"


def _components(count: int) -> str:
    return f"{count} component{'' if count == 1 else 's'}"


def _tested(found: list[Effect], design: str) -> list[Effect]:
    """The effects of ``design`` that have a p (the untested ones: ``untested_note``)."""
    return [e for e in found if e.design == design and math.isfinite(e.p_value)]


def _named(named: list[Effect], tested: list[Effect], measure: Measure, direction: str,
           tail: Any = lambda e: "") -> str:
    """The effects a sentence names: 'backprop (111 images lower, 95% CI 66.5 to 155, p=0.00225,
    Holm p=0.00902, n=5 seeds' + ``tail`` + ')', Holm's p where the design's p were adjusted."""
    holm = _adjusted(tested)
    return "; ".join(f"{e.component} ({_amount(-e.effect, measure)} {direction}, 95% CI {fmt(-e.high)} to "
                     f"{fmt(-e.low)}, {p_is(e.p_value)}{', Holm ' + p_is(e.p_holm) if holm else ''}, {runs(e.n)}"
                     f"{tail(e)})" for e in named)


def _which(count: int, verb: str, what: str) -> str:
    """'one component significantly lowers it', '2 components each significantly raise the mean ...'."""
    if count == 1:
        return f"one component significantly {verb}s {what}"
    return f"{count} components each significantly {verb} {what}"


def _after(over: str, lost: str) -> str:
    """How a design's p were adjusted, after a sentence that names no component: with the effects
    lost to the adjustment (``_lost``) where there are some."""
    return f" once p is adjusted ({over}; {lost})" if lost else f" ({over})"


def _also(lost: str) -> str:
    """After the named components: the effects lost to the adjustment, where there are some."""
    return f"; below {ALPHA} alone but not once adjusted: {lost}" if lost else ""


def _adjusted(tested: list[Effect]) -> bool:
    """Whether a design's p are Holm-adjusted: with one component tested there is nothing to adjust over."""
    return len(tested) > 1


def _holm_over(tested: list[Effect]) -> str:
    """How a design's p were adjusted: 'p adjusted by Holm's method over the 4 components tested,
    1 untested', or 'the only component tested, 4 untested'."""
    untested = len(COMPONENTS) - len(tested)
    how = (f"p adjusted by Holm's method over the {_components(len(tested))} tested" if _adjusted(tested)
           else "the only component tested")
    return how + (f", {untested} untested" if untested else "")


def _lost(tested: list[Effect], design: str) -> str:
    """The effects in the finding's direction for ``design`` (``closes`` / ``raises``) whose p was
    under ALPHA alone but not once adjusted: 'backprop (p=0.0296 alone, Holm p=0.119)'."""
    return "; ".join(f"{e.component} ({p_is(e.p_value)} alone, Holm {p_is(e.p_holm)})" for e in tested
                     if e.design == design and _lowered_by_keras(e) and e.p_value < ALPHA <= e.p_holm)


def _reverse(found: list[Effect], measure: Measure) -> str:
    """The other design's answer, in a sentence of its own: which components, switched alone from
    Keras's algorithm to the article's, significantly raise the measure (``raises``; p adjusted by
    Holm's method over that design); '' where that design has no tested effect."""
    tested = _tested(found, FROM_KERAS)
    if not tested:
        return ""
    over, lost = _holm_over(tested), _lost(tested, FROM_KERAS)
    raising = sorted((e for e in tested if raises(e)), key=lambda e: e.effect)
    what, opening = f"the mean {measure.name}", " Switched alone the other way, from Keras's algorithm to the article's,"
    if not raising:
        return f"{opening} no single component significantly raises {what}{_after(over, lost)}."
    return (f"{opening} {_which(len(raising), 'raise', what)} ({over}): "
            f"{_named(raising, tested, measure, 'higher')}{_also(lost)}.")


def share_text(effect: Effect, the_gap: Gap) -> str:
    """'124% (95% CI 89% to 233%)'; where there is no interval, why: the gap against TensorFlow's
    own runs, no or too few seeds in common, or an unbounded interval (the gap not told from 0 on
    those seeds); the seeds when fewer than the effect's or the gap's (then the printed effect over
    the printed gap is not the share)."""
    ratio, low, high, n = share(effect, the_gap)
    if not the_gap.paired:
        why = "no interval: the gap is against TensorFlow's own runs, not paired with the effect"
    elif n == 0:
        return "— (the effect and the gap share no seed)"
    elif n < MIN_RUNS:
        why = "too few seeds for an interval"
    elif math.isfinite(low) and math.isfinite(high):
        why = f"95% CI {low + 0.0:.0%} to {high + 0.0:.0%}"
    else:
        why = "95% CI unbounded"
    fewer = f", over the {n} seeds the effect and the gap share" if 0 < n < max(effect.n[0], the_gap.n[0]) else ""
    return f"{ratio + 0.0:.0%} ({why}{fewer})"


def closes(effect: Effect) -> bool:
    """Whether the finding names ``effect`` as closing the gap: switched alone from the article's
    algorithm to Keras's, it lowers the measure with a Holm-adjusted p under ALPHA."""
    return _significant_in(effect, FROM_ARTICLE)


def raises(effect: Effect) -> bool:
    """Whether the finding's second sentence names ``effect``: switched alone from Keras's algorithm
    to the article's, it raises the measure with a Holm-adjusted p under ALPHA."""
    return _significant_in(effect, FROM_KERAS)


def _significant_in(effect: Effect, design: str) -> bool:
    """``effect`` belongs to ``design``, Keras's value gives the lower measure, and its Holm-adjusted p is under ALPHA."""
    return effect.design == design and _lowered_by_keras(effect) and effect.p_holm < ALPHA


def _lowered_by_keras(effect: Effect) -> bool:
    """Keras's value of the component gives the lower measure (effects are Keras's minus the article's)."""
    return effect.effect < 0
