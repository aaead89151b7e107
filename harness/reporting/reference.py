"""The article's published numbers beside ours, with a tolerance and a verdict for each.

Verdicts: "reproduced" (our value within the tolerance of the article's value or range),
"better" / "worse" (outside it, in the entry's direction), "differs" (outside it, no direction,
e.g. a fitted parameter), "not comparable" (hardware-bound numbers, another setup or backend;
the reason says which), "not measured" (no successful runs yet).

An entry's `config` includes the training algorithm where it made the article's number (its
sampler, Adam variant and epsilon, backprop order): a run of Keras's algorithm is another
experiment, never evidence that the article's number was reproduced or beaten.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.reporting import settings, stats
from harness.reporting.tables import fmt, prepare

DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / "results" / "reference" / "article.yaml"
VERDICTS = ("reproduced", "better", "worse", "differs", "not comparable", "not measured")
TIME_MEASURES = ("fit_seconds_median", "time_ratio_vs_keras", "numpy_over_cupy")


def load_reference(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The article's numbers (results/reference/article.yaml unless `path` is given)."""
    path = Path(path) if path is not None else DEFAULT_REFERENCE
    if not path.is_file():
        raise ValueError(f"reference numbers not found at {path}: restore results/reference/article.yaml from git")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("numbers"), list):
        raise ValueError(f"{path} has no 'numbers' list: see the field description at the top of the file")
    return data


def _ok_runs(entry: dict[str, Any], runs: pd.DataFrame, experiment: str,
             backend: str | None = None) -> pd.DataFrame:
    """The experiment's ok runs of the entry's impl and backend (`backend` overrides the entry's)."""
    mine = runs[(runs["experiment"] == experiment) & runs["ok"]]
    if entry.get("impl"):
        mine = mine[mine["impl"] == entry["impl"]]
    backend = backend or entry.get("backend")
    return mine[mine["backend"] == backend] if backend else mine


def _matching_rows(entry: dict[str, Any], summary: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Summary rows of the first listed experiment with ok runs of the entry's impl/backend whose
    setup is the article's; else of the first with such runs (then judged "not comparable"), so a
    run of another algorithm never stands in for the article's when a matching one exists."""
    found = []
    for experiment in entry.get("experiments", []):
        rows = summary[(summary["experiment"] == experiment) & (summary["n_ok"] > 0)]
        if entry.get("impl"):
            rows = rows[rows["impl"] == entry["impl"]]
        if entry.get("backend"):
            rows = rows[rows["backend"] == entry["backend"]]
        if len(rows) and _is_articles_setup(entry, _ok_runs(entry, runs, experiment)):
            return rows
        if len(rows):
            found.append(rows)
    return found[0] if found else summary.iloc[0:0]


def _article_text(entry: dict[str, Any]) -> str:
    unit = f" {entry['unit']}" if entry.get("unit") and entry["unit"] != "ratio" else ""
    if "range" in entry:
        low, high = entry["range"]
        return f"{low:g}–{high:g}{unit}"
    return f"{entry['value']:g}{unit}"


def _tolerance(entry: dict[str, Any]) -> tuple[float, str]:
    """Absolute tolerance and how to show it."""
    low, high = entry.get("range", [entry.get("value"), entry.get("value")])
    if "tolerance_rel" in entry:
        rel = float(entry["tolerance_rel"])
        return rel * max(abs(low), abs(high)), f"±{rel:.0%}"
    tol = float(entry.get("tolerance", 0.0))
    return tol, f"±{tol:g}"


def _config_mismatch(entry: dict[str, Any], mine: pd.DataFrame, field: str = "config") -> str:
    """'epochs=20 (article: 1000)' for each setting of `entry[field]` where the runs `mine` differ
    from the article's, or do not say which they used (the article's algorithm is never assumed)."""
    problems = []
    for key, wanted in (entry.get(field) or {}).items():
        values = _setting_values(mine, key)
        differing = sorted(_show(v) for v in values if not _equal(v, wanted))
        if differing:
            problems.append(f"{key}={', '.join(differing)} (article: {_show(wanted)})")
        elif not values and len(mine):
            problems.append(f"{key} not recorded (article: {_show(wanted)})")
    return "; ".join(problems)


def _is_articles_setup(entry: dict[str, Any], mine: pd.DataFrame) -> bool:
    """Whether the runs used the article's settings and algorithm (`config` and `variant`)."""
    return not (_config_mismatch(entry, mine) or _config_mismatch(entry, mine, field="variant"))


def _setting_values(mine: pd.DataFrame, key: str) -> set[Any]:
    """The values of a setting in the runs: a record field (or a column `prepare` added because it
    varies), else read from each run folder's config.yaml (model.backprop, model.adam_variant...)."""
    if key in mine:
        return set(mine[key].dropna().unique())
    folders = mine["run_dir"].dropna().unique() if "run_dir" in mine else []
    found = (settings.folder_settings(str(folder)).get(key) for folder in folders)
    return {value for value in found if value is not None}


def _show(value: Any) -> str:
    """20.0 -> '20' (record fields read back as floats)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _equal(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
        try:
            return math.isclose(float(ours), float(theirs), rel_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return str(ours) == str(theirs)


def _measure(entry: dict[str, Any], rows: pd.DataFrame, runs: pd.DataFrame) -> tuple[float, str]:
    """Our value for the entry and its text (with spread and n)."""
    measure, row = entry["measure"], rows.iloc[0]
    n = int(row["n_ok"])
    if measure == "numpy_over_cupy":
        return _numpy_over_cupy(entry, runs)
    if measure == "fit_seconds_median":
        value = row["fit_seconds_median"]
        return value, f"{fmt(value)} s median (IQR {fmt(row['fit_seconds_iqr'], 2)}, n={n})"
    if measure == "time_ratio_vs_keras":
        value = row["time_ratio_vs_keras"]
        return value, f"{fmt(value)}{_ci(row['time_ratio_ci_low'], row['time_ratio_ci_high'], 3)} (n={n})"
    base = measure.removesuffix("_mean")
    value = row[measure]
    low, high = row.get(f"{base}_ci_low", math.nan), row.get(f"{base}_ci_high", math.nan)
    return value, f"{fmt(value, 4)}{_ci(low, high, 4)} (n={n})"


def _ci(low: float, high: float, digits: int) -> str:
    """' [95% CI a, b]', or nothing when there is no interval (a single run)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f" [95% CI {fmt(low, digits)}, {fmt(high, digits)}]"


def _numpy_over_cupy(entry: dict[str, Any], runs: pd.DataFrame) -> tuple[float, str]:
    """NumPy median fit time over CuPy's for the entry's impl; each side from the first listed
    experiment whose setup is the article's, else the first with runs on that backend."""
    def times(backend: str) -> pd.Series:
        found = [mine for experiment in entry.get("experiments", [])
                 if len(mine := _ok_runs(entry, runs, experiment, backend))]
        same = [mine for mine in found if _is_articles_setup(entry, mine)]
        return (same or found)[0]["fit_seconds"] if found else pd.Series(dtype=float)
    ratio, low, high = stats.ratio_of_medians_ci(times("numpy"), times("cupy"))
    return ratio, f"{fmt(ratio)}{_ci(low, high, 3)}"


def _verdict(entry: dict[str, Any], ours: float) -> tuple[str, str]:
    """Verdict and its reason for a comparable number."""
    low, high = entry.get("range", [entry.get("value"), entry.get("value")])
    tol, tol_text = _tolerance(entry)
    distance = 0.0 if low <= ours <= high else min(abs(ours - low), abs(ours - high))
    if distance <= tol:
        return "reproduced", f"within {tol_text} of the article's value"
    better = entry.get("better", "none")
    if better == "none":
        return "differs", f"outside {tol_text} of the article's value"
    if better == "closer_to_zero":
        is_better = abs(ours) < min(abs(low), abs(high))
    else:
        is_better = (ours < low) if better == "lower" else (ours > high)
    direction = "lower" if ours < low else "higher"
    return ("better" if is_better else "worse"), f"{direction} than the article's value by more than {tol_text}"


def compare_entry(entry: dict[str, Any], summary: pd.DataFrame, runs: pd.DataFrame) -> dict[str, Any]:
    """One row of the reproduction table."""
    out = {"id": entry["id"], "figure": entry.get("figure", ""), "quantity": entry.get("quantity", ""),
           "article": _article_text(entry), "tolerance": _tolerance(entry)[1], "experiment": "",
           "ours": "—", "ours_value": math.nan, "note": entry.get("note", "")}
    rows = _matching_rows(entry, summary, runs) if not summary.empty else summary
    if rows.empty:
        return {**out, "verdict": "not measured", "reason": _unmeasured_reason(entry, summary)}
    out["experiment"] = experiment = str(rows.iloc[0]["experiment"])
    ours, text = _measure(entry, rows, runs)
    note = _variant_note(entry, _ok_runs(entry, runs, experiment), _work_note(entry, rows.iloc[0], out["note"]))
    out.update(ours=text, ours_value=ours, note=note)
    if ours is None or not math.isfinite(ours):
        return {**out, "ours": "—", "verdict": "not measured", "reason": _missing_reason(entry)}
    reason = _blocking_reason(entry, rows, runs, experiment)
    if reason:
        return {**out, "verdict": "not comparable", "reason": reason}
    verdict, why = _verdict(entry, float(ours))
    return {**out, "verdict": verdict, "reason": why}


def _work_note(entry: dict[str, Any], row: pd.Series, note: str) -> str:
    """For a time ratio: say when the two implementations did different amounts of work."""
    flops = row.get("flops_ratio_vs_keras", math.nan)
    if entry["measure"] != "time_ratio_vs_keras" or flops is None or not math.isfinite(flops) \
            or abs(flops - 1) < 0.01:
        return note
    extra = (f"per run, {row['impl']} computed {fmt(flops)}x the matrix FLOPs of keras (their samples per "
             "epoch differ), so the time ratio also reflects the work done")
    return f"{note}; {extra}" if note else extra


def _variant_note(entry: dict[str, Any], mine: pd.DataFrame, note: str) -> str:
    """Name the algorithm settings (`variant`) where our runs differ from the article's: they change
    what a step computes, not how much, so a time is still judged, but the reader should know."""
    mismatch = _config_mismatch(entry, mine, field="variant")
    if not mismatch:
        return note
    extra = f"the article timed its own algorithm; ours differs: {mismatch}"
    return f"{note}; {extra}" if note else extra


def _unmeasured_reason(entry: dict[str, Any], summary: pd.DataFrame) -> str:
    """Why no row matched: no runs of the experiments at all, or none of the entry's impl or backend."""
    wanted = " or ".join(entry.get("experiments", []))
    ran = summary[summary["experiment"].isin(entry.get("experiments", [])) & (summary["n_ok"] > 0)] \
        if not summary.empty else summary
    impl, backend = entry.get("impl"), entry.get("backend")
    if ran.empty:
        return f"no successful runs of {wanted} yet"
    if impl and not ran["impl"].eq(impl).any():
        return f"no successful {impl} runs yet (the runs of {wanted} are of {_listed(ran['impl'])})"
    ran = ran[ran["impl"] == impl] if impl else ran
    return f"no successful runs on the {backend} backend yet (the runs of {wanted} used {_listed(ran['backend'])})"


def _listed(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values.dropna()}))


def _missing_reason(entry: dict[str, Any]) -> str:
    if entry["measure"] == "numpy_over_cupy":
        return "needs successful runs on both the numpy and the cupy backend"
    if entry["measure"] == "time_ratio_vs_keras":
        return "needs successful keras runs in the same experiment"
    return "the runs did not record this value"


def _blocking_reason(entry: dict[str, Any], rows: pd.DataFrame, runs: pd.DataFrame, experiment: str) -> str:
    """Why a number cannot be judged (hardware, setup, backend, launcher, sweep); '' when it can."""
    if len(rows) > 1:
        return "the latest runs hold several configurations (a sweep); see the sweep table"
    mismatch = _config_mismatch(entry, _ok_runs(entry, runs, experiment))
    if mismatch:
        return f"our setup differs: {mismatch}"
    if entry.get("comparable") is False:
        return entry.get("reason", "depends on the article's hardware")
    required, backend = entry.get("backend_required"), rows.iloc[0]["backend"]
    if required and backend != required:
        return f"the article timed the {required} backend; our runs used {backend}"
    if entry["measure"] in TIME_MEASURES and rows.iloc[0]["timing_note"]:
        return str(rows.iloc[0]["timing_note"])
    return ""


def reproduction_table(summary: pd.DataFrame, runs: pd.DataFrame,
                       reference: dict[str, Any]) -> pd.DataFrame:
    """Every number the article published, our measurement, the tolerance and a verdict."""
    prepared = prepare(runs) if not runs.empty else runs.assign(ok=pd.Series(dtype=bool))
    rows = [compare_entry(entry, summary, prepared) for entry in reference["numbers"]]
    columns = ["id", "figure", "quantity", "article", "ours", "tolerance", "verdict", "reason",
               "experiment", "note", "ours_value"]
    return pd.DataFrame(rows, columns=columns)
