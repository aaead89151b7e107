"""Layer descriptions: width, activation and (optionally) input width and kernel initializer.

A layer holds no arrays of its own until its network is built: the network keeps every kernel
and bias in one flat buffer, and gives each layer views into it (``W`` of shape (in, out), like
a Keras kernel, and ``b`` of shape (out,)). Assigning ``layer.W = array`` (the article's way of
setting weights) copies into that view, like Keras's ``assign``: rebinding the attribute would
leave training on the network's buffer while ``predict`` read the new array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import activations, initializers, validation
from .validation import positive_int as _check_width


class _Weights:
    """A layer attribute that reads the network's view (``W``, ``b``, and ``B``: the bias under
    the article's name) and copies an assigned array into it, checked by ``Dense._assign``."""

    def __init__(self, slot: str) -> None:
        self.slot = slot

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, layer: Any, owner: type | None = None) -> Any:
        return self if layer is None else getattr(layer, self.slot)

    def __set__(self, layer: Any, value: Any) -> None:
        layer._assign(self.name, getattr(layer, self.slot), value)


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
        self._W: Any = None
        self._b: Any = None
        self._backend: Any = None

    W = _Weights("_W")  # kernel, shape (in, out): a view into the network's parameters
    b = _Weights("_b")  # bias, shape (out,)
    B = _Weights("_b")

    def bind(self, W: Any, b: Any, backend: Any) -> None:
        """Point the layer at its network's views of the kernel and bias (done by ``NN.build``)."""
        self._W, self._b, self._backend = W, b, backend

    def _assign(self, name: str, target: Any, value: Any) -> None:
        """Copy ``value`` into the network's weights after checking it (nothing changes on error).
        A bias may come as (out,) or as the article's (1, out) row."""
        if target is None and self.input_dim is not None:
            raise ValueError(f"cannot set {name} of {self!r}: it belongs to no network (NN copies the layers it "
                             f"is given); assign through the network's own layer, net.layers[i].{name} = ...")
        if target is None:
            raise ValueError(f"cannot set {name} of {self!r} before its network is built: give the first "
                             "layer input_dim (or call net.build(n_features)), or use net.set_weights([...])")
        arr = validation.as_array(self._backend, name, value)
        if name != "W" and arr.ndim == 2 and arr.shape[0] == 1:
            arr = arr[0]
        if tuple(arr.shape) != tuple(target.shape):
            shape = tuple(int(n) for n in target.shape)
            raise ValueError(f"{name} has shape {tuple(arr.shape)}, expected {shape}: assign an array of the "
                             "layer's shape (kernels are (inputs, units), biases (units,))")
        validation.finite(self._backend, name, arr, fix="assign finite weights", dtype=target.dtype)
        target[...] = self._backend.asarray(arr, dtype=target.dtype)

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
