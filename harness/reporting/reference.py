"""The article's published numbers beside ours, each with a statistical verdict (harness.reporting.verdicts).

Verdicts: "consistent" (no significant difference at p < 0.05), "better" / "worse" (a significant
difference, in the entry's direction), "differs" (significant, no direction, e.g. a fitted
parameter), "too few runs (n=2)", "untested" (every run the same: no spread, so no test), "not shown below" (a
bound inside our interval: no verdict),
"not comparable" (hardware-bound numbers, another setup,
algorithm or backend; the reason says which), "not measured" (no successful runs yet).

A number the article's algorithm made (`algorithm: article`) is judged only on MLP runs whose
algorithm `harness.algorithm.classify` calls 'article': a run of Keras's algorithm, or a mixed
one, is another experiment, and the reason names the components that differ. A head-to-head
claim (a time ratio, an accuracy gap) pairs those runs with the Keras runs of the same experiment,
whose setup the same rule checks (``_config_reason``, less the MLP-only settings).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from harness.algorithm import classify, differing
from harness.records import SHARED_CPU_LAUNCHERS
from harness.reporting import settings, stats, verdicts
from harness.reporting.figures import losses
from harness.reporting.machine_rate import changed_rate, changed_spread
from harness.reporting.number_text import fmt
from harness.reporting.prepared_runs import prepare, repeated_runs, swept_params

DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / "results" / "reference" / "article.yaml"
VERDICTS = (*verdicts.JUDGED, verdicts.TOO_FEW, verdicts.UNTESTED, verdicts.NOT_SHOWN,
            "not comparable", "not measured")
# A published mean or single value, and the per-run column it is compared with.
PER_RUN = {"article_error_mean": "article_error", "misclassified_mean": "test_misclassified",
           "final_loss_mean": "final_loss", "first_loss_mean": "first_loss",
           "fitted_w_mean": "fitted_w", "fitted_b_mean": "fitted_b"}
# A published difference MLP - Keras within one experiment, and the per-run column.
GAPS = {"misclassified_gap_vs_keras": "test_misclassified", "article_error_gap_vs_keras": "article_error"}
TIME_MEASURES = ("fit_seconds_median", "time_ratio_vs_keras", "numpy_over_cupy")
# Claims that pair the MLP's runs with the Keras runs of the same experiment: both sides must be
# the article's setup.
PAIRED = (*GAPS, "time_ratio_vs_keras")
# Settings only the article's MLP numbers state (its TensorFlow side kept Keras's own initializer,
# article.yaml), so a paired claim does not ask them of the Keras runs.
MLP_ONLY = frozenset({"initializer"})
COLUMNS = ["id", "figure", "quantity", "article", "ours", "test", "p_value", "verdict", "reason",
           "experiment", "note", "ours_value"]


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
        data = _values(runs, self.column) if self.column in runs else np.array([])
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


def load_reference(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The article's numbers (results/reference/article.yaml unless `path` is given). A file that
    is missing, is not YAML or holds an entry the table cannot read raises a one-line ValueError."""
    if path is None and not DEFAULT_REFERENCE.is_file():
        raise ValueError(f"reference numbers not found at {DEFAULT_REFERENCE}: "
                         "restore results/reference/article.yaml from git")
    path = Path(path) if path is not None else DEFAULT_REFERENCE
    if not path.is_file():
        raise ValueError(f"reference numbers not found at {path}; give --reference an existing file "
                         f"of the article's numbers, e.g. {DEFAULT_REFERENCE}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML ({_yaml_problem(error)}); fix it") from None
    if not isinstance(data, dict) or not isinstance(data.get("numbers"), list):
        raise ValueError(f"{path} has no 'numbers' list: see the field description at the top of the file")
    for entry in data["numbers"]:
        _check_entry(entry, path)
    _ratio_ranges(data["numbers"], path)
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What the YAML parser objects to and where, in a few words."""
    problem = getattr(error, "problem", None) or str(error).strip().splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}" if mark is not None else problem


def _check_entry(entry: Any, path: Path) -> None:
    """An entry of `numbers` needs an id, a measure and the article's number (a value, a bound, a
    [low, high] range, or ratio_of, which ``_ratio_ranges`` checks), as numbers."""
    if not isinstance(entry, dict):
        raise ValueError(f"{path}: an entry is not a mapping ({entry!r}); "
                         "write each as id: ..., measure: ..., value: ...")
    if "id" not in entry:
        raise ValueError(f"{path}: an entry has no id ({entry}); give each entry a unique id")
    name = entry["id"]
    if "measure" not in entry:
        raise ValueError(f"{path}: {name} has no measure; see the field description at the top of article.yaml")
    if not any(key in entry for key in ("value", "bound", "range", "ratio_of")):
        raise ValueError(f"{path}: {name} has no value; give the article's number as value, bound, range or ratio_of")
    for key in ("value", "bound"):
        if key in entry and not _is_number(entry[key]):
            raise ValueError(f"{path}: {name}'s {key} must be a number, not {entry[key]!r}")
    given = entry.get("range", [0, 0]) if "ratio_of" not in entry else [0, 0]
    if not (isinstance(given, list) and len(given) == 2 and all(map(_is_number, given))):
        raise ValueError(f"{path}: {name}'s range must be [low, high], two numbers, not {given!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ratio_ranges(numbers: list[dict[str, Any]], path: Path) -> None:
    """Give each `ratio_of: [a, b]` entry the range of a ratio of medians that lie in a's and b's
    ranges (a_low/b_high to a_high/b_low) and, where either gives a `read_error`, `read_range`:
    that range widened by each one's error (numbers read off a figure are known only that closely)."""
    by_id = {n.get("id"): n for n in numbers}
    for entry in numbers:
        if "ratio_of" not in entry:
            continue
        parts = [by_id.get(i) for i in entry["ratio_of"]]
        if "range" in entry or "value" in entry:
            raise ValueError(f"{path}: {entry.get('id')} has ratio_of and a typed range or value: keep ratio_of only")
        if len(parts) != 2 or any(part is None or len(part.get("range") or ()) != 2 for part in parts):
            raise ValueError(f"{path}: {entry.get('id')}'s ratio_of must name two entries that have a range")
        given = [v for part in parts for v in (*part["range"], part.get("read_error", 0.0))]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in given):
            raise ValueError(f"{path}: {entry['ratio_of']}'s ranges and read_error must be numbers of 0 or more")
        (a_low, a_high, a_error), (b_low, b_high, b_error) = given[:3], given[3:]
        if a_low > a_high or b_low > b_high:
            raise ValueError(f"{path}: {entry['ratio_of']}'s ranges must run from low to high")
        if b_low <= 0:
            raise ValueError(f"{path}: {entry['ratio_of'][1]}'s range must start above 0 to divide by it")
        if b_error >= b_low:
            raise ValueError(f"{path}: {entry['ratio_of'][1]}'s read_error must be below its range's low end")
        entry["range"] = [a_low / b_high, a_high / b_low]
        if a_error or b_error:
            entry["read_range"] = [max(0.0, a_low - a_error) / (b_high + b_error),
                                   (a_high + a_error) / (b_low - b_error)]
        unit = parts[0].get("unit") or ""
        derived = (f"the range is {a_low:g}–{a_high:g} {unit} over {b_low:g}–{b_high:g} {unit} "
                   f"({entry['ratio_of'][0]} over {entry['ratio_of'][1]})")
        entry["note"] = f"{derived}; {entry['note']}" if entry.get("note") else derived


def algorithm_of(runs: pd.DataFrame) -> pd.Series:
    """'article', 'keras' or 'mixed' for each run, from its settings (harness.algorithm.classify)."""
    return pd.Series([classify(settings.run_settings(run)) for _, run in runs.iterrows()],
                     index=runs.index, dtype=object)


def _algorithm_reason(mine: pd.DataFrame) -> str:
    """Why runs are not the article's algorithm: the components in which they differ from it."""
    names = sorted({name for _, run in mine.iterrows() for name in differing(settings.run_settings(run))})
    return f"our runs use another algorithm: they differ from the article's in {', '.join(names)}"


def _ok_runs(entry: dict[str, Any], runs: pd.DataFrame, experiment: str, backend: str | None = None,
             impl: str | None = None) -> pd.DataFrame:
    """The experiment's ok runs of the entry's impl (or `impl`) and backend (or `backend`)."""
    mine = runs[(runs["experiment"] == experiment) & runs["ok"]]
    impl = impl or entry.get("impl")
    mine = mine[mine["impl"] == impl] if impl else mine
    backend = backend or entry.get("backend")
    return mine[mine["backend"] == backend] if backend else mine


def _config_reason(entry: dict[str, Any], mine: pd.DataFrame, whose: str = "our") -> str:
    """'our setup differs: epochs=20 (article: 1000)' for each `config` setting the runs `mine` do not
    share (the entry states the article's whole setup: data, network, penalty and optimizer; a setting
    the runs do not record is never assumed); '' when all match. `whose` names the runs: the one rule
    checks the MLP's runs and, for a paired claim, Keras's (``_keras_reason``)."""
    problems = []
    for key, wanted in (entry.get("config") or {}).items():
        values = set(mine[key].dropna().unique()) if key in mine else \
            {v for _, run in mine.iterrows() if (v := settings.run_settings(run).get(key)) is not None}
        others = sorted(_show(v) for v in values if not _equal(v, wanted))
        if others:
            problems.append(f"{key}={', '.join(others)} (article: {_show(wanted)})")
        elif not values:
            problems.append(f"{key} not recorded (article: {_show(wanted)})")
    return f"{whose} setup differs: {'; '.join(problems)}" if problems else ""


def _keras_reason(entry: dict[str, Any], keras: pd.DataFrame) -> str:
    """Why the Keras runs a paired claim (a gap, a time ratio) compares with are not the article's
    setup, by ``_config_reason`` over the entry's config less the MLP-only settings; '' when they are,
    or when the entry pairs none."""
    if entry["measure"] not in PAIRED:
        return ""
    config = {key: value for key, value in (entry.get("config") or {}).items() if key not in MLP_ONLY}
    return _config_reason({**entry, "config": config}, keras, "our Keras runs'")


def _show(value: Any) -> str:
    """20.0 -> '20' (record fields read back as floats)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _equal(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
        try:
            return math.isclose(float(ours), float(theirs), rel_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return str(ours) == str(theirs)


def select_runs(entry: dict[str, Any], runs: pd.DataFrame) -> tuple[str, pd.DataFrame, str]:
    """(experiment, runs, reason not comparable) of the first listed experiment whose ok runs of the
    entry's impl and backend are the article's algorithm and setup; else of the first with such
    runs, with the reason; ('', no runs, '') when none ran."""
    found: tuple[str, pd.DataFrame, str] | None = None
    for experiment in entry.get("experiments", []):
        mine = _ok_runs(entry, runs, experiment)
        if mine.empty:
            continue
        reason = ""
        if entry.get("algorithm") == "article":
            article = mine[algorithm_of(mine) == "article"]
            reason, mine = ("", article) if len(article) else (_algorithm_reason(mine), mine)
        reason = reason or _config_reason(entry, mine)
        if not reason:
            return experiment, mine, ""
        found = found or (experiment, mine, reason)
    return found or ("", runs.iloc[0:0], "")


def _once(mine: pd.DataFrame) -> pd.DataFrame:
    """Each seed once (the latest run), as the summary table counts them."""
    return mine[~repeated_runs(mine, ["impl", "backend"])] if len(mine) else mine


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column == "first_loss":
        return stats.finite([curve[0] if (curve := losses(v)).size else np.nan for v in frame["epoch_losses"]])
    return stats.finite(pd.to_numeric(frame[column], errors="coerce"))


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
        result = verdicts.judge_bound(_values(mine, PER_RUN[measure]), float(entry["bound"]), entry["bound_reason"],
                                      stats.range_of(PER_RUN[measure]))
        return result, _with_interval(result, "95% CI")
    if measure in PER_RUN:
        values, within = _values(mine, PER_RUN[measure]), stats.range_of(PER_RUN[measure])
        if int(entry.get("n", 1)) > 1:
            result = verdicts.judge_mean(values, entry["value"], int(entry["n"]), better, within)
            return result, _with_interval(result, "95% CI") + _error_measures(mine, measure)
        result = verdicts.judge_single(values, entry["value"], better, within)
        return result, _with_interval(result, "95% PI, one run")
    if measure in GAPS:
        per_run = gap_measure(entry)
        a, b = per_run.values(mine), per_run.values(keras)
        result = verdicts.judge_gap(a, b, entry["value"], *entry["n"], better)
        return result, _with_interval(result, "95% CI") + f" mlp − keras (n={a.size}, {b.size})"
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


def _with_interval(result: verdicts.Verdict, name: str) -> str:
    return f"{fmt(result.ours, 4)}{_ci(result.low, result.high, 4, name)} (n={result.n})"


def _error_measures(mine: pd.DataFrame, measure: str) -> str:
    """For the Titanic "error": mean |error| and misclassified beside the signed mean judged, as
    context (a signed mean near 0 may hide over- and under-predictions that cancel)."""
    if measure != "article_error_mean":
        return ""
    errors, missed = _values(mine, "article_error"), _values(mine, "test_misclassified")
    extra = f"; mean |error| {fmt(np.abs(errors).mean(), 4)}" if errors.size else ""
    return extra + (f"; misclassified {fmt(missed.mean(), 4)}" if missed.size else "")


def _ci(low: float, high: float, digits: int, name: str = "95% CI") -> str:
    """' [95% CI a, b]', or nothing when there is no interval (a single run)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f" [{name} {fmt(low, digits)}, {fmt(high, digits)}]"


def _backend_times(entry: dict[str, Any], runs: pd.DataFrame, backend: str) -> pd.Series:
    """The fit times of the entry's impl on `backend`, from the first listed experiment with runs."""
    found = [m for e in entry.get("experiments", []) if len(m := _ok_runs(entry, runs, e, backend))]
    return found[0]["fit_seconds"] if found else pd.Series(dtype=float)


def _numpy_over_cupy(times: dict[str, pd.Series]) -> str:
    """NumPy median fit time over CuPy's (each side's times from ``_backend_times``)."""
    ratio, low, high = stats.ratio_of_medians_ci(times["numpy"], times["cupy"])
    return f"{fmt(ratio)}{_ci(low, high, 3)}" if math.isfinite(ratio) else ""


def _blocking_reason(entry: dict[str, Any], mine: pd.DataFrame, keras: pd.DataFrame) -> str:
    """Why a measured number cannot be judged (setup, sweep, hardware, backend, launcher); '' when it can."""
    swept = swept_params(mine)
    if swept:
        return f"the latest runs hold several configurations (a sweep over {', '.join(swept)}); see the sweep table"
    if entry.get("comparable") is False:
        return entry.get("reason", "depends on the article's hardware")
    required, backends = entry.get("backend_required"), sorted(set(mine["backend"].dropna()))
    if required and backends != [required]:
        why = " (without a GPU, the pairing is NumPy against Keras)" if required == "cupy" else ""
        return f"the article's MLP ran on {required}; our runs used {', '.join(backends)}{why}"
    launchers = set(pd.concat([mine["launcher"], keras["launcher"]]).dropna()) & set(SHARED_CPU_LAUNCHERS)
    if entry["measure"] in TIME_MEASURES and launchers:
        return f"timed under a parallel launcher ({', '.join(sorted(launchers))})"
    if entry["measure"] in PAIRED and keras.empty:
        return "needs successful keras runs in the same experiment"
    return _keras_reason(entry, keras)


def compare_entry(entry: dict[str, Any], summary: pd.DataFrame, runs: pd.DataFrame) -> dict[str, Any]:
    """One row of the reproduction table (`runs` prepared by prepared_runs.prepare; `summary` is unused
    but kept so callers need not change)."""
    out = {"id": entry["id"], "figure": entry.get("figure", ""), "quantity": entry.get("quantity", ""),
           "article": _article_text(entry), "test": "", "p_value": math.nan, "experiment": "",
           "ours": "—", "ours_value": math.nan, "note": _note(entry)}
    experiment, mine, not_comparable = select_runs(entry, runs)
    if mine.empty:
        return {**out, "verdict": "not measured", "reason": _unmeasured_reason(entry, runs)}
    keras = _ok_runs(entry, runs, experiment, impl="keras")
    reason = not_comparable or _blocking_reason(entry, mine, keras)  # before _once: a sweep repeats seeds
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
    out.update(experiment=experiment, ours=text or "—", note=_work_note(entry, mine, keras, out["note"]))
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


def _published_and_read(entry: dict[str, Any]) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """A time ratio's published range (its value twice where it gives one number) and the range
    widened by its read-off error, None where it has none (``_ratio_ranges`` computed both)."""
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


def _work_note(entry: dict[str, Any], mine: pd.DataFrame, keras: pd.DataFrame, note: str) -> str:
    """For a time ratio: say when the two implementations did different amounts of work."""
    if entry["measure"] != "time_ratio_vs_keras" or keras.empty:
        return note
    flops = stats.ratio_of_medians_ci(mine["flops"], keras["flops"], n_resamples=1)[0]
    if not math.isfinite(flops) or abs(flops - 1) < 0.01:
        return note
    extra = (f"per run, mlp computed {fmt(flops)}x the matrix FLOPs of keras (their samples per "
             "epoch differ), so the time ratio also reflects the work done")
    return f"{note}; {extra}" if note else extra


def _unmeasured_reason(entry: dict[str, Any], runs: pd.DataFrame) -> str:
    """Why no runs matched: no runs of the experiments at all, or none of the entry's impl or backend."""
    wanted = " or ".join(entry.get("experiments", []))
    ran = runs[runs["experiment"].isin(entry.get("experiments", [])) & runs["ok"]] if len(runs) else runs
    impl, backend = entry.get("impl"), entry.get("backend")
    if ran.empty:
        return f"no successful runs of {wanted} yet"
    if impl and not ran["impl"].eq(impl).any():
        return f"no successful {impl} runs yet (the runs of {wanted} are of {_listed(ran['impl'])})"
    ran = ran[ran["impl"] == impl] if impl else ran
    return f"no successful runs on the {backend} backend yet (the runs of {wanted} used {_listed(ran['backend'])})"


def _listed(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values.dropna()}))


def reproduction_table(summary: pd.DataFrame, runs: pd.DataFrame,
                       reference: dict[str, Any]) -> pd.DataFrame:
    """Every number the article published, our measurement, the test and a verdict."""
    prepared = prepare(runs) if not runs.empty else runs.assign(ok=pd.Series(dtype=bool))
    rows = [compare_entry(entry, summary, prepared) for entry in reference["numbers"]]
    return pd.DataFrame(rows, columns=COLUMNS)
