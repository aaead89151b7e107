"""An implementation's registry entry: its name, backends, sampling and its adapter.

The adapter (experiments.models.adapter.Adapter) is an instance: a variant of a peer (e.g.
`keras_tuned`) is the same adapter class built with the variant's settings (`Keras(tuned=True)`).
Adapter modules import their libraries only inside their methods, so building the registry
imports no TensorFlow, PyTorch or scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

from .adapter import Adapter


@dataclass(frozen=True)
class Implementation:
    """A registry entry: the name used in `impls=[...]`, its backends and its adapter."""

    name: str
    backends: tuple[str, ...]
    adapter: Adapter
    fixed_sampling: str | None = None  # how it samples whatever the config says (Keras: "shuffle")
    gpu_backend: str | None = None  # what `backend=cupy` (the GPU) means for it, e.g. "torch-cuda"
    family: str = ""  # the peer a variant belongs to (keras_tuned -> keras); the name itself when empty
    how: str = ""  # how it is run and timed, in a line: the report's list of implementations says it

    def __post_init__(self) -> None:
        self.adapter.name = self.name  # one adapter instance per entry: its messages name this entry

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
