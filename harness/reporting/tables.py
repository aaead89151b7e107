"""Summary tables made from run records alone: one row per experiment, implementation and backend.

Time is summarised by median and spread (one slow warm-up run should not move it), error by mean
with its t-interval (MLPerf-style: every seed reported, none picked). Runs whose status is
not "ok" are counted and named but left out of every statistic. Speed is also given as work per
second (the record's matmul `flops` over the median fit time) and as a fraction of the machine's
float32 matmul rate, measured by the harness into each run folder's environment.json (and a resumed
process's environment-<time>-<pid>.json beside it).

A row holds the runs of one setting: every setting that differs between the runs summarised is a
group key, whether the records hold it (SWEEPABLE) or only the run folders' config.yaml
(harness.reporting.settings). Within a row each seed counts once: jobs of a sweep over a value an
implementation does not use (scikit-learn and Keras always shuffle, whatever `sampling` says) run
it identically, and counting those repeats would treat one run as several independent ones. The
latest finished is kept; `n_repeats` says how many were left out.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import algorithm
from harness.machine import SPEED_CHANGE_LIMIT, RateSpread, disturbed, speed_changed, worst_spread
from harness.atomic_write import atomic_write_text
from harness.records import SHARED_CPU_LAUNCHERS
from harness.runs_table import is_ok
from harness.run_settings import MACHINE_PREFIX, MACHINE_RATES, RATE_STATUSES
from harness.reporting import settings, stats
from harness.reporting.batches import read_environments

REFERENCE_IMPL = "keras"
# dataset is a key because one experiment (smoke) may run several data sets as jobs of a sweep.
GROUP_KEYS = ["experiment", "dataset", "impl", "backend"]
NUMERIC_FIELDS = ("seed", "learning_rate", "batch_size", "epochs", "l1", "l2", "n_train", "n_test",
                  "fit_seconds", "first_epoch_seconds", "predict_seconds", "test_loss",
                  "test_accuracy", "test_misclassified", "predicted_positives", "actual_positives",
                  "article_error", "fitted_w", "fitted_b", "flops", "peak_memory_mb", "diverged_epoch")
# Record fields that can differ between the jobs of a sweep; a varying one becomes a group key
# (settings only in config.yaml are found by harness.reporting.settings).
SWEEPABLE = ("learning_rate", "batch_size", "epochs", "sampling", "optimizer", "initializer",
             "dtype", "l1", "l2", "layers", "activations", "loss", "variant")
MEAN_METRICS = {"misclassified": "test_misclassified", "accuracy": "test_accuracy",
                "article_error": "article_error", "final_loss": "final_loss",
                "fitted_w": "fitted_w", "fitted_b": "fitted_b"}
# Backends whose runs are judged against the GPU's matmul rate rather than the CPU's.
GPU_BACKENDS = ("cupy", "torch-cuda")
# The first statistic of a summary row: the columns before it are the row's group keys.
FIRST_STATISTIC = "device"


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
    row.update(_throughput(group, ok, row["fit_seconds_median"]))
    return row


def _folder_environments(runs: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Each run folder of ``runs`` with every process's environment written there, read once."""
    if "run_dir" not in runs:
        return {}
    return {folder: read_environments(folder) for folder in runs["run_dir"].dropna().unique()}


def _machine_gflops(group: pd.DataFrame, environments: dict[str, list[dict[str, Any]]]) -> float:
    """The float32 matmul rate (GFLOP/s) of the machine a float32 group ran on, from its run folders'
    environments (the GPU's for GPU backends); the median when a sweep's folders differ."""
    keys = None if "run_dir" not in group else _rate_keys(group)
    if keys is None:
        return math.nan  # no folders, or float64 (only the float32 rate is measured: no fraction)
    rates = [_folder_rate(keys[0], group[group["run_dir"] == folder]["settings"], found)
             for folder, found in environments.items()]
    rates = stats.finite(rates)
    return float(np.median(rates)) if rates.size else math.nan


def _rate_keys(group: pd.DataFrame) -> tuple[str, str] | None:
    """The (rate, status) keys a group is judged by: the GPU's for a GPU backend, else the CPU's;
    None for float64 groups (only the float32 rate is measured)."""
    if not group["dtype"].fillna("float32").eq("float32").all():
        return None
    gpu = group["backend"].isin(GPU_BACKENDS).any()
    return (MACHINE_RATES[1], RATE_STATUSES[1]) if gpu else (MACHINE_RATES[0], RATE_STATUSES[0])


def _rate_status(group: pd.DataFrame) -> str:
    """Why a group has no machine rate: "float64" (only float32 is measured), its records' status of
    the CPU's or, for a GPU backend, the GPU's rate ("skipped (...)", "failed (...)", "not
    measured (...)"), "no run folder to read it from" when they say measured, or "not recorded" for
    records older than the status."""
    keys = _rate_keys(group)
    if keys is None:
        return "float64"
    found = {s.get(MACHINE_PREFIX + keys[1]) for s in group["settings"] if isinstance(s, dict)}
    found = {status for status in found if isinstance(status, str)}
    if found - {"measured"}:
        return "; ".join(sorted(found - {"measured"}))
    return "no run folder to read it from" if found else "not recorded"


def _folder_rate(key: str, carried: pd.Series, environments: list[dict[str, Any]]) -> float | None:
    """A run folder's rate: the best of what its records carry (measured before the runs) and its
    environments (also measured after them; a resume's process writes its own), either alone when
    the other is missing."""
    found = [s.get(MACHINE_PREFIX + key) for s in carried if isinstance(s, dict)]
    found += [environment.get(key) for environment in environments]
    rates = stats.finite(found)
    return float(rates.max()) if rates.size else None


def machine_spread(runs: pd.DataFrame) -> RateSpread | None:
    """The widest spread of the CPU's rate measurements (harness.machine.worst_spread) among the run
    folders of ``runs``, each process's environment apart: how far the machine's speed may have
    moved while they were timed."""
    return _spread(_folder_environments(runs))


def changed_spread(runs: pd.DataFrame) -> RateSpread | None:
    """``machine_spread`` where it shows the machine's speed changed (harness.machine.speed_changed,
    the one rule for the section's sentence and the reproduction table's caveat), else None."""
    spread = machine_spread(runs)
    return spread if spread is not None and speed_changed(spread) else None


def _spread(environments: dict[str, list[dict[str, Any]]]) -> RateSpread | None:
    return worst_spread([environment.get("matmul_rate") for found in environments.values() for environment in found])


def _throughput(group: pd.DataFrame, ok: pd.DataFrame, fit_median: float) -> dict[str, float]:
    """Matmul work per second of the median fit, its fraction of the machine's rate, how steady the
    CPU's rate was (``cpu_rate_stability``: slowest over fastest measurement, 1 steady), peak memory."""
    flops = stats.finite(ok["flops"])
    gflops = float(np.median(flops)) / fit_median / 1e9 if flops.size and fit_median > 0 else math.nan
    environments = _folder_environments(group)
    machine = _machine_gflops(group, environments)
    spread = _spread(environments)
    return {"flops_median": float(np.median(flops)) if flops.size else math.nan, "gflops_per_s": gflops,
            "machine_gflops_per_s": machine, "rate_status": _rate_status(group) if math.isnan(machine) else "measured",
            "fraction_of_peak": gflops / machine if machine > 0 else math.nan,
            "cpu_rate_stability": spread.ratio if spread is not None else math.nan,
            "peak_memory_mb_median": stats.describe_time(ok["peak_memory_mb"])["median"]}


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


def fmt(value: Any, digits: int = 3) -> str:
    """A number with `digits` significant digits, except that a large one that would print as
    1.63e+03, below a million, is written out whole (1634); '—' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if not isinstance(value, (float, np.floating)):
        return str(value)
    text = f"{value:.{digits}g}"
    return f"{value:.0f}" if "e+" in text and abs(value) < 1e6 else text  # 1634, not 1.63e+03


def ratio_bound_text(bound: float) -> str:
    """A ratio's interval bound with 3 significant digits, more when 3 would round it onto 1
    (0.9996 -> '0.9996', not '1'), so the printed interval shows the side of 1 it lies on."""
    for digits in range(3, 8):
        text = fmt(bound, digits)
        if float(text) != 1.0 or bound == 1.0:
            return text
    return fmt(bound, 8)


def setting_columns(summary: pd.DataFrame) -> list[str]:
    """The swept settings of a summary: its group keys (the columns before the statistics) after
    GROUP_KEYS, also when the summary was read back from summary.csv."""
    if FIRST_STATISTIC not in summary.columns:
        return []
    return [c for c in summary.columns[:summary.columns.get_loc(FIRST_STATISTIC)] if c not in GROUP_KEYS]


def mean_text(mean: float, low: float, high: float, digits: int = 4) -> str:
    """'0.7812 [0.77, 0.791]': a mean of seeds with its interval; just the mean where there is no
    interval (a single run), '—' without a value."""
    if pd.isna(mean) or pd.isna(low) or pd.isna(high):
        return fmt(mean, digits)
    return f"{fmt(mean, digits)} [{fmt(low, digits)}, {fmt(high, digits)}]"


def mean_with_ci(summary: pd.DataFrame, name: str, digits: int = 4) -> list[str]:
    """``mean_text`` per row: a mean of seeds means little without its t-interval."""
    return [mean_text(*values, digits) for values in
            zip(summary[f"{name}_mean"], summary[f"{name}_ci_low"], summary[f"{name}_ci_high"])]


def changed_rate(spread: RateSpread) -> str:
    """The two measurements of a speed change, in the order taken: 'the CPU's float32 matmul rate
    measured 338 GFLOP/s before these runs and 156 after them at 2 BLAS threads (the slower is 46%
    of the faster; flagged below 75%)'."""
    first, second = sorted((spread.slowest, spread.fastest), key=lambda m: m.when != "before")
    threads = f"{spread.threads} BLAS thread{'s' if spread.threads != 1 else ''}"
    percent = math.floor(round(100 * spread.ratio, 9))  # 58 of 100 is 58%, not 57.99...
    return (f"the CPU's float32 matmul rate measured {fmt(float(first.gflops))} GFLOP/s {first.when} these runs "
            f"and {fmt(float(second.gflops))} {second.when} them at {threads} (the slower is {percent}% of the "
            f"faster; flagged below {100 * SPEED_CHANGE_LIMIT:.0f}%)")


def rate_text(gflops: str, fraction: float, status: str = "measured") -> str:
    """'120 (62%)'; a fraction over the measured rate is flagged as a disturbed measurement, not
    shown; without a rate, why (the rate's status: skipped, failed, float64)."""
    if pd.isna(fraction):
        known = isinstance(status, str) and status != "measured"  # a summary read back from CSV may hold NaN
        return f"{gflops} (no matmul rate: {status})" if known and gflops != "—" else gflops
    if disturbed(fraction):
        return f"{gflops} (above the measured matmul rate: disturbed measurement, no fraction)"
    return f"{gflops} ({fmt(100 * fraction)}%)"


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
        out["GFLOP/s (of matmul peak)"] = [rate_text(g, f, s) for g, f, s in zip(rates, summary["fraction_of_peak"], statuses)]
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
