"""What each of the article's numbers measures in our runs: the per-run column a published mean or
single value is compared with (PER_RUN), a published MLP - Keras difference (GAPS, read through a
`Measure`), the times (TIME_MEASURES) and the claims that pair the MLP with Keras (PAIRED).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import stats
from harness.reporting.figures import losses

# A published mean or single value, and the per-run column it is compared with.
PER_RUN = {"article_error_mean": "article_error", "misclassified_mean": "test_misclassified",
           "final_loss_mean": "final_loss", "first_loss_mean": "first_loss",
           "fitted_w_mean": "fitted_w", "fitted_b_mean": "fitted_b"}
# A published difference MLP - Keras within one experiment, and the per-run column.
GAPS = {"misclassified_gap_vs_keras": "test_misclassified", "article_error_gap_vs_keras": "article_error"}
# The numbers that are times: not judged on runs timed under a parallel launcher, and judged with a
# caveat where the machine's speed moved (harness.reporting.comparable_runs, reference).
TIME_MEASURES = ("fit_seconds_median", "time_ratio_vs_keras", "numpy_over_cupy")
# Claims that pair the MLP's runs with the Keras runs of the same experiment: both sides must be
# the article's setup.
PAIRED = (*GAPS, "time_ratio_vs_keras")
# How the page names a gap claim's per-run column.
NAMES = {"test_misclassified": "misclassified", "article_error": '"error"'}
# Per-run values that are a signed distance from the truth (Titanic's "error": actual minus predicted
# survivors). A claim compares their signed means, as the article did; a run's accuracy, which the
# ablation ranks (lower is more accurate), is their size.
SIGNED = frozenset({"article_error"})


@dataclass(frozen=True)
class Measure:
    """The per-run values a gap claim compares (signed, as recorded) or, `absolute`, their size (how
    the ablation that explains the gap measures accuracy)."""

    column: str
    absolute: bool
    unit: str

    @property
    def name(self) -> str:
        base = NAMES.get(self.column, self.column)
        return f"|{base}|" if self.absolute else base

    def values(self, runs: pd.DataFrame) -> np.ndarray:
        """The finite per-run values of `runs`."""
        data = run_values(runs, self.column) if self.column in runs else np.array([])
        return np.abs(data) if self.absolute else data

    def by_seed(self, runs: pd.DataFrame) -> pd.Series:
        """The finite per-run values of `runs` indexed by their seed; `runs` holds one run per seed
        (repeats left out by prepared_runs.repeated_runs), and a run without a seed pairs with none."""
        if self.column not in runs or "seed" not in runs:
            return pd.Series(dtype=np.float64)
        data = pd.Series(pd.to_numeric(runs[self.column], errors="coerce").to_numpy(dtype=np.float64),
                         index=pd.Index(runs["seed"]))
        data = data[np.isfinite(data.to_numpy()) & data.index.notna()]
        return data.abs() if self.absolute else data


def gap_measure(entry: dict[str, Any]) -> Measure:
    """A gap claim's per-run values, signed as recorded: its column (GAPS) and unit."""
    return Measure(GAPS[entry["measure"]], False, str(entry.get("unit") or "units"))


def run_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The finite values of `column`, one a run of `frame`; `first_loss` is each run's first epoch loss."""
    if column == "first_loss":
        return stats.finite([curve[0] if (curve := losses(v)).size else np.nan for v in frame["epoch_losses"]])
    return stats.finite(pd.to_numeric(frame[column], errors="coerce"))
