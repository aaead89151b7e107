"""The article's published numbers beside ours, with a tolerance and a verdict for each.

Verdicts: "reproduced" (our value within the tolerance of the article's value or range),
"better" / "worse" (outside it, in the entry's direction), "differs" (outside it, no direction,
e.g. a fitted parameter), "not comparable" (hardware-bound numbers, another setup or backend;
the reason says which), "not measured" (no successful runs yet).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.reporting import stats
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


def _matching_rows(entry: dict[str, Any], summary: pd.DataFrame) -> pd.DataFrame:
    """Summary rows of the first listed experiment that has ok runs of the entry's impl/backend."""
    for experiment in entry.get("experiments", []):
        rows = summary[(summary["experiment"] == experiment) & (summary["n_ok"] > 0)]
        if entry.get("impl"):
            rows = rows[rows["impl"] == entry["impl"]]
        if entry.get("backend"):
            rows = rows[rows["backend"] == entry["backend"]]
        if len(rows):
            return rows
    return summary.iloc[0:0]


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


def _config_mismatch(entry: dict[str, Any], runs: pd.DataFrame, experiment: str) -> str:
    """'epochs 20 (article 1000)' for each setting where our runs differ from the article's."""
    mine = runs[(runs["experiment"] == experiment) & runs["ok"]]
    if entry.get("impl"):
        mine = mine[mine["impl"] == entry["impl"]]
    problems = []
    for key, wanted in (entry.get("config") or {}).items():
        values = {v for v in mine[key].dropna().unique()} if key in mine else set()
        differing = sorted(_show(v) for v in values if not _equal(v, wanted))
        if differing:
            problems.append(f"{key} {', '.join(differing)} (article {wanted})")
    return "; ".join(problems)


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
    """NumPy median fit time over CuPy's for the entry's impl, from the listed experiments."""
    def times(backend: str) -> pd.Series:
        for experiment in entry.get("experiments", []):
            mine = runs[(runs["experiment"] == experiment) & runs["ok"] & (runs["backend"] == backend)
                        & (runs["impl"] == entry.get("impl", "mlp"))]
            if len(mine):
                return mine["fit_seconds"]
        return pd.Series(dtype=float)
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
    rows = _matching_rows(entry, summary) if not summary.empty else summary
    if rows.empty:
        wanted = " or ".join(entry.get("experiments", []))
        return {**out, "verdict": "not measured", "reason": f"no successful runs of {wanted} yet"}
    out["experiment"] = experiment = str(rows.iloc[0]["experiment"])
    ours, text = _measure(entry, rows, runs)
    out.update(ours=text, ours_value=ours, note=_work_note(entry, rows.iloc[0], out["note"]))
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
    mismatch = _config_mismatch(entry, runs, experiment)
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
