"""The machine's measured matmul rate, read from the run folders: each summary row's speed as work
per second and as a fraction of that rate, and whether the rate moved while the runs were timed.

The rate is the float32 matmul rate the harness measures into each run folder's environment.json
(and a resumed process's environment-<time>-<pid>.json beside it), before and after the runs; the
records also carry the one measured before them. GPU backends are judged against the GPU's rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from harness import blas_kernels
from harness.machine import SPEED_CHANGE_LIMIT, RateSpread, disturbed, speed_changed, worst_spread
from harness.run_settings import BLAS_KERNELS, MACHINE_PREFIX, MACHINE_RATES, RATE_STATUSES
from harness.reporting import stats
from harness.reporting.batches import read_environments
from harness.reporting.number_text import fmt

# Backends whose runs are judged against the GPU's matmul rate rather than the CPU's.
GPU_BACKENDS = ("cupy", "torch-cuda")


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


def throughput(group: pd.DataFrame, ok: pd.DataFrame, fit_median: float) -> dict[str, float]:
    """Matmul work per second of the median fit, its fraction of the machine's rate, how steady the
    CPU's rate was (``cpu_rate_stability``: slowest over fastest measurement of the figure that moved
    most, harness.machine.worst_spread; 1 steady), peak memory."""
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


def changed_rate(spread: RateSpread) -> str:
    """The two measurements of a speed change, in the order taken, and of which product when the
    records keep each shape's rate: 'the CPU's float32 matmul rate of the 784x1000 @ 1000x512
    product (of the figures measured before and after these runs, the one that moved most)
    measured 207 GFLOP/s before these runs and 150 after them at 2 BLAS threads (the slower is 72%
    of the faster; flagged below 75%)'."""
    first, second = sorted((spread.slowest, spread.fastest), key=lambda m: m.when != "before")
    threads = f"{spread.threads} BLAS thread{'s' if spread.threads != 1 else ''}"
    percent = math.floor(round(100 * spread.ratio, 9))  # 58 of 100 is 58%, not 57.99...
    figure = "" if spread.shape is None else (
        f" of the {spread.shape.replace('@', ' @ ')} product (of the figures measured before and after these "
        "runs, the one that moved most)")
    return (f"the CPU's float32 matmul rate{figure} measured {fmt(float(first.gflops))} GFLOP/s {first.when} these runs "
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



# Backends whose matrix products go through NumPy's BLAS (scikit-learn's MLP multiplies with NumPy),
# and CPU backends that bring libraries of their own: what a forced OpenBLAS kernel does and does not touch.
NUMPY_BLAS_BACKENDS = ("numpy", "sklearn")
OWN_BLAS_BACKENDS = ("tensorflow", "torch-cpu")


def forced_kernels_notes(runs: pd.DataFrame) -> list[str]:
    """For the runs that multiply through NumPy's OpenBLAS whose records show kernels set by the
    environment that OpenBLAS would not pick by itself (harness.blas_kernels.slowed), the sentence a
    reader needs before comparing their times with the peers that bring their own libraries: which
    runs (how many of them), whether the matmul rate was measured on those kernels, which peers are
    untouched; one per distinct setting, none for records older than the fact."""
    if "settings" not in runs or "backend" not in runs:
        return []
    through = runs[runs["backend"].isin(NUMPY_BLAS_BACKENDS)]
    found: list[tuple[dict[str, Any], list[pd.Series]]] = []
    for _, run in through.iterrows():
        carried = run["settings"] if isinstance(run["settings"], dict) else {}
        facts = {key: carried.get(MACHINE_PREFIX + key) for key in BLAS_KERNELS}
        if blas_kernels.slowed(facts):
            group = next((rows for known, rows in found if known == facts), None)
            if group is None:
                found.append((facts, group := []))
            group.append(run)
    peers = sorted(set(runs.loc[runs["backend"].isin(OWN_BLAS_BACKENDS), "impl"]))
    return [_forced_sentence(facts, forced, len(through), peers) for facts, forced in found]


def _forced_sentence(facts: dict[str, Any], forced: list[pd.Series], through: int, peers: list[str]) -> str:
    if len(forced) < through:
        which = f"{len(forced)} of the {through} runs that multiply through NumPy here"
    else:
        which = "the 1 run that multiplies" if through == 1 else f"all {through} runs that multiply"
        which += " through NumPy here"
    impls = ", ".join(sorted({str(run.get("impl")) for run in forced}))
    rated = any(isinstance(run["settings"], dict) and run.get("dtype", "float32") == "float32"
                and run["settings"].get(MACHINE_PREFIX + RATE_STATUSES[0]) == "measured" for run in forced)
    sentence = f"{blas_kernels.forced_text(facts)} for {which} ({impls})"
    if rated:
        sentence += ", and for the matmul rate their share is measured against"
    if peers:
        sentence += (f"; {', '.join(peers)} use libraries of their own, so the times against them carry that "
                     "setting as well as the implementations")
    return (f"{sentence} (to time NumPy on OpenBLAS's own choice, prefix the command with: "
            f"{blas_kernels.unset_command(facts)}).")
