"""Layer descriptions: width, activation and (optionally) input width and kernel initializer.

A layer holds no arrays of its own until its network is built: the network keeps every kernel
and bias in one flat buffer, and gives each layer views into it (``W`` of shape (in, out), like
a Keras kernel, and ``b`` of shape (out,)).
"""

from __future__ import annotations

from typing import Any

from . import activations, initializers
from .validation import positive_int as _check_width


class Dense:
    """A fully connected layer given by its width; the input width is inferred when the network
    is built (first ``fit``/``predict``/``build``), unless ``input_dim`` is given.

    ``kernel_initializer`` (a name) overrides the network's initializer for this layer.
    """

    def __init__(
        self,
        units: int,
        activation: str | None = "linear",
        input_dim: int | None = None,
        kernel_initializer: str | None = None,
    ) -> None:
        self.units = _check_width("units", units)
        self.activation = activations.get(activation).name
        self.input_dim = None if input_dim is None else _check_width("input_dim", input_dim)
        if kernel_initializer is not None:
            initializers.get(kernel_initializer)
        self.kernel_initializer = kernel_initializer
        self.W: Any = None
        self.b: Any = None

    @property
    def B(self) -> Any:
        """The bias, under the article's name."""
        return self.b

    def get_config(self) -> dict[str, Any]:
        """What is needed to rebuild the layer (saved with the network)."""
        return {
            "units": self.units,
            "activation": self.activation,
            "input_dim": self.input_dim,
            "kernel_initializer": self.kernel_initializer,
        }

    def __repr__(self) -> str:
        dim = "" if self.input_dim is None else f", input_dim={self.input_dim}"
        return f"Dense({self.units}, activation={self.activation!r}{dim})"


class Layer(Dense):
    """The article's two-width form: ``Layer(input_size, output_size, activation)``."""

    def __init__(
        self,
        input_size: int,
        output_size: int,
        activation: str | None = "linear",
        kernel_initializer: str | None = None,
    ) -> None:
        super().__init__(output_size, activation, input_dim=input_size, kernel_initializer=kernel_initializer)
