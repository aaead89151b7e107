"""An implementation's registry entry: its name, backends, variant settings and lazily imported module.

An implementation is a module exposing
``train_and_evaluate(spec, ds, *, seed, dtype, sampling, backend, progress) -> dict`` (the
run-specific record fields) and ``check_available(backend) -> None`` (raises ValueError saying
why it cannot run, without importing its heavy library). Modules are imported only when used,
so choosing `mlp` never imports TensorFlow. A variant (e.g. `keras_tuned`) is the same module
with `settings` passed on as keyword arguments to `train_and_evaluate`, and to the module's
`check_settings(**settings)` (what the variant needs, e.g. a C++ compiler) when it has one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol


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
