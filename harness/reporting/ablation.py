"""The article's algorithm against Keras's, component by component: each component's effect on accuracy.

The ablation experiments (ablation_titanic, ablation_mnist) run the MLP in cells that take each
component of `harness.algorithm.COMPONENTS` from the article or from Keras, plus Keras itself. A
cell is known by its runs' component values, never by a folder name. For each component:

* switched alone from the article's algorithm to Keras's: mean misclassified of that cell minus
  the article's cell;
* switched alone from Keras's algorithm to the article's: that cell minus Keras's-algorithm cell;
* in a full factorial (every combination ran), its main effect: the mean of the cell means with
  the Keras value minus the mean of those with the article's, so averaged over the other
  components with every cell weighing the same however many of its runs finished ok.

Each effect comes with a Welch 95% interval and p (the main effect's from the per-cell variances,
Satterthwaite's degrees of freedom). The sentence naming the components that
account for the gap (the article's algorithm minus Keras's, misclassified: `gap`) is built from
these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from harness.algorithm import COMPONENTS
from harness.reporting import settings
from harness.reporting.stats import ALPHA, CONFIDENCE, finite
from harness.reporting.tables import repeated_runs
from harness.reporting.verdicts import MIN_RUNS, too_few

EXPERIMENTS = ("ablation_titanic", "ablation_mnist")
MEASURE = "test_misclassified"
FROM_ARTICLE, FROM_KERAS, MAIN = "alone from the article's", "alone from Keras's", "main effect (factorial)"


@dataclass(frozen=True)
class Effect:
    """The change in mean misclassified when `component` takes Keras's value instead of the article's."""

    component: str
    label: str
    design: str      # FROM_ARTICLE, FROM_KERAS or MAIN
    effect: float
    low: float
    high: float
    p_value: float
    n: tuple[int, int]


def cell_of(run: Any) -> tuple[str, ...] | None:
    """('article'|'keras', ...) in COMPONENTS order for one MLP run; None when a value is neither."""
    values = settings.run_settings(run)
    sides = []
    for c in COMPONENTS:
        value = str(values.get(c.key))
        sides.append("article" if value == str(c.article) else "keras" if value == str(c.keras) else None)
    return None if None in sides else tuple(sides)


def cells(runs: pd.DataFrame) -> dict[tuple[str, ...], np.ndarray]:
    """Misclassified of the experiment's ok MLP runs, per cell; each seed once per cell (the latest
    run), as the summary and reproduction tables count them, so a sweep run twice counts once."""
    mlp = runs[(runs["impl"] == "mlp") & runs["ok"]]
    keys = pd.Series([cell_of(run) for _, run in mlp.iterrows()], index=mlp.index, dtype=object)
    if len(mlp):
        once = ~repeated_runs(mlp.assign(_cell=keys.map(str)), ["impl", "backend", "_cell"])
        mlp, keys = mlp[once], keys[once]
    out: dict[tuple[str, ...], np.ndarray] = {}
    for key in {k for k in keys if k is not None}:
        out[key] = finite(pd.to_numeric(mlp.loc[keys == key, MEASURE], errors="coerce"))
    return out


def difference(a: Any, b: Any) -> tuple[float, float, float, float]:
    """mean(a) - mean(b), its Welch 95% interval and two-sided p (NaN below two runs a side)."""
    x, y = finite(a), finite(b)
    if x.size == 0 or y.size == 0:
        return (math.nan,) * 4
    diff = float(x.mean() - y.mean())
    if x.size < 2 or y.size < 2:
        return diff, math.nan, math.nan, math.nan
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return diff, diff, diff, 1.0 if diff == 0 else 0.0
    result = scipy_stats.ttest_ind(x, y, equal_var=False)
    ci = result.confidence_interval(CONFIDENCE)
    return diff, float(ci.low), float(ci.high), float(result.pvalue)


def _switched(base: str, name: str) -> tuple[str, ...]:
    other = "keras" if base == "article" else "article"
    return tuple(other if c.name == name else base for c in COMPONENTS)


def effects(table: dict[tuple[str, ...], np.ndarray]) -> list[Effect]:
    """Every effect the cells allow (a cell with no runs leaves its effect out)."""
    out = []
    for base, design in (("article", FROM_ARTICLE), ("keras", FROM_KERAS)):
        reference = table.get(tuple(base for _ in COMPONENTS))
        for c in COMPONENTS:
            cell = table.get(_switched(base, c.name))
            if reference is None or cell is None:
                continue
            # the effect of Keras's value: from Keras's algorithm, switching to the article's is its negative
            a, b = (cell, reference) if base == "article" else (reference, cell)
            diff, low, high, p = difference(a, b)
            out.append(Effect(c.name, c.label, design, diff, low, high, p, (len(a), len(b))))
    if all(key in table for key in product(("article", "keras"), repeat=len(COMPONENTS))):
        for i, c in enumerate(COMPONENTS):
            keras_side = [v for k, v in table.items() if k[i] == "keras"]
            article_side = [v for k, v in table.items() if k[i] == "article"]
            diff, low, high, p = main_effect(keras_side, article_side)
            out.append(Effect(c.name, c.label, MAIN, diff, low, high, p,
                              (sum(map(len, keras_side)), sum(map(len, article_side)))))
    return out


def main_effect(keras_cells: list[Any], article_cells: list[Any]) -> tuple[float, float, float, float]:
    """Mean of the Keras side's cell means minus the article side's: each cell weighs the same, so
    cells that lost runs (not ok) do not tilt it towards the other components' values. The variance
    of a side is sum(s_c^2 / n_c) / K^2 over its K cells; degrees of freedom by Satterthwaite over
    all cells. Returns the effect, its 95% interval and two-sided p (NaN below two runs in a cell)."""
    sides = [[finite(v) for v in keras_cells], [finite(v) for v in article_cells]]
    if any(not side or any(v.size == 0 for v in side) for side in sides):
        return (math.nan,) * 4
    diff = float(np.mean([v.mean() for v in sides[0]]) - np.mean([v.mean() for v in sides[1]]))
    if any(v.size < 2 for side in sides for v in side):
        return diff, math.nan, math.nan, math.nan
    terms = [v.var(ddof=1) / v.size / len(side) ** 2 for side in sides for v in side]
    dfs = [v.size - 1 for side in sides for v in side]
    total = sum(terms)
    if total == 0:
        return diff, diff, diff, 1.0 if diff == 0 else 0.0
    df = total ** 2 / sum(t ** 2 / d for t, d in zip(terms, dfs) if t > 0)
    half = float(scipy_stats.t.ppf((1 + CONFIDENCE) / 2, df)) * math.sqrt(total)
    p = float(2 * scipy_stats.t.sf(abs(diff) / math.sqrt(total), df))
    return diff, diff - half, diff + half, p


@dataclass(frozen=True)
class Gap:
    """The article's algorithm minus `against` in mean misclassified, with its interval and p."""

    against: str
    size: float
    low: float
    high: float
    p_value: float
    n: tuple[int, int]


def gap(table: dict[tuple[str, ...], np.ndarray], keras_runs: Any) -> Gap:
    """The gap the components must explain: the article's algorithm against Keras's algorithm in our
    MLP (the cell every single switch moves towards), or, without that cell's runs, against the
    Keras library itself (the ablation runs Keras once per seed it is given, often one)."""
    article = table.get(tuple("article" for _ in COMPONENTS), np.array([]))
    keras_cell = table.get(tuple("keras" for _ in COMPONENTS), np.array([]))
    library = finite(keras_runs)
    against, other = (("Keras's algorithm (our MLP)", keras_cell) if len(keras_cell) >= MIN_RUNS or not library.size
                      else ("TensorFlow/Keras", library))
    return Gap(against, *difference(article, other), (len(article), len(other)))


def runs(n: tuple[int, int]) -> str:
    """The sample sizes behind a stated difference, e.g. 'n=3 vs 3 runs'."""
    return f"n={n[0]} vs {n[1]} runs"


UNTESTED, REAL, REVERSED, NOT_SIGNIFICANT = "untested", "real", "reversed", "not significant"


def gap_state(the_gap: Gap) -> str:
    """What the runs show of the gap, the one classification the sentence, the table's shares and
    the chart read: UNTESTED (no runs, or too few per cell for a test), REAL (the article's algorithm
    misclassifies significantly more), REVERSED (significantly fewer), else NOT_SIGNIFICANT."""
    if not math.isfinite(the_gap.size) or min(the_gap.n) < MIN_RUNS or not math.isfinite(the_gap.p_value):
        return UNTESTED
    if the_gap.p_value >= ALPHA:
        return NOT_SIGNIFICANT
    return REAL if the_gap.size > 0 else REVERSED


def sentence(experiment: str, found: list[Effect], the_gap: Gap) -> str:
    """The finding, from the numbers: which components, switched alone from the article's algorithm
    to Keras's, close a significant part of the gap between it and Keras's, and how much."""
    state = gap_state(the_gap)
    if not math.isfinite(the_gap.size):
        return f"{experiment}: no gap to explain yet (runs of the article's algorithm and of Keras's are both needed)."
    if state == UNTESTED:
        more = "more" if the_gap.size >= 0 else "fewer"
        return (f"{experiment}: the article's algorithm misclassifies {abs(the_gap.size):.3g} {more} than "
                f"{the_gap.against}, but with {too_few(min(the_gap.n))} per cell no effect has an interval; "
                f"run the ablation with runs={MIN_RUNS} or more for a finding.")
    measured = (f"(difference {the_gap.size:.3g}, 95% CI {the_gap.low:.3g} to {the_gap.high:.3g}, "
                f"p={the_gap.p_value:.2g}, {runs(the_gap.n)})")
    if state == REVERSED:
        return (f"{experiment}: the article's algorithm is significantly more accurate than {the_gap.against} "
                f"{measured}, so there is no gap for a component to explain.")
    if state == NOT_SIGNIFICANT:
        largest = f"{the_gap.high:.3g}"
        return (f"{experiment}: the article's algorithm is not significantly less accurate than {the_gap.against} "
                f"{measured}: these runs show no significant gap, but one of up to {largest} test "
                f"row{'' if largest == '1' else 's'} lies within the interval, so no component can be said to "
                "explain one; more runs per cell narrow it.")
    stated = (f"{the_gap.size:.3g} test rows more than {the_gap.against} (95% CI {the_gap.low:.3g} to "
              f"{the_gap.high:.3g}, p={the_gap.p_value:.2g}, {runs(the_gap.n)})")
    closing = sorted((e for e in found if e.design == FROM_ARTICLE and e.p_value < ALPHA and e.effect < 0),
                     key=lambda e: e.effect)
    if not closing:
        return (f"{experiment}: the article's algorithm misclassifies {stated}, and no single component "
                "switched alone to Keras's closes a significant part of that gap.")
    named = "; ".join(f"{e.component} ({-e.effect:.3g} fewer, 95% CI {-e.high:.3g} to {-e.low:.3g}, "
                      f"p={e.p_value:.2g}, {runs(e.n)}: {-e.effect / the_gap.size:.0%} of the gap)" for e in closing)
    return (f"{experiment}: the article's algorithm misclassifies {stated}; switched alone to Keras's, "
            f"these component(s) close a significant part of that gap: {named}.")


def effects_frame(found: list[Effect], the_gap: Gap) -> pd.DataFrame:
    """The table of the section: one row per component and design; the share of the gap only when
    there is a significant gap to share."""
    real = gap_state(the_gap) == REAL
    rows = [{"component": e.component, "switched": e.design, "effect on misclassified": e.effect,
             "95% CI": f"[{e.low:.3g}, {e.high:.3g}]", "p": e.p_value, "runs": runs(e.n),
             "share of gap": -e.effect / the_gap.size if real else math.nan}
            for e in found]
    return pd.DataFrame(rows, columns=["component", "switched", "effect on misclassified", "95% CI", "p", "runs",
                                       "share of gap"])
