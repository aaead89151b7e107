"""What every implementation shares: its registry entry, peak-memory and divergence helpers.

An implementation is a module exposing
``train_and_evaluate(spec, ds, *, seed, dtype, sampling, backend, progress) -> dict`` (the
run-specific record fields) and ``check_available(backend) -> None`` (raises ValueError saying
why it cannot run, without importing its heavy library). Modules are imported only when used,
so choosing `mlp` never imports TensorFlow. A variant (e.g. `keras_tuned`) is the same module
with `settings` passed on as keyword arguments to `train_and_evaluate`, and to the module's
`check_settings(**settings)` (what the variant needs, e.g. a C++ compiler) when it has one.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Protocol

import numpy as np

from mlp_impl.backend import cpu_model  # noqa: F401  (the record's `device` for CPU runs)

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


class TrainFunction(Protocol):
    def __call__(self, spec: Any, ds: Any, *, seed: int, dtype: str, sampling: str,
                 backend: str, progress: bool) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Implementation:
    """A registry entry: the name used in `impls=[...]`, its backends and its lazily imported module."""

    name: str
    backends: tuple[str, ...]
    module: str
    fixed_sampling: str | None = None  # how it samples whatever the config says (Keras: "shuffle")
    gpu_backend: str | None = None  # what `backend=cupy` (the GPU) means for it, e.g. "torch-cuda"
    settings: tuple[tuple[str, Any], ...] = ()  # a variant's keyword arguments to train_and_evaluate
    family: str = ""  # the peer a variant belongs to (keras_tuned -> keras); the name itself when empty

    @property
    def peer(self) -> str:
        """The peer this implementation is a configuration of: variants of one peer share it."""
        return self.family or self.name

    def resolve_backend(self, requested: str) -> str:
        """The config's `backend` applies where this implementation has it (`cupy` meaning its
        GPU backend, if any), else its own default."""
        if requested in self.backends:
            return requested
        if requested == "cupy" and self.gpu_backend:
            return self.gpu_backend
        return self.backends[0]

    @property
    def runs_on_gpu(self) -> bool:
        """Whether `backend=cupy` puts this implementation on the GPU."""
        return "cupy" in self.backends or self.gpu_backend is not None

    def load(self) -> ModuleType:
        """Import the implementation module (and so possibly its library) on first use."""
        return importlib.import_module(self.module)

    def check_available(self, backend: str) -> None:
        """ValueError saying why this implementation (with its variant's settings) cannot run here."""
        module = self.load()
        module.check_available(backend)
        if self.settings and hasattr(module, "check_settings"):
            module.check_settings(**dict(self.settings))

    def train(self, spec: Any, ds: Any, **run: Any) -> dict[str, Any]:
        """train_and_evaluate of the module, with the variant's settings."""
        return self.load().train_and_evaluate(spec, ds, **run, **dict(self.settings))


def _status_kb(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak resident memory a run adds to the process, in MB.

    Why not tracemalloc: it slows NumPy-heavy loops several-fold and misses BLAS and TensorFlow
    buffers. On Linux we reset the kernel's high-water mark (`/proc/self/clear_refs` = 5) at the
    start and read `VmHWM` at the end: exact, free, covers every allocator. The figure is
    VmHWM(end) - VmRSS(start). Memory freed by an earlier run but still held by the C allocator
    would be reused without raising the mark, so the allocator is first asked to hand it back
    (`gc.collect`, glibc's `malloc_trim`). Elsewhere it falls back to `resource.getrusage`
    ru_maxrss deltas, which only see a run that raises the process's lifetime peak (0 otherwise).
    """

    def __enter__(self) -> "PeakMemory":
        self.mb: float | None = None
        self._reset = False
        _release_freed_memory()
        try:
            _CLEAR_REFS.write_text("5")
            self._reset = True
        except OSError:
            pass
        self._start_kb = _status_kb("VmRSS") if self._reset else _maxrss_kb()
        return self

    def __exit__(self, *exc: object) -> None:
        end_kb = _status_kb("VmHWM") if self._reset else _maxrss_kb()
        if end_kb is not None and self._start_kb is not None:
            self.mb = round(max(end_kb - self._start_kb, 0) / 1024, 3)


def _release_freed_memory() -> None:
    """Return memory that Python and the C allocator hold but no longer use to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _maxrss_kb() -> int | None:
    try:
        import resource
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except (ImportError, OSError):
        return None


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


def cpu_count() -> int:
    """CPUs this process may use (affinity-aware), for the environment record."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
