"""Run records as one frame that the tables, verdicts and figures read, and how it splits into groups.

`prepare` coerces the numeric fields, adds `final_loss`, `ok` and the settings that vary (record
fields and the run folders' config.yaml, harness.reporting.settings) with each run's `algorithm`.
`swept_params` names the settings that take several values, which split a table into rows, and
`repeated_runs` the runs that repeat another of the same group and seed: jobs of a sweep over a
value an implementation does not use (scikit-learn and Keras always shuffle, whatever `sampling`
says) run it identically, and counting those repeats would treat one run as several independent
ones, so only the latest finished counts.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from harness import algorithm
from harness.runs_table import is_ok
from harness.reporting import settings

NUMERIC_FIELDS = ("seed", "learning_rate", "batch_size", "epochs", "l1", "l2", "n_train", "n_test",
                  "fit_seconds", "first_epoch_seconds", "predict_seconds", "test_loss",
                  "test_accuracy", "test_misclassified", "predicted_positives", "actual_positives",
                  "article_error", "fitted_w", "fitted_b", "flops", "peak_memory_mb", "diverged_epoch")
# Record fields that can differ between the jobs of a sweep; a varying one becomes a group key
# (settings only in config.yaml are found by harness.reporting.settings).
SWEEPABLE = ("learning_rate", "batch_size", "epochs", "sampling", "optimizer", "initializer",
             "dtype", "l1", "l2", "layers", "activations", "loss", "variant")


def _last(value: Any) -> float:
    """Last element of a loss history (list, or JSON list as stored in runs.csv)."""
    if isinstance(value, str):
        value = json.loads(value)
    if value is None or (isinstance(value, float) and math.isnan(value)) or len(value) == 0:
        return math.nan
    last = value[-1]
    return math.nan if last is None else float(np.ravel(last)[0])


def _scalar(value: Any) -> Any:
    """fitted_w may be stored as a one-element list; tables need a number."""
    if isinstance(value, (list, tuple)):
        return value[0] if len(value) == 1 else math.nan
    return value


def prepare(runs: pd.DataFrame) -> pd.DataFrame:
    """Records with numeric columns coerced, `final_loss`, `ok` and the varying config settings added."""
    frame = with_settings(runs.copy())
    for column in ("fitted_w", "fitted_b"):
        frame[column] = frame[column].map(_scalar)
    for column in NUMERIC_FIELDS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["final_loss"] = frame["epoch_losses"].map(_last).astype(float)
    frame["ok"] = is_ok(frame)
    return frame


def with_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """`runs` with the columns a table or figure splits by: the varying config settings and `algorithm`."""
    return with_algorithm(settings.with_config_settings(runs))


def with_algorithm(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with an `algorithm` column (harness.algorithm.describe of each run's settings)."""
    if frame.empty or "algorithm" in frame:
        return frame
    out = frame.copy()
    labels: dict[tuple, str] = {}  # the runs of one folder share its settings: one label per folder and fields
    fields = sorted(settings.IN_RECORD & set(frame.columns))
    column = []
    for run in frame.to_dict("records"):
        key = (run.get("run_dir"), *(str(run.get(f)) for f in fields))
        if key not in labels:
            labels[key] = algorithm.describe(settings.run_settings(run))
        column.append(labels[key])
    out["algorithm"] = column
    return out


def swept_params(frame: pd.DataFrame) -> list[str]:
    """Settings that take several values within one experiment, data set and implementation: record
    fields, then config.yaml settings (a column of `prepare`'s frame). Two or more settings of the
    algorithm's components swept together (an `algorithm=` or ablation sweep) show as the one
    `algorithm` column that names them."""
    swept = []
    for column in (*SWEEPABLE, *settings.config_settings(frame).columns):
        if column not in frame:
            continue
        counts = frame.groupby(["experiment", "dataset", "impl"], dropna=False)[column].nunique(dropna=True)
        if (counts > 1).any():
            swept.append(column)
    components = [c for c in swept if c in algorithm.KEYS]
    if len(components) > 1 and "algorithm" in frame and _label_determines(frame, components):
        swept = [c for c in swept if c not in algorithm.KEYS] + ["algorithm"]
    return swept


def _label_determines(frame: pd.DataFrame, components: list[str]) -> bool:
    """Whether runs of one `algorithm` label agree on every swept component setting (else a setting
    the label does not show, such as another Adam epsilon, would merge configurations)."""
    text = frame[components].astype(str)
    groups = [frame[k] for k in ("experiment", "dataset", "impl", "algorithm")]
    return bool((text.groupby(groups, dropna=False).nunique() <= 1).all().all())


def repeated_runs(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Which runs repeat another of the same group keys and seed (all but the latest finished)."""
    stamps = frame["finished_at"].fillna(frame["started_at"]).fillna("").astype(str)
    order = stamps.sort_values(kind="stable").index
    repeated = frame.loc[order].duplicated([*keys, "seed"], keep="last") & frame.loc[order, "seed"].notna()
    return repeated.reindex(frame.index)
