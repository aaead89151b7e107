"""The reproduction table: the article's published numbers beside ours, each with a statistical
verdict (harness.reporting.verdicts).

Verdicts: "consistent" (no significant difference at p < 0.05), "better" / "worse" (a significant
difference, in the entry's direction), "differs" (significant, no direction, e.g. a fitted
parameter), "too few runs (n=2)", "untested" (every run the same: no spread, so no test), "not shown below" (a
bound inside our interval: no verdict),
"not comparable" (hardware-bound numbers, another setup,
algorithm or backend; the reason says which), "not measured" (no successful runs yet).

The numbers come from harness.reporting.article_numbers, what each measures in our runs from
harness.reporting.claim_measures, and which runs judge it, or why none can, from
harness.reporting.comparable_runs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import stats, verdicts
from harness.reporting.claim_measures import GAPS, PER_RUN, TIME_MEASURES, gap_measure, run_values
from harness.reporting.comparable_runs import blocking_reason, ok_runs, select_runs, unmeasured_reason
from harness.reporting.machine_rate import changed_rate, changed_spread
from harness.reporting.number_text import fmt
from harness.reporting.prepared_runs import prepare, repeated_runs

VERDICTS = (*verdicts.JUDGED, verdicts.TOO_FEW, verdicts.UNTESTED, verdicts.NOT_SHOWN,
            "not comparable", "not measured")
COLUMNS = ["id", "figure", "quantity", "article", "ours", "test", "p_value", "verdict", "reason",
           "experiment", "note", "ours_value"]


def reproduction_table(summary: pd.DataFrame, runs: pd.DataFrame,
                       reference: dict[str, Any]) -> pd.DataFrame:
    """Every number the article published, our measurement, the test and a verdict."""
    prepared = prepare(runs) if not runs.empty else runs.assign(ok=pd.Series(dtype=bool))
    rows = [compare_entry(entry, summary, prepared) for entry in reference["numbers"]]
    return pd.DataFrame(rows, columns=COLUMNS)


def compare_entry(entry: dict[str, Any], summary: pd.DataFrame, runs: pd.DataFrame) -> dict[str, Any]:
    """One row of the reproduction table (`runs` prepared by prepared_runs.prepare; `summary` is unused
    but kept so callers need not change)."""
    out = {"id": entry["id"], "figure": entry.get("figure", ""), "quantity": entry.get("quantity", ""),
           "article": _article_text(entry), "test": "", "p_value": math.nan, "experiment": "",
           "ours": "—", "ours_value": math.nan, "note": _note(entry)}
    experiment, mine, not_comparable = select_runs(entry, runs)
    if mine.empty:
        return {**out, "verdict": "not measured", "reason": unmeasured_reason(entry, runs)}
    keras = ok_runs(entry, runs, experiment, impl="keras")
    reason = not_comparable or blocking_reason(entry, mine, keras)  # before _once: a sweep repeats seeds
    mine, keras = _once(mine), _once(keras)
    result, text = _judge(entry, mine, keras)
    if entry["measure"] == "numpy_over_cupy":
        times = {backend: _backend_times(entry, runs, backend) for backend in ("numpy", "cupy")}
        text = _numpy_over_cupy(times)
        missing = [backend for backend, found in times.items() if stats.finite(found).size == 0]
        if missing:
            return {**out, "experiment": experiment, "verdict": "not measured",
                    "reason": f"needs the {entry.get('impl')}'s fit times on both the numpy and the cupy backend; "
                              f"no successful {' or '.join(missing)} runs of "
                              f"{' or '.join(entry.get('experiments', []))} yet"}
    out.update(experiment=experiment, ours=text or "—", note=_work_note(entry, mine, keras, out["note"], comparable=not reason))
    if result is not None:
        out["ours_value"] = result.ours
    if reason:
        return {**out, "verdict": "not comparable", "reason": reason}
    if result is None:
        return {**out, "verdict": "not comparable", "reason": "a time is only judged as a ratio to Keras"}
    if result.n == 0 or not math.isfinite(result.ours):
        return {**out, "verdict": "not measured", "reason": "the runs did not record this value"}
    caveat = "" if result.verdict.startswith(verdicts.TOO_FEW) else _speed_caveat(entry, mine, keras, result)
    return {**out, "verdict": result.verdict, "reason": result.reason + caveat,
            "test": result.reason.split(":")[0], "p_value": result.p_value}


def _once(mine: pd.DataFrame) -> pd.DataFrame:
    """Each seed once (the latest run), as the summary table counts them."""
    return mine[~repeated_runs(mine, ["impl", "backend"])] if len(mine) else mine


def _article_text(entry: dict[str, Any]) -> str:
    unit = f" {entry['unit']}" if entry.get("unit") and entry["unit"] != "ratio" else ""
    n = entry.get("n")
    count = f"n={'+'.join(map(str, n))}" if isinstance(n, list) else (f"n={n}" if n else "")
    runs = f" ({count})" if count else ""
    if "bound" in entry:
        return f"below {entry['bound']:g}{unit}"
    if "range" in entry:
        low, high = entry["range"]
        read = entry.get("read_range")
        if "ratio_of" not in entry:  # typed: as typed
            return f"{low:g}–{high:g}{unit}{runs}"
        if not read:
            return f"{fmt(low)}–{fmt(high)}{unit}{runs}"
        within = f"{fmt(read[0])}–{fmt(read[1])} {verdicts.READ_OFF}"
        return f"{fmt(low)}–{fmt(high)}{unit} ({within}{'; ' + count if count else ''})"
    return f"{entry['value']:g}{unit}{runs}"


def _judge(entry: dict[str, Any], mine: pd.DataFrame, keras: pd.DataFrame) -> tuple[verdicts.Verdict | None, str]:
    """The verdict (None for a time, which is only shown) and the text of our value."""
    measure, better = entry["measure"], entry.get("better", "none")
    if "bound" in entry:
        result = verdicts.judge_bound(run_values(mine, PER_RUN[measure]), float(entry["bound"]), entry["bound_reason"],
                                      stats.range_of(PER_RUN[measure]))
        return result, _with_interval(result, "95% CI")
    if measure in PER_RUN:
        values, within = run_values(mine, PER_RUN[measure]), stats.range_of(PER_RUN[measure])
        if int(entry.get("n", 1)) > 1:
            result = verdicts.judge_mean(values, entry["value"], int(entry["n"]), better, within)
            return result, _with_interval(result, "95% CI") + _error_measures(mine, measure)
        result = verdicts.judge_single(values, entry["value"], better, within)
        return result, _with_interval(result, "95% PI, one run")
    if measure in GAPS:
        per_run = gap_measure(entry)
        a, b = per_run.values(mine), per_run.values(keras)
        result = verdicts.judge_gap(a, b, entry["value"], *entry["n"], better)
        return result, _with_interval(result, "95% CI", sized=False) + f" mlp − keras (n={a.size}, {b.size})"
    if measure == "time_ratio_vs_keras":
        ratio, low, high = stats.ratio_of_medians_ci(mine["fit_seconds"], keras["fit_seconds"])
        n = min(stats.finite(mine["fit_seconds"]).size, stats.finite(keras["fit_seconds"]).size)  # as speed_verdict
        published, read = _published_and_read(entry)
        result = verdicts.judge_range(ratio, low, high, published, better, n, read=read)
        return result, f"{fmt(ratio)}{_ci(low, high, 3)} (n={len(mine)}, {len(keras)})"
    if measure == "numpy_over_cupy":
        return None, ""  # filled in by compare_entry, which knows every backend's runs
    times = stats.describe_time(mine["fit_seconds"])
    return None, f"{fmt(times['median'])} s median (IQR {fmt(times['iqr'], 2)}, n={len(mine)})"


def _with_interval(result: verdicts.Verdict, name: str, sized: bool = True) -> str:
    """Our value with its interval and (``sized``) its sample size; a gap gives its two sizes itself."""
    return f"{fmt(result.ours, 4)}{_ci(result.low, result.high, 4, name)}" + (f" (n={result.n})" if sized else "")


def _error_measures(mine: pd.DataFrame, measure: str) -> str:
    """For the Titanic "error": mean |error| and misclassified beside the signed mean judged, as
    context (a signed mean near 0 may hide over- and under-predictions that cancel)."""
    if measure != "article_error_mean":
        return ""
    errors, missed = run_values(mine, "article_error"), run_values(mine, "test_misclassified")
    extra = f"; mean |error| {fmt(np.abs(errors).mean(), 4)}" if errors.size else ""
    return extra + (f"; misclassified {fmt(missed.mean(), 4)}" if missed.size else "")


def _ci(low: float, high: float, digits: int, name: str = "95% CI") -> str:
    """' [95% CI a, b]', or nothing when there is no interval (a single run)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f" [{name} {fmt(low, digits)}, {fmt(high, digits)}]"


def _backend_times(entry: dict[str, Any], runs: pd.DataFrame, backend: str) -> pd.Series:
    """The fit times of the entry's impl on `backend`, from the first listed experiment with runs."""
    found = [m for e in entry.get("experiments", []) if len(m := ok_runs(entry, runs, e, backend))]
    return found[0]["fit_seconds"] if found else pd.Series(dtype=float)


def _numpy_over_cupy(times: dict[str, pd.Series]) -> str:
    """NumPy median fit time over CuPy's (each side's times from ``_backend_times``)."""
    ratio, low, high = stats.ratio_of_medians_ci(times["numpy"], times["cupy"])
    return f"{fmt(ratio)}{_ci(low, high, 3)}" if math.isfinite(ratio) else ""


def _published_and_read(entry: dict[str, Any]) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """A time ratio's published range (its value twice where it gives one number) and the range
    widened by its read-off error, None where it has none (article_numbers.load_reference computed both)."""
    published = tuple(entry.get("range") or (entry["value"], entry["value"]))
    return published, (tuple(entry["read_range"]) if "read_range" in entry else None)


def _speed_caveat(entry: dict[str, Any], mine: pd.DataFrame, keras: pd.DataFrame, result: verdicts.Verdict) -> str:
    """For a time judged on runs whose folders saw the machine's speed change (harness.machine's
    rule, the same as the section's sentence): '; timed while ...', and whether a change of that
    size could have made the verdict (``verdicts.range_verdict_holds``); else ''."""
    if entry["measure"] not in TIME_MEASURES:
        return ""
    spread = changed_spread(pd.concat([mine, keras]))
    if spread is None:
        return ""
    if entry["measure"] == "time_ratio_vs_keras" and verdicts.range_verdict_holds(
            result.low, result.high, verdicts.tested_range(*_published_and_read(entry)), spread.ratio):
        return (f"; timed while {changed_rate(spread)}; a change of that measured size, moving the ratio by up "
                f"to {fmt(1 / spread.ratio)}x either way, would not change this verdict")
    return f"; timed while {changed_rate(spread)}, so the verdict may show that change rather than the implementations'"


def _note(entry: dict[str, Any]) -> str:
    """The entry's note, with the precision of a number read off one of the article's figures."""
    read = f"read off the article's figure: {entry['precision']}" if entry.get("read_from") == "figure" else ""
    return "; ".join(text for text in (entry.get("note", ""), read) if text)


def _work_note(entry: dict[str, Any], mine: pd.DataFrame, keras: pd.DataFrame, note: str,
               comparable: bool = True) -> str:
    """For a time ratio: say when the two implementations did different amounts of work and, where the
    row is judged (`comparable`: not, say, our CPU against the article's GPU), how far each side moved."""
    if entry["measure"] != "time_ratio_vs_keras" or keras.empty:
        return note
    extras = [_moved(entry, mine, keras) if comparable else ""]
    flops = stats.ratio_of_medians_ci(mine["flops"], keras["flops"], n_resamples=1)[0]
    if math.isfinite(flops) and abs(flops - 1) >= 0.01:
        extras.append(f"per run, mlp computed {fmt(flops)}x the matrix FLOPs of keras (their samples per "
                      "epoch differ), so the time ratio also reflects the work done")
    return "; ".join(part for part in (note, *extras) if part)


def _moved(entry: dict[str, Any], mine: pd.DataFrame, keras: pd.DataFrame) -> str:
    """For a ratio of two published times (article_numbers: ratio_parts): each side's median fit time
    against the middle of the article's. The machine's speed cancels in the ratio, the software's and
    settings' need not; each side's factor holds both, so this says, from the runs, how far each side
    moved, not why (their quotient is only the ratio over the article's)."""
    if "ratio_parts" not in entry:
        return ""
    sides = []
    for name, runs, (low, high) in (("mlp", mine, entry["ratio_parts"][0]), ("keras", keras, entry["ratio_parts"][1])):
        times = stats.finite(runs["fit_seconds"])
        if not times.size or low + high <= 0:
            return ""
        median = float(np.median(times))
        sides.append((name, median, median / ((low + high) / 2), low, high))
    said = " and ".join(f"{'our ' if name == 'mlp' else ''}{name}'s{' median fit time is' if name == 'mlp' else ''} "
                        f"{fmt(factor)}x ({fmt(median)} s against {low:g}–{high:g} s)"
                        for name, median, factor, low, high in sides)
    return (f"against the article's own times {said}, each factor this machine's speed and the software's and "
            "settings' together")
