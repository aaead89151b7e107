"""Activation functions, as in-place array operations built once per buffer set.

Training builds, for each layer, a short list of zero-argument calls that read the
pre-activation ``z`` and write the activation ``a`` (forward), and that multiply an incoming
gradient ``g`` by the activation's derivative in place (backward). Derivatives are taken from
the stored outputs (``z`` for relu, ``a`` for the others), never recomputed from scratch.
``apply`` is the allocating form used by ``predict`` and ``evaluate``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from . import validation
from .backend import Backend

Op = Callable[[], Any]


class Activation:
    """Base class: one activation's forward, backward and allocating forms."""

    name = ""

    def forward_ops(self, bk: Backend, z: Any, a: Any) -> list[Op]:
        """Calls that write f(z) into ``a`` (``z`` may be overwritten)."""
        raise NotImplementedError

    def backward_ops(self, bk: Backend, z: Any, a: Any, g: Any, tmp: Any) -> list[Op]:
        """Calls that turn ``g = dL/da`` into ``dL/dz`` in place; ``tmp`` is scratch like ``g``."""
        raise NotImplementedError

    def apply(self, bk: Backend, z: Any) -> Any:
        """f(z) as a new array (``z`` may be overwritten)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Activation):
    """Identity: used for regression outputs."""

    name = "linear"

    def forward_ops(self, bk, z, a):
        return [] if a is z else [partial(bk.xp.copyto, a, z)]

    def backward_ops(self, bk, z, a, g, tmp):
        return []

    def apply(self, bk, z):
        return z


class ReLU(Activation):
    """max(0, z); derivative 1 where z > 0, else 0 (as Keras and the article)."""

    name = "relu"

    def forward_ops(self, bk, z, a):
        return [partial(bk.xp.maximum, z, 0, out=a)]

    def backward_ops(self, bk, z, a, g, tmp):
        xp = bk.xp
        mask = xp.empty(z.shape, dtype=bool)  # a bool mask: a quarter of the memory traffic
        return [partial(xp.greater, z, 0, mask), partial(xp.multiply, g, mask, g)]

    def apply(self, bk, z):
        return bk.xp.maximum(z, 0, out=z)


class Sigmoid(Activation):
    """1 / (1 + exp(-z)) through the backend's ``expit`` (no overflow); derivative a(1 - a)."""

    name = "sigmoid"

    def forward_ops(self, bk, z, a):
        return [partial(bk.expit, z, a)]

    def backward_ops(self, bk, z, a, g, tmp):
        xp = bk.xp
        return [
            partial(xp.subtract, 1.0, a, tmp),
            partial(xp.multiply, tmp, a, tmp),
            partial(xp.multiply, g, tmp, g),
        ]

    def apply(self, bk, z):
        return bk.expit(z, out=z)


class Tanh(Activation):
    """tanh(z); derivative 1 - a^2."""

    name = "tanh"

    def forward_ops(self, bk, z, a):
        return [partial(bk.xp.tanh, z, a)]

    def backward_ops(self, bk, z, a, g, tmp):
        xp = bk.xp
        return [
            partial(xp.square, a, tmp),
            partial(xp.subtract, 1.0, tmp, tmp),
            partial(xp.multiply, g, tmp, g),
        ]

    def apply(self, bk, z):
        return bk.xp.tanh(z, out=z)


class Softmax(Activation):
    """Row-wise softmax, shifted by the row maximum so exp never overflows.

    Its backward is the Jacobian-vector product a * (g - sum(g * a)); an output softmax with
    categorical cross-entropy is fused in ``losses`` instead and never goes through it.
    """

    name = "softmax"

    def forward_ops(self, bk, z, a):
        xp = bk.xp
        row = xp.empty((z.shape[0], 1), dtype=z.dtype)
        return [
            partial(xp.max, z, axis=1, keepdims=True, out=row),
            partial(xp.subtract, z, row, z),
            partial(xp.exp, z, a),
            partial(xp.sum, a, axis=1, keepdims=True, out=row),
            partial(xp.divide, a, row, a),
        ]

    def backward_ops(self, bk, z, a, g, tmp):
        xp = bk.xp
        row = xp.empty((g.shape[0], 1), dtype=g.dtype)
        return [
            partial(xp.multiply, g, a, tmp),
            partial(xp.sum, tmp, axis=1, keepdims=True, out=row),
            partial(xp.subtract, g, row, g),
            partial(xp.multiply, g, a, g),
        ]

    def apply(self, bk, z):
        xp = bk.xp
        z -= xp.max(z, axis=1, keepdims=True)
        xp.exp(z, out=z)
        z /= xp.sum(z, axis=1, keepdims=True)
        return z


_REGISTRY: dict[str, Activation] = {
    cls.name: cls() for cls in (Linear, ReLU, Sigmoid, Tanh, Softmax)
}
NAMES = tuple(_REGISTRY)


def get(name: str | Activation | None) -> Activation:
    """The activation called ``name`` (None means linear); ValueError lists the valid names."""
    if isinstance(name, Activation):
        return name
    if name is None:
        return _REGISTRY["linear"]
    return _REGISTRY[validation.known_name("activation", name, NAMES)]
