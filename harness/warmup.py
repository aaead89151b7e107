"""An untimed warm-up fit before an implementation's first timed run on a GPU.

A GPU's first fit pays for kernel compilation, cuBLAS/cuDNN set-up and the memory pool's first
allocations; timing it would make the first seed's fit_seconds a measure of start-up. So, for
every GPU implementation alike, one epoch of the same configuration runs first, untimed in the
statistics; its wall time is kept in each timed record of that implementation (`warmup_seconds`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from experiments.models.implementation import Implementation

from .measure import measure_run
from .validate import Plan

log = logging.getLogger(__name__)
GPU_BACKENDS = frozenset({"cupy", "torch-cuda"})


def wanted(setting: bool | None, backend: str) -> bool:
    """`warmup=null` (the default) warms up GPU implementations only (Keras too when TensorFlow's
    CUDA build sees a GPU); true every one; false none."""
    if setting is not None:
        return bool(setting)
    return backend in GPU_BACKENDS or (backend == "tensorflow" and _tensorflow_sees_a_gpu())


def _tensorflow_sees_a_gpu() -> bool:
    """Whether Keras's ops go to a GPU (TensorFlow is imported by then: Keras is about to run)."""
    import tensorflow as tf

    from experiments.models.keras_model import gpus
    return bool(gpus(tf))


def warm_up(plan: Plan, impl: Implementation, ds: Any, record: dict[str, Any]) -> float | None:
    """Fit one epoch of the run described by `record`; its seconds, or None when it failed (the
    timed run then fails, or not, on its own and says why)."""
    spec = dataclasses.replace(plan.spec, epochs=1)
    start = time.perf_counter()
    try:
        measure_run(impl, spec, ds, seed=record["seed"], dtype=plan.dtype, sampling=record["sampling"],
                    backend=record["backend"], progress=False, options=plan.options_for(impl))
    except Exception as ex:  # the timed runs record their own failures
        log.warning(f"{impl.name}/{record['backend']} warm-up failed ({type(ex).__name__}: {ex})")
        return None
    seconds = time.perf_counter() - start
    log.info(f"{impl.name}/{record['backend']} warm-up fit (1 epoch, untimed): {seconds:.3f}s")
    return seconds
