"""The article's linear regression by gradient descent (mlp_impl.LinearRegression) for one record.

The spec's `epochs` is the number of gradient steps N and `learning_rate` the step size alpha; the
whole training set is used at every step (plain gradient descent, as in the article).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from mlp_impl.backend import cpu_model

from .adapter import Adapter, Session
from .spec import ModelSpec


class LinearRegressionAdapter(Adapter):
    """w and b fitted on the training rows; the record gets the fitted line and the test MSE."""

    def start(self, spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
              **options: Any) -> "LinearRegressionSession":
        return LinearRegressionSession(spec, ds, seed=seed, dtype=dtype)


class LinearRegressionSession(Session):
    def __init__(self, spec: ModelSpec, ds: Any, *, seed: int, dtype: str) -> None:
        from mlp_impl import LinearRegression
        self.spec, self.ds = spec, ds
        self.x, self.y = ds.x_train.reshape(-1).astype(dtype), ds.y_train.reshape(-1).astype(dtype)
        self.model = LinearRegression(seed=seed, init="zeros" if spec.initializer == "zeros" else "random")

    def fit(self, on_epoch: Callable[[], None]) -> list[float]:
        """Plain gradient descent: `on_epoch` is not called (a step is no epoch of mini-batches)."""
        history = self.model.fit(self.x, self.y, steps=self.spec.epochs, learning_rate=self.spec.learning_rate)
        return [float(step[2]) for step in history]

    def predict(self) -> np.ndarray:
        self.w = float(np.asarray(self.model.w).reshape(-1)[0])
        self.b = float(np.asarray(self.model.b).reshape(-1)[0])
        return self.w * self.ds.x_test.reshape(-1) + self.b

    def fields(self, predicted: np.ndarray) -> dict[str, Any]:
        test_loss = float(np.mean((predicted - self.ds.y_test.reshape(-1)) ** 2)) if len(predicted) else None
        return {"backend": "numpy", "device": cpu_model(), "test_loss": test_loss,
                "fitted_w": self.w, "fitted_b": self.b}
