"""The article's linear regression by gradient descent (mlp_impl.LinearRegression) for one record.

The spec's `epochs` is the number of gradient steps N and `learning_rate` the step size alpha; the
whole training set is used at every step (plain gradient descent, as in the article).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mlp_impl.backend import cpu_model

from .measure import PeakMemory
from .spec import ModelSpec


def check_available(backend: str) -> None:
    """Pure NumPy: always available."""


def train_and_evaluate(spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
                       progress: bool) -> dict[str, Any]:
    """Fit w and b on the training rows; report the fitted line and the test MSE."""
    from mlp_impl import LinearRegression
    x, y = ds.x_train.reshape(-1).astype(dtype), ds.y_train.reshape(-1).astype(dtype)
    model = LinearRegression(seed=seed, init="zeros" if spec.initializer == "zeros" else "random")
    with PeakMemory() as mem:
        start = time.perf_counter()
        history = model.fit(x, y, steps=spec.epochs, learning_rate=spec.learning_rate)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        w, b = float(np.asarray(model.w).reshape(-1)[0]), float(np.asarray(model.b).reshape(-1)[0])
        predicted = w * ds.x_test.reshape(-1) + b
        predict_seconds = time.perf_counter() - start
    test_loss = float(np.mean((predicted - ds.y_test.reshape(-1)) ** 2)) if len(predicted) else None
    return {"backend": "numpy", "device": cpu_model(), "fit_seconds": fit_seconds, "predict_seconds": predict_seconds,
            "epoch_losses": [float(step[2]) for step in history], "test_loss": test_loss,
            "fitted_w": w, "fitted_b": b, "peak_memory_mb": mem.mb}
