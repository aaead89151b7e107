"""Summary tables made from run records alone: one row per experiment, implementation and backend.

Time is summarised by median and spread (one slow warm-up run should not move it), error by mean
with its t-interval (MLPerf-style: every seed reported, none picked). Runs whose status is
not "ok" are counted and named but left out of every statistic. Speed is also given as work per
second and as a fraction of the machine's measured matmul rate (harness.reporting.machine_rate).

A row holds the runs of one setting: every setting that differs between the runs summarised is a
group key (harness.reporting.prepared_runs.swept_params). Within a row each seed counts once (the
latest finished, ``prepared_runs.repeated_runs``); `n_repeats` says how many were left out.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from harness import algorithm
from harness.atomic_write import atomic_write_text
from harness.records import SHARED_CPU_LAUNCHERS
from harness.reporting import stats
from harness.reporting.machine_rate import rate_text, throughput
from harness.reporting.number_text import fmt, mean_text, ratio_bound_text
from harness.reporting.prepared_runs import prepare, repeated_runs, swept_params

REFERENCE_IMPL = "keras"
# dataset is a key because one experiment (smoke) may run several data sets as jobs of a sweep.
GROUP_KEYS = ["experiment", "dataset", "impl", "backend"]
MEAN_METRICS = {"misclassified": "test_misclassified", "accuracy": "test_accuracy",
                "article_error": "article_error", "final_loss": "final_loss",
                "fitted_w": "fitted_w", "fitted_b": "fitted_b"}
# The first statistic of a summary row: the columns before it are the row's group keys.
FIRST_STATISTIC = "device"


def _excluded_text(group: pd.DataFrame) -> str:
    """e.g. '2 diverged, 1 failed' for the runs left out of the statistics."""
    counts = group.loc[~group["ok"], "status"].value_counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def _group_row(group: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """Statistics of one group's ok runs (`group` holds each seed once; `repeats` were left out)."""
    ok = group[group["ok"]]
    launchers = sorted({str(v) for v in group["launcher"].dropna()} - {"basic"})
    shared = [name for name in launchers if name in SHARED_CPU_LAUNCHERS]
    row: dict[str, Any] = {
        "device": ", ".join(sorted({str(v) for v in group["device"].dropna()})),
        "launcher": ", ".join(launchers) or "basic",
        "n_runs": len(group), "n_ok": len(ok), "n_excluded": len(group) - len(ok),
        "excluded": _excluded_text(group), "n_repeats": repeats,
        "timing_note": f"timed under a parallel launcher ({', '.join(shared)})" if shared else "",
    }
    for key, value in stats.describe_time(ok["fit_seconds"]).items():
        row[f"fit_seconds_{key}"] = value
    # each ok run's fit time, by seed: a speed verdict between two rows (harness.reporting.peers)
    # tests the runs, not just the medians
    row["fit_seconds_runs"] = tuple(float(v) for v in stats.finite(ok.sort_values("seed")["fit_seconds"]))
    row["first_epoch_seconds_median"] = stats.describe_time(ok["first_epoch_seconds"])["median"]
    row["predict_seconds_median"] = stats.describe_time(ok["predict_seconds"])["median"]
    for name, column in MEAN_METRICS.items():
        for key, value in stats.describe_mean(ok[column], within=stats.range_of(column)).items():
            row[f"{name}_{key}"] = value
    row["predicted_positives_mean"] = stats.describe_mean(ok["predicted_positives"])["mean"]
    actual = stats.finite(ok["actual_positives"])
    row["actual_positives"] = float(actual[0]) if actual.size else math.nan
    row.update(throughput(group, ok, row["fit_seconds_median"]))
    return row


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per experiment, implementation, backend (and swept value), with the Keras comparison."""
    frame = prepare(runs)
    keys = GROUP_KEYS + swept_params(frame)
    frame["repeat"] = repeated_runs(frame, keys)
    rows, groups = [], {}
    for key, group in frame.groupby(keys, dropna=False, sort=True):
        groups[key] = group[~group["repeat"]]
        rows.append({**dict(zip(keys, key)), **_group_row(groups[key], int(group["repeat"].sum()))})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    comparison = [_compare_to_reference(key, groups, keys) for key in groups]
    return pd.concat([table, pd.DataFrame(comparison)], axis=1)


def _same(a: Any, b: Any) -> bool:
    """Equality that treats two missing values as equal (group keys may be None/NaN)."""
    return (pd.isna(a) and pd.isna(b)) if (pd.isna(a) or pd.isna(b)) else a == b


def _reference_group(key: tuple, groups: dict[tuple, pd.DataFrame], keys: list[str]) -> pd.DataFrame | None:
    """The Keras group of the same experiment, matched on swept values that Keras also varies."""
    values = dict(zip(keys, key))
    candidates = [k for k in groups if _same(dict(zip(keys, k))["impl"], REFERENCE_IMPL)
                  and _same(dict(zip(keys, k))["experiment"], values["experiment"])
                  and _same(dict(zip(keys, k))["dataset"], values["dataset"])]
    for column in keys[len(GROUP_KEYS):]:
        if column == "algorithm":  # match on the components Keras varies, as for any swept setting
            candidates = _same_components(key, candidates, groups)
        elif len({str(dict(zip(keys, k))[column]) for k in candidates}) > 1:
            candidates = [k for k in candidates if _same(dict(zip(keys, k))[column], values[column])]
    return groups[candidates[0]] if len(candidates) == 1 else None


def _same_components(key: tuple, candidates: list[tuple], groups: dict[tuple, pd.DataFrame]) -> list[tuple]:
    """The Keras groups that share `key`'s value of each algorithm setting the Keras groups vary."""
    def value(k: tuple, column: str) -> str:
        frame = groups[k]
        return str(frame[column].iloc[0]) if column in frame and len(frame) else ""
    for column in sorted(algorithm.KEYS):
        if len({value(k, column) for k in candidates}) > 1:
            candidates = [k for k in candidates if value(k, column) == value(key, column)]
    return candidates


def _compare_to_reference(key: tuple, groups: dict[tuple, pd.DataFrame], keys: list[str]) -> dict[str, Any]:
    """Speed ratio (median fit time / Keras's) and accuracy difference to Keras with its test."""
    empty = {"time_ratio_vs_keras": math.nan, "time_ratio_ci_low": math.nan,
             "time_ratio_ci_high": math.nan, "flops_ratio_vs_keras": math.nan, "accuracy_diff_vs_keras": math.nan,
             "accuracy_p_value": math.nan, "accuracy_test": "", "accuracy_significant": None}
    if dict(zip(keys, key))["impl"] == REFERENCE_IMPL:
        return {**empty, "accuracy_test": "reference"}
    reference = _reference_group(key, groups, keys)
    if reference is None:
        return empty
    mine, theirs = groups[key][groups[key]["ok"]], reference[reference["ok"]]
    ratio, low, high = stats.ratio_of_medians_ci(mine["fit_seconds"], theirs["fit_seconds"])
    test = stats.compare_means(mine["test_accuracy"], theirs["test_accuracy"])
    # Work per run can differ (the article's sampler draws one batch per epoch, Keras sees all
    # the data): the FLOPs ratio says how much of a time ratio is less work rather than speed.
    flops = stats.ratio_of_medians_ci(mine["flops"], theirs["flops"], n_resamples=1)[0]
    return {"time_ratio_vs_keras": ratio, "time_ratio_ci_low": low, "time_ratio_ci_high": high,
            "flops_ratio_vs_keras": flops, "accuracy_diff_vs_keras": test.difference, "accuracy_p_value": test.p_value,
            "accuracy_test": test.test, "accuracy_significant": test.significant}


def setting_columns(summary: pd.DataFrame) -> list[str]:
    """The swept settings of a summary: its group keys (the columns before the statistics) after
    GROUP_KEYS, also when the summary was read back from summary.csv."""
    if FIRST_STATISTIC not in summary.columns:
        return []
    return [c for c in summary.columns[:summary.columns.get_loc(FIRST_STATISTIC)] if c not in GROUP_KEYS]


def mean_with_ci(summary: pd.DataFrame, name: str, digits: int = 4) -> list[str]:
    """``mean_text`` per row: a mean of seeds means little without its t-interval."""
    return [mean_text(*values, digits) for values in
            zip(summary[f"{name}_mean"], summary[f"{name}_ci_low"], summary[f"{name}_ci_high"])]


def display_table(summary: pd.DataFrame, swept: list[str] | None = None) -> pd.DataFrame:
    """Compact text columns for the terminal and the page (numbers with their spread)."""
    if swept is None:
        swept = [c for c in setting_columns(summary) if summary[c].nunique(dropna=True) > 1]
    out = pd.DataFrame({"impl": summary["impl"], "backend": summary["backend"].map(fmt)})
    if summary["dataset"].nunique(dropna=False) > 1:
        out.insert(0, "dataset", summary["dataset"].map(fmt))
    for column in swept:
        out[column] = summary[column].map(fmt)
    out["runs ok/all"] = [f"{a}/{b}" for a, b in zip(summary["n_ok"], summary["n_runs"])]
    out["fit s median [IQR]"] = [fmt(m) if n < 2 else f"{fmt(m)} [{fmt(i, 2)}]" for m, i, n in
                                 zip(summary["fit_seconds_median"], summary["fit_seconds_iqr"], summary["n_ok"])]
    for name, header in (("accuracy", "accuracy"), ("misclassified", "misclassified"),
                         ("article_error", "article error (signed)")):
        if summary[f"{name}_mean"].notna().any():
            out[f"{header} mean [95% CI]"] = mean_with_ci(summary, name)
    if summary["fitted_w_mean"].notna().any():
        out["fitted w, b"] = [f"{fmt(w, 6)}, {fmt(b, 4)}" for w, b in
                              zip(summary["fitted_w_mean"], summary["fitted_b_mean"])]
    if summary["gflops_per_s"].notna().any():
        rates = summary["gflops_per_s"].map(fmt)
        statuses = summary["rate_status"] if "rate_status" in summary else ["measured"] * len(summary)
        out["GFLOP/s (of best matmul rate)"] = [rate_text(g, f, s) for g, f, s in zip(rates, summary["fraction_of_peak"], statuses)]
    if summary["peak_memory_mb_median"].notna().any():
        out["peak MB"] = summary["peak_memory_mb_median"].map(fmt)
    if summary["time_ratio_vs_keras"].notna().any():
        out["time / keras [95% CI]"] = [fmt(r) if pd.isna(lo) or pd.isna(hi) else
                                        f"{fmt(r)} [{ratio_bound_text(lo)}, {ratio_bound_text(hi)}]"
                                        for r, lo, hi in zip(summary["time_ratio_vs_keras"],
                                                             summary["time_ratio_ci_low"],
                                                             summary["time_ratio_ci_high"])]
        out["accuracy vs keras: p (test)"] = [
            "reference" if t == "reference" else (f"{stats.p_text(p) if pd.notna(p) else '—'} ({t})" if t else "—")
            for p, t in zip(summary["accuracy_p_value"], summary["accuracy_test"])]
    if summary["n_excluded"].gt(0).any():
        out["excluded"] = summary["excluded"]
    if "n_repeats" in summary and summary["n_repeats"].gt(0).any():
        out["repeats left out"] = summary["n_repeats"]
    return out


def terminal_text(summary: pd.DataFrame) -> str:
    """The summary as plain text, one block per experiment, as printed at the end of a run."""
    if summary.empty:
        return "no runs recorded"
    blocks = []
    for experiment, part in summary.groupby("experiment", sort=True, dropna=False):
        blocks.append(f"== {experiment} ==\n{display_table(part).to_string(index=False)}")
    return "\n\n".join(blocks)


def write_tables(summary: pd.DataFrame, folder: str | Path) -> list[Path]:
    """summary.csv (every statistic) beside the runs, written atomically."""
    path = Path(folder) / "summary.csv"
    atomic_write_text(path, summary.to_csv(index=False))
    return [path]
