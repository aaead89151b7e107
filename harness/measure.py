"""The harness's measurements around one run of any implementation.

One place times fit and predict (the implementation's device synchronized before each clock
stops), measures peak memory, drives the epoch bar and computes the classification fields, so
every implementation's record is measured the same way; an adapter (experiments.models.adapter)
only computes.
"""

from __future__ import annotations

import math
import time
from typing import Any, Iterable

import numpy as np

from experiments.models.implementation import Implementation

from .epoch_bar import EpochBar
from .peak_memory import PeakMemory


def measure_run(impl: Implementation, spec: Any, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
                progress: bool, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Set up, fit and predict one run of `impl`; the record fields it measured and computed."""
    session = impl.adapter.start(spec, ds, seed=seed, dtype=dtype, sampling=sampling, backend=backend,
                                 **(options or {}))
    try:
        with (session.memory() or PeakMemory()) as memory, EpochBar(spec.epochs, enabled=progress) as bar:
            epoch_ends: list[float] = []

            def on_epoch() -> None:
                epoch_ends.append(time.perf_counter())
                bar.update()

            session.synchronize()
            fit_start = time.perf_counter()
            losses = session.fit(on_epoch)
            session.synchronize()
            fit_seconds = time.perf_counter() - fit_start
            start = time.perf_counter()
            predicted = session.predict()
            session.synchronize()
            predict_seconds = time.perf_counter() - start
            fields = session.fields(predicted)  # untimed, but its test-set evaluation counts in the peak
        record: dict[str, Any] = {
            **fields, "fit_seconds": fit_seconds, "predict_seconds": predict_seconds,
            "first_epoch_seconds": (epoch_ends[0] - fit_start) if epoch_ends else None,
            "compile_seconds": session.compile_seconds,
            "epoch_losses": [float(v) for v in losses], "peak_memory_mb": memory.mb,
        }
    finally:
        session.close()
    record.update(classification_fields(np.asarray(predicted, dtype=np.float64), ds.y_test, ds.task))
    return record


def first_divergence(losses: Iterable[float]) -> int | None:
    """1-based epoch of the first NaN or infinite loss, or None when every loss is finite."""
    for epoch, loss in enumerate(losses, start=1):
        if loss is None or not math.isfinite(float(loss)):
            return epoch
    return None


def classification_fields(proba: np.ndarray, y_true: np.ndarray, task: str) -> dict[str, Any]:
    """Accuracy, misclassified count and, for binary tasks, predicted/actual positives and the
    article's Titanic "error" (actual minus predicted survivors), from predicted probabilities."""
    if task == "regression":
        return {}
    if task == "binary":
        predicted = (proba.reshape(-1) > 0.5).astype(int)  # as Keras's binary_accuracy and NN.evaluate
        actual = y_true.reshape(-1).astype(int)
    else:
        predicted, actual = proba.argmax(axis=1), y_true.argmax(axis=1)
    wrong = int((predicted != actual).sum())
    fields: dict[str, Any] = {"test_misclassified": wrong, "test_accuracy": (len(actual) - wrong) / len(actual)}
    if task == "binary":
        fields["predicted_positives"] = int(predicted.sum())
        fields["actual_positives"] = int(actual.sum())
        fields["article_error"] = fields["actual_positives"] - fields["predicted_positives"]
    return fields
