"""The article's algorithm against Keras's, component by component: each component's effect on accuracy.

The ablation experiments (ablation_titanic, ablation_mnist) run the MLP in cells that take each
component of `harness.algorithm.COMPONENTS` from the article or from Keras, plus Keras itself. A
cell is known by its runs' component values, never by a folder name. Accuracy is measured in the
quantity of the article's gap claim that the experiment explains (`EXPLAINS`, `measure_of`): mean
misclassified on MNIST, mean |"error"| on Titanic (the size of each run's signed "error", so that
lower is more accurate: `measure_of`). For each component:

* switched alone from the article's algorithm to Keras's: that cell's mean minus the article's cell's;
* switched alone from Keras's algorithm to the article's: that cell minus Keras's-algorithm cell;
* in a full factorial (every combination ran), its main effect: per seed every cell ran, the mean
  of the cells with the Keras value minus the mean of those with the article's (every cell weighing
  the same), averaged over those seeds.

Every cell runs the same seeds, so a seed's runs in two cells are a pair (a paired test holds
whatever their correlation): each effect is a mean of per-seed differences with its 95% t-interval
and p, and p adjusted by Holm's method over its design's components.
The sentence naming the components that account for the gap (the article's algorithm minus
Keras's: `gap`) is built from these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from harness.algorithm import COMPONENTS
from harness.reporting import settings
from harness.reporting.claim_measures import GAPS, SIGNED, Measure, gap_measure
from harness.reporting.number_text import fmt
from harness.reporting.prepared_runs import repeated_runs
from harness.reporting.stats import (ALPHA, CONFIDENCE, NO_SPREAD, compare_means, finite, has_spread, holm, p_is,
                                     ratio_interval_paired, welch_interval)
from harness.reporting.verdicts import MIN_RUNS, too_few

# Each ablation experiment and the id of the article's gap claim (results/reference/article.yaml) it explains.
EXPLAINS = {"ablation_titanic": "titanic_vs_tf_error_gap", "ablation_mnist": "mnist_vs_tf_misclassified_gap"}
EXPERIMENTS = tuple(EXPLAINS)
FROM_ARTICLE, FROM_KERAS, MAIN = "alone from the article's", "alone from Keras's", "main effect (factorial)"


MISCLASSIFIED = Measure("test_misclassified", False, "test rows")  # when the reference lacks the claim


def measure_of(experiment: str, numbers: dict[str, Any]) -> tuple[Measure | None, str]:
    """The per-run accuracy in the quantity of the article's gap claim that `experiment` explains
    (claim_measures.gap_measure), or None with why not. The ablation ranks accuracy (a component that
    lowers the measure makes the MLP more accurate), so a signed distance from the truth
    (claim_measures.SIGNED: Titanic's "error") counts by its size, |"error"|: a signed mean near zero
    may hide runs far off on both sides."""
    claim_id = EXPLAINS.get(experiment)
    if not numbers.get("numbers"):
        return None, "the reference numbers could not be loaded (the reproduction table says why)"
    claim = next((n for n in numbers["numbers"] if n.get("id") == claim_id), None)
    if claim is None:
        return None, f"the reference numbers hold no claim {claim_id}"
    if claim.get("measure") not in GAPS:
        return None, f"the claim {claim_id}'s measure ({claim.get('measure')}) is not a gap of one per-run value"
    measure = gap_measure(claim)
    return replace(measure, absolute=measure.column in SIGNED), ""


@dataclass(frozen=True)
class Effect:
    """The change in the mean measure when `component` takes Keras's value instead of the article's;
    `p_holm` is p adjusted over the components of the same design."""

    component: str
    label: str
    design: str      # FROM_ARTICLE, FROM_KERAS or MAIN
    effect: float
    low: float
    high: float
    p_value: float
    n: tuple[int, int]
    p_holm: float = math.nan
    per_seed: tuple[tuple[Any, float], ...] = ()  # (seed, difference) pairs of a paired effect


def cell_of(run: Any) -> tuple[str, ...] | None:
    """('article'|'keras', ...) in COMPONENTS order for one MLP run; None when a value is neither."""
    values = settings.run_settings(run)
    sides = []
    for c in COMPONENTS:
        value = str(values.get(c.key))
        sides.append("article" if value == str(c.article) else "keras" if value == str(c.keras) else None)
    return None if None in sides else tuple(sides)


def cells(runs: pd.DataFrame, measure: Measure = MISCLASSIFIED) -> dict[tuple[str, ...], pd.Series]:
    """`measure` of the experiment's ok MLP runs per cell, indexed by seed; each seed once per cell
    (the latest run), as the summary and reproduction tables count them, so a sweep run twice
    counts once."""
    mlp = runs[(runs["impl"] == "mlp") & runs["ok"]]
    keys = pd.Series([cell_of(run) for _, run in mlp.iterrows()], index=mlp.index, dtype=object)
    if len(mlp):
        once = ~repeated_runs(mlp.assign(_cell=keys.map(str)), ["impl", "backend", "_cell"])
        mlp, keys = mlp[once], keys[once]
    out: dict[tuple[str, ...], pd.Series] = {}
    for key in {k for k in keys if k is not None}:
        values = measure.by_seed(mlp.loc[keys == key])
        if values.size:  # a cell whose runs did not record the measure has no value to compare
            out[key] = values
    return out


def _one_sample(differences: np.ndarray) -> tuple[float, float, float, float]:
    """Mean of per-seed differences, its 95% t-interval and two-sided p against 0; NaN below
    MIN_RUNS seeds (as every verdict) and where the differences have no spread (``stats.has_spread``,
    the rule of the reproduction table's verdicts: t is undefined)."""
    if differences.size == 0:
        return (math.nan,) * 4
    mean = float(differences.mean())
    if differences.size < MIN_RUNS or not has_spread(differences):
        return mean, math.nan, math.nan, math.nan
    result = scipy_stats.ttest_1samp(differences, 0.0)
    ci = result.confidence_interval(CONFIDENCE)
    return mean, float(ci.low), float(ci.high), float(result.pvalue)


def paired(a: pd.Series, b: pd.Series) -> tuple[float, float, float, float, int]:
    """Cell a minus cell b over the seeds both ran (matched by seed label), a paired t-test: the seed
    is the random unit of the design, every cell runs the same seeds, so a seed's two runs are a
    pair, not two independent samples. Returns the mean difference, its 95% interval, two-sided p
    and the number of seeds (``paired_with_differences`` also returns the differences)."""
    return paired_with_differences(a, b)[0]


def paired_with_differences(a: pd.Series, b: pd.Series) -> tuple[tuple[float, float, float, float, int], pd.Series]:
    """``paired``'s numbers and the per-seed differences they come from, a - b on the seeds both ran
    by seed label (the effects and the gap keep them)."""
    seeds = a.index.intersection(b.index)
    differences = a[seeds] - b[seeds]
    return (*_one_sample(differences.to_numpy(dtype=np.float64)), len(differences)), differences


def independent(a: Any, b: Any) -> tuple[float, float, float, float, str]:
    """mean(a) - mean(b) of independent runs (the MLP against TensorFlow's own runs), its Welch 95%
    interval, two-sided p and the test's name, by the one rule for two independent groups, that of
    the summary's accuracy column (``stats.compare_means``: MIN_RUNS a side, Welch's t-test, or
    without spread on both sides the exact Mann-Whitney U, or p=1 for identical values; then no
    interval, ``stats.welch_interval``)."""
    comparison = compare_means(a, b)
    return (comparison.difference, *welch_interval(a, b), comparison.p_value, comparison.test)


def _switched(base: str, name: str) -> tuple[str, ...]:
    other = "keras" if base == "article" else "article"
    return tuple(other if c.name == name else base for c in COMPONENTS)


def effects(table: dict[tuple[str, ...], pd.Series]) -> list[Effect]:
    """Every effect the cells allow (a cell with no runs leaves its effect out), each design's p
    adjusted by Holm's method over its components."""
    out = []
    for base, design in (("article", FROM_ARTICLE), ("keras", FROM_KERAS)):
        reference = table.get(tuple(base for _ in COMPONENTS))
        for c in COMPONENTS:
            cell = table.get(_switched(base, c.name))
            if reference is None or cell is None:
                continue
            # the effect of Keras's value: from Keras's algorithm, switching to the article's is its negative
            a, b = (cell, reference) if base == "article" else (reference, cell)
            (diff, low, high, p, n), differences = paired_with_differences(a, b)
            if n:  # cells with no seed in common have no effect to show
                out.append(Effect(c.name, c.label, design, diff, low, high, p, (n, n),
                                  per_seed=tuple(differences.items())))
    if all(key in table for key in product(("article", "keras"), repeat=len(COMPONENTS))):
        for i, c in enumerate(COMPONENTS):
            keras_side = [v for k, v in table.items() if k[i] == "keras"]
            article_side = [v for k, v in table.items() if k[i] == "article"]
            diff, low, high, p, n = main_effect(keras_side, article_side)
            if n:
                out.append(Effect(c.name, c.label, MAIN, diff, low, high, p, (n, n)))
    return _with_holm(out)


def _with_holm(found: list[Effect]) -> list[Effect]:
    """Each effect with its p adjusted over its design's family (one test per component)."""
    adjusted: dict[int, float] = {}
    for design in (FROM_ARTICLE, FROM_KERAS, MAIN):
        family = [i for i, e in enumerate(found) if e.design == design]
        adjusted.update(zip(family, holm([found[i].p_value for i in family])))
    return [replace(e, p_holm=float(adjusted[i])) for i, e in enumerate(found)]


def main_effect(keras_cells: list[pd.Series], article_cells: list[pd.Series]) -> tuple[float, float, float, float, int]:
    """Per seed that every cell ran: the mean of the Keras side's cells minus the article side's
    (each cell weighs the same); then a one-sample t-test over those seeds. The seed is the unit:
    a side's 16 cells x 3 seeds are 3 observations, not 48, and a seed lost in any one cell (a run
    not ok) leaves every main effect. Returns the effect, its 95% interval, two-sided p and the
    number of seeds."""
    if not keras_cells or not article_cells:
        return (*(math.nan,) * 4, 0)
    seeds = keras_cells[0].index
    for cell in keras_cells[1:] + article_cells:
        seeds = seeds.intersection(cell.index)
    per_seed = (np.mean([cell[seeds].to_numpy(dtype=np.float64) for cell in keras_cells], axis=0)
                - np.mean([cell[seeds].to_numpy(dtype=np.float64) for cell in article_cells], axis=0))
    return (*_one_sample(per_seed), len(seeds))


@dataclass(frozen=True)
class Gap:
    """The article's algorithm minus `against` in `measure`: the mean per-seed difference over the
    seeds both cells ran (`paired`), or against TensorFlow's own runs the difference of means
    (``independent``: Welch, or without spread the exact Mann-Whitney U); with its interval, where
    there is one, and p."""

    against: str
    size: float
    low: float
    high: float
    p_value: float
    n: tuple[int, int]
    measure: Measure = MISCLASSIFIED
    paired: bool = True
    per_seed: tuple[tuple[Any, float], ...] = ()  # (seed, difference) pairs of a paired gap
    test: str = ""   # the independent runs' test (``independent``); '' for a paired gap


def gap(table: dict[tuple[str, ...], pd.Series], keras_runs: Any, measure: Measure = MISCLASSIFIED) -> Gap:
    """The gap the components must explain: the article's algorithm against Keras's algorithm in our
    MLP (the cell every single switch moves towards; paired by seed), or, where those two cells share
    fewer than MIN_RUNS seeds but the article's cell and TensorFlow both have MIN_RUNS runs, against
    TensorFlow's own runs (independent runs: ``independent``; the ablation runs Keras once per seed it is given,
    often one). `table` and `keras_runs` hold values of `measure`."""
    empty = pd.Series(dtype=np.float64)
    article = table.get(tuple("article" for _ in COMPONENTS), empty)
    keras_cell = table.get(tuple("keras" for _ in COMPONENTS), empty)
    library = finite(keras_runs)
    shared = len(article.index.intersection(keras_cell.index))
    if shared >= MIN_RUNS or min(len(article), library.size) < MIN_RUNS:  # TensorFlow only where it can be tested
        (*numbers, n), differences = paired_with_differences(article, keras_cell)
        return Gap("Keras's algorithm in our MLP", *numbers, (n, n), measure, per_seed=tuple(differences.items()))
    diff, low, high, p, test = independent(article, library)
    return Gap("TensorFlow/Keras", diff, low, high, p, (len(article), library.size), measure, paired=False, test=test)


def runs(n: tuple[int, int], paired: bool = True) -> str:
    """The sample sizes behind a stated difference: 'n=3 seeds' (compared seed by seed) or 'n=3 vs 1
    runs' (independent runs)."""
    return f"n={n[0]} seed{'' if n[0] == 1 else 's'}" if paired else f"n={n[0]} vs {n[1]} runs"


UNTESTED, REAL, REVERSED, NOT_SIGNIFICANT = "untested", "real", "reversed", "not significant"


def gap_state(the_gap: Gap) -> str:
    """What the runs show of the gap, the one classification the sentence, the table's shares and
    the chart read: UNTESTED (no runs, too few seeds or runs for a test, or per-seed differences without
    spread), REAL (the article's algorithm
    is significantly less accurate), REVERSED (significantly more), else NOT_SIGNIFICANT."""
    if not math.isfinite(the_gap.size) or min(the_gap.n) < MIN_RUNS or not math.isfinite(the_gap.p_value):
        return UNTESTED
    if the_gap.p_value >= ALPHA:
        return NOT_SIGNIFICANT
    return REAL if the_gap.size > 0 else REVERSED


def _amount(value: float, measure: Measure) -> str:
    """'24 images', '1 passenger'."""
    text = fmt(float(value))
    return f"{text} {measure.unit[:-1] if text == '1' and measure.unit.endswith('s') else measure.unit}"


def _components(count: int) -> str:
    return f"{count} component{'' if count == 1 else 's'}"


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
        if min(the_gap.n) >= MIN_RUNS:
            return (f"{compared}, but the {'per-seed differences between the two cells' if the_gap.paired else 'runs'} "
                    "have no spread, so no t-test applies.")
        few = (f"the two cells share only {the_gap.n[0]} seed{'' if the_gap.n[0] == 1 else 's'}" if the_gap.paired
               else too_few(min(the_gap.n)))
        return (f"{compared}, but {few}, and a test needs {MIN_RUNS}; run the ablation with runs={MIN_RUNS} or more "
                "(seeds per cell) for a finding.")
    bounded = math.isfinite(the_gap.low) and math.isfinite(the_gap.high)  # not so for runs without spread
    measured = (f"{f'95% CI {fmt(the_gap.low)} to {fmt(the_gap.high)}' if bounded else the_gap.test}, "
                f"{p_is(the_gap.p_value)}, {runs(the_gap.n, the_gap.paired)}")
    if state == REVERSED:
        return f"{compared}, significantly ({measured}), so there is no gap for a component to explain."
    if state == NOT_SIGNIFICANT and not bounded:
        return (f"{compared}{'' if tiny else ', not significantly'} ({measured}): these runs show no significant "
                "gap, so no component can be said to explain one; more runs per cell may show one.")
    if state == NOT_SIGNIFICANT:
        return (f"{compared}{'' if tiny else ', not significantly'} ({measured}): these runs show no significant "
                f"gap, but one of up to {_amount(the_gap.high, measure)} lies within the interval, so no component "
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


def share(effect: Effect, the_gap: Gap) -> tuple[float, float, float, int]:
    """The share of the gap that ``effect``'s switch closes (-effect / gap) with its 95% Fieller
    interval (``stats.ratio_interval_paired``), both over the seeds the effect and the paired gap
    were both measured on (a seed's effect and gap come from the same runs), and that seed count.
    Against TensorFlow's own runs (no pairs) the ratio of the two means, no interval, 0 seeds; with
    no seed in common, NaN and 0 seeds."""
    if not the_gap.paired:
        ratio = -effect.effect / the_gap.size if the_gap.size else math.nan
        return ratio, math.nan, math.nan, 0
    effects, gaps = dict(effect.per_seed), dict(the_gap.per_seed)
    seeds = [seed for seed in effects if seed in gaps]
    if not seeds:
        return math.nan, math.nan, math.nan, 0
    ratio, low, high = ratio_interval_paired([-effects[s] for s in seeds], [gaps[s] for s in seeds])
    return ratio, low, high, len(seeds)


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


def effects_frame(found: list[Effect], the_gap: Gap) -> pd.DataFrame:
    """The table of the section: one row per component and design; the share of the gap only for the
    components the finding names (``closes``), when there is a significant gap to share: the share of
    an effect not told from zero would be noise in percent."""
    real = gap_state(the_gap) == REAL
    effect = effect_column(the_gap.measure)
    columns = ["component", "switched", effect, CI_COLUMN, "p", "p (Holm)", "seeds", "share of gap"]
    rows = [{"component": e.component, "switched": e.design, effect: e.effect,
             CI_COLUMN: f"[{fmt(e.low)}, {fmt(e.high)}]" if math.isfinite(e.low) and math.isfinite(e.high) else "—",
             "p": e.p_value, "p (Holm)": e.p_holm, "seeds": e.n[0],
             "share of gap": share_text(e, the_gap) if real and closes(e) else "—"}
            for e in found]
    return pd.DataFrame(rows, columns=columns)


CI_COLUMN = "95% CI (not adjusted)"


def untested_note(found: list[Effect]) -> str:
    """Why effects have no p, one clause per reason: a switched cell with no runs on its base cell's
    seeds (no row at all), too few seeds in common, or the same difference on every seed (t is
    undefined; 0 on every seed: the switch left every seed's measure as it was, or in the factorial
    the two sides' averages were equal). '' when every effect was tested."""
    missing = [Effect(c.name, c.label, design, math.nan, math.nan, math.nan, math.nan, (0, 0))
               for design in (FROM_ARTICLE, FROM_KERAS) if any(e.design == design for e in found)
               for c in COMPONENTS if not any(e.design == design and e.component == c.name for e in found)]
    few = [e for e in found if e.n[0] < MIN_RUNS]
    flat = [e for e in found if e.n[0] >= MIN_RUNS and not math.isfinite(e.p_value)]
    parts = []
    if missing:
        parts.append(f"{_listed(missing)}: no runs of the switched cell on its base cell's seeds, so no row")
    if few:
        parts.append(f"{_listed(few)}: fewer than {MIN_RUNS} seeds in common, too few for a test")
    for value, factorial in sorted({(e.effect, e.design == MAIN) for e in flat}):
        group = [e for e in flat if (e.effect, e.design == MAIN) == (value, factorial)]
        what = (f"every seed differed by the same {fmt(float(value))}" if value != 0 else
                "the two sides' averages were equal on every seed" if factorial else
                "the switch left every seed's measure as it was")
        parts.append(f"{_listed(group)}: {what}, so there is {NO_SPREAD}")
    return "; ".join(f"Not tested: {part}" if i == 0 else part for i, part in enumerate(parts)) + ("." if parts else "")


def _listed(found: list[Effect]) -> str:
    """'loss_gradient (alone from the article's and alone from Keras's)', components in table order."""
    names = list(dict.fromkeys(e.component for e in found))
    return ", ".join(f"{name} ({' and '.join(e.design for e in found if e.component == name)})" for name in names)


def effect_column(measure: Measure) -> str:
    """The table's effect column, e.g. 'effect on mean misclassified (images)'."""
    return f"effect on mean {measure.name} ({measure.unit})"
