"""The machine's single-precision matrix-multiply rate: the ceiling a run's FLOP rate is judged by.

Measured before an experiment (cached per process) and again after it, each time once per BLAS
thread count a run may use (one, as in the MLP's row split, and every core), and stored in
environment.json: every measurement, and the best of them as the rate. One measurement taken in a
noisy moment can be half the machine's rate (109 against 194 GFLOP/s two minutes apart, here), so
the best is the honest ceiling; a run that still measures above it (`disturbed`) is flagged on
the page rather than reported. When one figure measured before and after the runs (one shape's
rate at one thread count) differs by more than a quarter (`worst_spread`, `speed_changed`), the
page says so: the machine's speed, or the load on it, may have changed while the runs were timed. Each measurement is the
best of a few timed calls of a large square product (what BLAS does best) and of the MNIST
network's first-layer shapes (what a training step asks for); each shape's own rate is kept too.
A GPU's rate is measured the same way with CuPy when a device is usable, with the device
synchronized before every clock stop.
"""

from __future__ import annotations

import functools
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

# (m, k, n): C[m, n] = A[m, k] @ B[k, n]. The MNIST first layer forward and its weight gradient,
# then one square product large enough for BLAS to reach its peak.
SHAPES: tuple[tuple[int, int, int], ...] = ((1000, 784, 512), (784, 1000, 512), (2048, 2048, 2048))
REPEATS = 5
BUDGET_SECONDS = 0.4  # per shape: the whole measurement stays around a second
RATE_SWITCH = "MLP_BENCH_MEASURE_RATE"  # "0": no measurement (see skip_reason)
# Below this, the slower of a figure's two measurements (before and after the runs) over the faster,
# worst over every product shape and thread count measured (worst_spread), is said on the page: the
# machine's speed, or its load, may have changed during the runs. Calibrated on each thread count's
# best figure, seen on the two-core Xeon, 2026-12-01: 0.46 (two threads, 338 before, 156 after) while
# Keras's Titanic fits grew from 34 to 85 s over the seeds, no other process running; 0.78 with
# another process busy during the first measurement only. A single shape's figure moves more than
# the best one (the bench of 2026-12-02: mnist_vs_tf's worst shape 0.80 against 0.89-0.98 best), so
# the limit, read over every shape, flags somewhat more readily.
SPEED_CHANGE_LIMIT = 0.75
RATE_NOT_MEASURED = "the matmul rate after the runs was not measured"  # said after Ctrl-C stopped it


def product_flops(m: int, k: int, n: int) -> int:
    """FLOPs of one (m, k) @ (k, n) product: one multiply and one add per term."""
    return 2 * m * k * n


def best_seconds(call: Callable[[], Any], sync: Callable[[], None], *, repeats: int = REPEATS,
                 budget: float = BUDGET_SECONDS) -> float:
    """Shortest wall time of `call` over up to `repeats` timed calls (after one warm-up), stopping
    early when `budget` seconds are spent: the best call is the least disturbed by other load."""
    call()
    sync()
    best, spent = float("inf"), 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        sync()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent > budget:
            break
    return best


def measure(xp: Any = np, sync: Callable[[], None] = lambda: None,
            shapes: tuple[tuple[int, int, int], ...] = SHAPES, **timing: Any) -> dict[str, Any]:
    """float32 matmul rate of the array module `xp`, in GFLOP/s: the best over `shapes`, plus each
    shape's rate. Products write into preallocated outputs, as a training step does."""
    per_shape: dict[str, float] = {}
    rng = np.random.default_rng(0)
    for m, k, n in shapes:
        a = xp.asarray(rng.standard_normal((m, k), dtype=np.float32))
        b = xp.asarray(rng.standard_normal((k, n), dtype=np.float32))
        out = xp.empty((m, n), dtype=np.float32)
        seconds = best_seconds(lambda: xp.matmul(a, b, out=out), sync, **timing)
        per_shape[f"{m}x{k}@{k}x{n}"] = round(product_flops(m, k, n) / seconds / 1e9, 2)
    return {"matmul_gflops_float32": max(per_shape.values()), "per_shape_gflops": per_shape,
            "method": f"best of up to {timing.get('repeats', REPEATS)} timed calls per shape after a warm-up"}


@dataclass(frozen=True)
class Measured:
    """One CPU rate measurement: GFLOP/s and when it was taken ("before" or "after" the runs)."""

    gflops: float
    when: str


@dataclass(frozen=True)
class RateSpread:
    """The slowest and the fastest CPU rate measurement of one figure: one product shape's rate
    (None: the best of them, all that records older than per-shape figures carry) at one BLAS
    thread count."""

    threads: int
    slowest: Measured
    fastest: Measured
    shape: str | None = None

    @property
    def ratio(self) -> float:
        """Slowest over fastest: 1 steady, lower the farther apart."""
        return self.slowest.gflops / self.fastest.gflops


def _figures(measurement: dict[str, Any]) -> dict[str | None, Any]:
    """A measurement's figures by product shape; its best alone (shape None) when it has no shape's
    own (records older than them). Never the best beside the shapes: another measurement's best
    may be another shape's."""
    per_shape = measurement.get("per_shape_gflops")
    if isinstance(per_shape, dict) and per_shape:
        return dict(per_shape)
    return {None: measurement.get("matmul_gflops_float32")}


def _spreads(rate: dict[str, Any] | None) -> list[RateSpread]:
    """The spread of each figure (shape and thread count) of one record measured before and after its runs."""
    by_figure: dict[tuple[int, str | None], list[Measured]] = {}
    for m in (rate or {}).get("measurements") or []:
        threads, when = m.get("blas_threads"), m.get("when")
        if not isinstance(threads, int) or when not in ("before", "after"):
            continue
        for shape, value in _figures(m).items():
            if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
                by_figure.setdefault((threads, shape), []).append(Measured(float(value), when))
    return [RateSpread(threads, min(found, key=lambda m: m.gflops), max(found, key=lambda m: m.gflops), shape)
            for (threads, shape), found in by_figure.items() if {m.when for m in found} == {"before", "after"}]


def worst_spread(rates: list[dict[str, Any] | None]) -> RateSpread | None:
    """Of CPU rate records (the ``matmul_rate`` of each process's environment: environment.json and
    a resume's environment-<time>-<pid>.json), the figure (one shape's rate at one thread count)
    whose measurements in one record, before and after its runs, lie farthest apart; None without
    one measured both before and after. Figures are never compared with each other: two threads
    measure twice one, and BLAS runs a large square product faster than the MNIST layer's."""
    spreads = [spread for rate in rates for spread in _spreads(rate)]
    return min(spreads, key=lambda spread: spread.ratio) if spreads else None


def speed_changed(spread: RateSpread) -> bool:
    """Whether measurements this far apart are said on the page: the machine's speed, or the load
    on it, may have changed while the runs were timed."""
    return spread.ratio < SPEED_CHANGE_LIMIT


def disturbed(fraction: float) -> bool:
    """Whether a run's fraction of the measured matmul rate is impossible (over 100%): the rate
    was measured while the machine was busy, so the fraction is no result."""
    return fraction > 1.0


def thread_counts() -> list[int]:
    """BLAS thread counts a run may use: one (the MLP's row split, scikit-learn's small steps) and all."""
    from mlp_impl.parallel import blas_threads
    return sorted({1, blas_threads()})


def cpu_measurements(when: str) -> list[dict[str, Any]]:
    """One rate measurement per BLAS thread count, labelled `when` ("before" or "after")."""
    from threadpoolctl import threadpool_limits
    found = []
    for threads in thread_counts():
        with threadpool_limits(limits=threads, user_api="blas"):
            found.append({"when": when, "blas_threads": threads, **measure()})
    return found


def best_of(measurements: list[dict[str, Any]]) -> dict[str, Any]:
    """The CPU rate record: the best measurement's figures, and every measurement."""
    best = max(measurements, key=lambda m: m["matmul_gflops_float32"])
    return {**{k: v for k, v in best.items() if k != "when"}, "measurements": measurements,
            "rule": "best of every measurement (before and after the runs, per BLAS thread count)"}


def cpu_rate() -> dict[str, Any]:
    """The CPU's float32 matmul rate through NumPy's BLAS, measured now (before the runs)."""
    return best_of(cpu_measurements("before"))


def after_measurements(enabled: bool = True) -> list[dict[str, Any]] | str | None:
    """The CPU rate measured now, after the runs: its measurements, the error's text when measuring
    failed (never fail a run over a diagnostic), or None when measuring is off (`enabled` is the
    config's measure_rate, see skip_reason)."""
    if skip_reason(enabled):
        return None
    try:
        return cpu_measurements("after")
    except Exception as ex:
        return f"{type(ex).__name__}: {ex}"


def with_after(environment: dict[str, Any], after: list[dict[str, Any]] | str | None) -> dict[str, Any]:
    """`environment` with `after` (from after_measurements) added and the best re-taken; as it was
    when nothing was measured."""
    if after is None:
        return environment
    if isinstance(after, str):
        return {**environment, "matmul_rate_after_error": after}
    before = (environment.get("matmul_rate") or {}).get("measurements") or []
    rate = best_of([*before, *after])
    return {**environment, "matmul_gflops_float32": rate["matmul_gflops_float32"], "matmul_rate": rate,
            "matmul_rate_status": "measured"}


def gpu_rate() -> dict[str, Any]:
    """The GPU's float32 matmul rate through CuPy, or None with the reason it is unusable."""
    try:
        from mlp_impl.backend import gpu_status
        usable, reason = gpu_status()
        if not usable:
            return {"matmul_gflops_float32": None, "reason": reason}
        import cupy
        sync = cupy.cuda.get_current_stream().synchronize
        shapes = SHAPES + ((8192, 8192, 8192),)  # a data-centre GPU needs more work to reach its peak
        return {**measure(cupy, sync, shapes), "reason": reason}
    except Exception as ex:  # never fail a run over a diagnostic
        return {"matmul_gflops_float32": None, "reason": f"{type(ex).__name__}: {ex}"}


def skip_reason(enabled: bool = True) -> str | None:
    """Why the ~2 s measurements before and after the runs are skipped, or None when they are
    taken: the config's `measure_rate` false (a run whose speed does not matter) or
    MLP_BENCH_MEASURE_RATE=0 (quick checks: the test suite). The records then carry no rate and
    no fraction of it, and say why."""
    if not enabled:
        return "measure_rate=false"
    if os.environ.get(RATE_SWITCH, "1") == "0":
        return f"{RATE_SWITCH}=0"
    return None


def machine_rates(enabled: bool = True) -> dict[str, Any]:
    """CPU and GPU rates, measured on first use and reused for the rest of the process (none
    when measuring is off: `enabled` is the config's measure_rate, see skip_reason)."""
    reason = skip_reason(enabled)
    if reason:
        skipped = {"matmul_gflops_float32": None, "reason": f"not measured ({reason})"}
        status = f"skipped ({reason})"
        return {"matmul_gflops_float32": None, "matmul_rate": skipped, "gpu_matmul_gflops_float32": None,
                "gpu_matmul_rate": skipped, "matmul_rate_status": status, "gpu_matmul_rate_status": status}
    return _measured_rates()


@functools.lru_cache(maxsize=1)
def _measured_rates() -> dict[str, Any]:
    try:
        cpu = cpu_rate()
        status = "measured"
    except Exception as ex:  # never fail a run over a diagnostic
        cpu = {"matmul_gflops_float32": None, "error": f"{type(ex).__name__}: {ex}"}
        status = f"failed ({cpu['error']})"
    gpu = gpu_rate()
    gpu_status = "measured" if gpu["matmul_gflops_float32"] is not None else f"not measured ({gpu['reason']})"
    return {"matmul_gflops_float32": cpu["matmul_gflops_float32"], "matmul_rate": cpu,
            "gpu_matmul_gflops_float32": gpu["matmul_gflops_float32"], "gpu_matmul_rate": gpu,
            "matmul_rate_status": status, "gpu_matmul_rate_status": gpu_status}
