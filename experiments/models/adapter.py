"""The one interface between the harness and an implementation: what it refuses, how it fits and predicts.

An implementation only computes. The harness (harness.measure) does the measuring around it: it
calls `Adapter.start` (untimed: weights drawn, kernels compiled), then times `Session.fit` and
`Session.predict` with `Session.synchronize` before each clock stops, measures peak memory, drives
the epoch bar through `fit`'s `on_epoch`, and fills the classification fields from the predicted
probabilities. An adapter imports its library inside its methods, so choosing `mlp` never loads
TensorFlow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Any, Callable

import numpy as np


class Unavailable(ValueError):
    """A refusal for what this machine lacks (a compiler), not for the config, raised by `check_plan`
    where only the plan says it is needed: a tuned form refused so is left out of a head-to-head
    like one `check_available` refuses (harness.validate)."""


class Session(ABC):
    """One seeded run, set up before the harness's clocks start.

    The harness calls memory() (once, around fit and predict), fit(), predict(), then fields()
    and close(); synchronize() before each clock stops."""

    compile_seconds: float | None = None  # compilation done in start(), outside fit_seconds

    def memory(self) -> AbstractContextManager[Any] | None:
        """A context whose `mb` is the run's peak memory on its device, or None: the harness
        measures the process's resident memory (every CPU implementation)."""
        return None

    def synchronize(self) -> None:
        """Wait for queued device work (nothing to wait for on the CPU)."""

    @abstractmethod
    def fit(self, on_epoch: Callable[[], None]) -> list[float]:
        """Train on the training rows, calling `on_epoch()` as each epoch ends; each epoch's loss."""

    @abstractmethod
    def predict(self) -> np.ndarray:
        """Predicted probabilities (values, for regression) of the test rows, in host memory."""

    @abstractmethod
    def fields(self, predicted: np.ndarray) -> dict[str, Any]:
        """The record fields only the implementation knows (backend, device, threads, test_loss,
        ...), computed untimed after predict."""

    def close(self) -> None:
        """Undo process-wide settings made for this run (e.g. a thread count)."""


class Adapter(ABC):
    """What the harness asks of an implementation; a variant's settings (keras_tuned's
    `tuned=True`) are its constructor's arguments. `name` is the one it is registered under
    (set by its `Implementation`), so its refusals name what the user wrote in `impls`."""

    name = ""

    def check_available(self, backend: str) -> None:
        """ValueError (one line) saying why it cannot run here, without importing its library."""

    def check_plan(self, spec: Any, ds: Any, backend: str) -> None:
        """ValueError for what only this implementation refuses in the spec or the data (before any
        run); Unavailable for what this machine lacks that only this plan needs."""

    @abstractmethod
    def start(self, spec: Any, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
              **options: Any) -> Session:
        """The run's Session; `options` are the config's node named after this implementation's peer
        (e.g. `keras.deterministic` for keras and keras_tuned)."""
