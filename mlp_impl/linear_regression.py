"""The article's first model: simple linear regression y = w x + b fitted by full-batch
gradient descent on the mean squared error (its "Drujba housing" section), keeping the
parameter history so the fit can be plotted step by step."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import validation
from .backend import get_backend


class LinearRegression:
    """One-feature linear regression trained by gradient descent.

    ``w`` and ``b`` start from a standard normal draw of ``np.random.default_rng(seed)``
    (``init="random"``, the article's "initially randomly set") or at zero (``init="zeros"``).
    """

    def __init__(self, seed: int | None = None, init: str = "random") -> None:
        init = validation.known_name("init", init, ("random", "zeros"))
        rng = np.random.default_rng(validation.seed(seed))
        self.w, self.b = (float(v) for v in rng.standard_normal(2)) if init == "random" else (0.0, 0.0)
        self.history: list[tuple[float, float, float]] = []

    @staticmethod
    def _column(label: str, a: Any) -> np.ndarray:
        arr = validation.as_array(get_backend("numpy"), label, a).astype(np.float64)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{label} must be one non-empty column of numbers, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{label} contains NaN or infinite values: clean them before fitting")
        return arr

    def loss(self, x: Any, y: Any) -> float:
        """Mean squared error of the current line on (x, y)."""
        x, y = self._column("x", x), self._column("y", y)
        return float(np.mean((self.w * x + self.b - y) ** 2))

    def fit(self, x: Any, y: Any, steps: int = 50, learning_rate: float = 1e-4) -> list[tuple[float, float, float]]:
        """Run ``steps`` gradient-descent steps; return [(w, b, loss)] after each step.

        dL/dw = 2/n sum((w x + b - y) x), dL/db = 2/n sum(w x + b - y).
        """
        x, y = self._column("x", x), self._column("y", y)
        if x.shape != y.shape:
            raise ValueError(f"x has {x.size} rows but y has {y.size}: pass the same number of examples")
        steps = validation.positive_int("steps", steps)
        learning_rate = validation.positive_float("learning_rate", learning_rate)
        n = x.size
        history = []
        for _ in range(steps):
            residual = self.w * x + self.b - y
            grad_w = 2.0 / n * float(residual @ x)
            grad_b = 2.0 / n * float(residual.sum())
            self.w -= learning_rate * grad_w
            self.b -= learning_rate * grad_b
            history.append((self.w, self.b, float(np.mean((self.w * x + self.b - y) ** 2))))
        self.history += history
        return history

    def predict(self, x: Any) -> np.ndarray:
        """w x + b for each x."""
        return self.w * self._column("x", x) + self.b
