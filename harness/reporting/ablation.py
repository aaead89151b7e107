"""The article's algorithm against Keras's, component by component: each component's effect on
accuracy, and the gap the components must explain.

From the cells (harness.reporting.ablation_cells), for each component:

* switched alone from the article's algorithm to Keras's: that cell's mean minus the article's cell's;
* switched alone from Keras's algorithm to the article's: that cell minus Keras's-algorithm cell;
* in a full factorial (every combination ran), its main effect: per seed every cell ran, the mean
  of the cells with the Keras value minus the mean of those with the article's (every cell weighing
  the same), averaged over those seeds.

Every cell runs the same seeds, so a seed's runs in two cells are a pair (a paired test holds
whatever their correlation): each effect is a mean of per-seed differences with its 95% t-interval
and p, and p adjusted by Holm's method over its design's components. The gap is the article's
algorithm minus Keras's (`gap`); `share` is the part of it a component's switch closes. The
sentence naming the components that account for the gap (harness.reporting.ablation_finding) is
built from these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from harness.algorithm import COMPONENTS
from harness.reporting.ablation_cells import MISCLASSIFIED
from harness.reporting.claim_measures import Measure
from harness.reporting.stats import (ALPHA, MIN_RUNS, compare_means, finite, has_spread, holm, mean,
                                     ratio_interval_paired, spread, t_interval, two_sided_p, welch_interval)

FROM_ARTICLE, FROM_KERAS, MAIN = "alone from the article's", "alone from Keras's", "main effect (factorial)"
UNTESTED, REAL, REVERSED, NOT_SIGNIFICANT = "untested", "real", "reversed", "not significant"


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


def _one_sample(differences: np.ndarray) -> tuple[float, float, float, float]:
    """Mean of per-seed differences, its 95% t-interval and two-sided p against 0; NaN below
    MIN_RUNS seeds (as every verdict) and where the differences have no spread (``stats.has_spread``,
    the rule of the reproduction table's verdicts: t is undefined)."""
    if differences.size == 0:
        return (math.nan,) * 4
    centre = mean(differences)
    if differences.size < MIN_RUNS or not has_spread(differences):
        return centre, math.nan, math.nan, math.nan
    low, high = t_interval(differences)
    p = two_sided_p(centre / (spread(differences) / math.sqrt(differences.size)), differences.size - 1)
    return centre, low, high, p


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
