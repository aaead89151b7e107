"""The ablation's runs as cells: which cell of the design each MLP run is, and the accuracy each
cell's runs reached, seed by seed.

The ablation experiments (ablation_titanic, ablation_mnist) run the MLP in cells that take each
component of `harness.algorithm.COMPONENTS` from the article or from Keras, plus Keras itself. A
cell is known by its runs' component values, never by a folder name. Accuracy is measured in the
quantity of the article's gap claim that the experiment explains (`EXPLAINS`, `measure_of`): mean
misclassified on MNIST, mean |"error"| on Titanic (the size of each run's signed "error", so that
lower is more accurate: `measure_of`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from harness.algorithm import COMPONENTS
from harness.reporting import settings
from harness.reporting.claim_measures import GAPS, SIGNED, Measure, gap_measure
from harness.reporting.prepared_runs import repeated_runs

# Each ablation experiment and the id of the article's gap claim (results/reference/article.yaml) it explains.
EXPLAINS = {"ablation_titanic": "titanic_vs_tf_error_gap", "ablation_mnist": "mnist_vs_tf_misclassified_gap"}
EXPERIMENTS = tuple(EXPLAINS)
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
