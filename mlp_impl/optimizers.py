"""Optimizers that update every parameter of a network at once.

All weights and biases of a network live in one flat buffer and all gradients in another of the
same layout, so one optimizer step is a dozen in-place calls on whole flat arrays, whatever the
number of layers. State (momentum, moments) is allocated once in the parameters' dtype and on
their device; the gradient buffer is scratch and may be overwritten by a step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .backend import Backend
from . import validation
from .validation import fraction, positive_float

ADAM_VARIANTS = ("keras", "article")


class Optimizer:
    """Base class: ``build`` binds the flat buffers, ``step`` applies one update."""

    name = ""
    _state_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.iterations = 0
        self._bk: Backend | None = None  # the backend, not its module: a module cannot be pickled

    def build(self, bk: Backend, params: Any, grads: Any) -> None:
        """Bind the flat parameter and gradient buffers and allocate zeroed state."""
        self._bk = bk
        self.params = params
        self.grads = grads
        self.iterations = 0
        for name in self._state_names:
            setattr(self, name, bk.xp.zeros_like(params))
        self._chunk = bk.elementwise_chunk or params.size
        self._pieces = self.pieces(0, params.size)

    def __getstate__(self) -> dict[str, Any]:
        """Copied and pickled without its pieces: views of its buffers, which a copy would hold as
        arrays of their own (its steps would then move no parameter); ``__setstate__`` cuts them
        again from the copy's buffers."""
        return {key: value for key, value in self.__dict__.items() if key != "_pieces"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if getattr(self, "params", None) is not None:
            self._pieces = self.pieces(0, self.params.size)

    def _buffers(self) -> tuple[Any, ...]:
        """The flat arrays one update reads and writes, parameters and gradients first."""
        return (self.params, self.grads)

    def pieces(self, start: int, stop: int) -> list[tuple[Any, ...]]:
        """Views of the buffers' range [start, stop) cut into cache-sized pieces: a step makes a
        dozen passes over the state, and on the CPU they run faster on pieces that stay in the
        core's cache. A range lets one layer's block be updated alone (the article's backprop)."""
        arrays, step = self._buffers(), self._chunk
        return [tuple(a[i : min(i + step, stop)] for a in arrays) for i in range(start, stop, step)]

    def step(self, learning_rate: float) -> None:
        """Apply one update to every parameter with the gradients now in the gradient buffer."""
        self.begin(learning_rate)
        self.update(self._pieces)

    def begin(self, learning_rate: float) -> None:
        """Start one update: count it and fix its step sizes (then ``update`` the pieces)."""
        raise NotImplementedError

    def update(self, pieces: list[tuple[Any, ...]]) -> None:
        """Update the given pieces (from ``pieces``) with the step begun by ``begin``."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, to save a network and to copy the optimizer."""
        raise NotImplementedError

    def clone(self) -> "Optimizer":
        """A fresh optimizer with the same settings and no state (one per network)."""
        return type(self)(**self.get_config())

    def reset(self) -> None:
        """Back to no updates: the state zeroed in place (views of it, such as a split step's
        pieces, stay valid)."""
        for name in self._state_names:
            getattr(self, name)[...] = 0
        self.iterations = 0

    def get_state(self, bk: Backend) -> dict[str, np.ndarray]:
        """Host copies of the state arrays plus the step count, for saving."""
        state = {name: np.array(bk.to_numpy(getattr(self, name))) for name in self._state_names}
        state["iterations"] = np.asarray(self.iterations)
        return state

    def set_state(self, bk: Backend, state: dict[str, np.ndarray]) -> None:
        """Restore what ``get_state`` returned (the optimizer must be built)."""
        for name in self._state_names:
            getattr(self, name)[...] = bk.asarray(state[name])
        self.iterations = int(state["iterations"])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Minibatch gradient descent with optional (heavy-ball) momentum, Keras's formulation.

    velocity = momentum * velocity - lr * g;  p += velocity  (plain p -= lr * g when momentum is 0).
    """

    name = "sgd"

    def __init__(self, momentum: float = 0.0) -> None:
        super().__init__()
        self.momentum = fraction("SGD momentum", momentum)
        self._state_names = ("velocity",) if self.momentum else ()

    def _buffers(self) -> tuple[Any, ...]:
        return (self.params, self.grads) + ((self.velocity,) if self.momentum else ())

    def begin(self, learning_rate: float) -> None:
        self._lr = learning_rate
        self.iterations += 1

    def update(self, pieces: list[tuple[Any, ...]]) -> None:
        xp, momentum, learning_rate = self._bk.xp, self.momentum, self._lr
        for piece in pieces:
            p, g = piece[0], piece[1]
            xp.multiply(g, learning_rate, g)
            if momentum:
                v = piece[2]
                xp.multiply(v, momentum, v)
                xp.subtract(v, g, v)
                xp.add(p, v, p)
            else:
                xp.subtract(p, g, p)

    def get_config(self) -> dict[str, Any]:
        return {"momentum": self.momentum}


def adam_step_sizes(learning_rate: float, t: int, beta_1: float, beta_2: float, epsilon: float,
                    keras: bool) -> tuple[float, float]:
    """Adam's alpha and eps for update number t (see ``Adam``). Plain arithmetic on numbers, so
    the fused whole-epoch kernel compiles this same function with Numba."""
    c2 = math.sqrt(1.0 - beta_2**t)
    return learning_rate * c2 / (1.0 - beta_1**t), epsilon if keras else epsilon * c2


class Adam(Optimizer):
    """Adam. ``variant="keras"`` is Keras's update exactly (its parity reference):
    m, v moving averages; alpha = lr * sqrt(1 - b2^t) / (1 - b1^t); p -= alpha * m / (sqrt(v) + eps),
    eps added to the uncorrected sqrt(v), default 1e-7. ``variant="article"`` is the article's:
    p -= lr * m_hat / (sqrt(v_hat) + eps) on the bias-corrected moments, default eps 1e-8; it is
    computed in the same folded form (alpha as above, eps * sqrt(1 - b2^t)), which is equal.
    ``epsilon=None`` picks the variant's default.
    """

    name = "adam"
    amsgrad = False

    def __init__(
        self,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float | None = None,
        variant: str = "keras",
    ) -> None:
        super().__init__()
        self.beta_1, self.beta_2 = fraction("Adam beta_1", beta_1), fraction("Adam beta_2", beta_2)
        variant = validation.known_name("Adam variant", variant, ADAM_VARIANTS)
        if epsilon is None:
            epsilon = 1e-7 if variant == "keras" else 1e-8
        self.epsilon, self.variant = positive_float("Adam epsilon", epsilon), variant
        self._state_names = ("m", "v") + (("v_max",) if self.amsgrad else ())

    def build(self, bk: Backend, params: Any, grads: Any) -> None:
        self.tmp = bk.xp.empty_like(params)
        super().build(bk, params, grads)

    def _buffers(self) -> tuple[Any, ...]:
        return (self.params, self.grads, self.m, self.v, self.tmp) + ((self.v_max,) if self.amsgrad else ())

    def begin(self, learning_rate: float) -> None:
        self.iterations += 1
        self._alpha, self._eps = adam_step_sizes(learning_rate, self.iterations, self.beta_1, self.beta_2,
                                                 self.epsilon, self.variant == "keras")

    def update(self, pieces: list[tuple[Any, ...]]) -> None:
        xp, b1, b2, alpha, eps = self._bk.xp, self.beta_1, self.beta_2, self._alpha, self._eps
        for piece in pieces:
            p, g, m, v, tmp = piece[:5]
            xp.multiply(m, b1, m)  # m = b1 m + (1 - b1) g
            xp.multiply(g, 1.0 - b1, tmp)
            xp.add(m, tmp, m)
            xp.multiply(v, b2, v)  # v = b2 v + (1 - b2) g^2 (g is scratch from here on)
            xp.square(g, g)
            xp.multiply(g, 1.0 - b2, g)
            xp.add(v, g, v)
            if self.amsgrad:
                v = xp.maximum(piece[5], v, out=piece[5])
            xp.sqrt(v, tmp)  # p -= alpha m / (sqrt(v) + eps)
            xp.add(tmp, eps, tmp)
            xp.divide(m, tmp, tmp)
            xp.multiply(tmp, alpha, tmp)
            xp.subtract(p, tmp, p)

    def get_config(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "variant": self.variant}


class AMSGrad(Adam):
    """Adam with the running maximum of v in the denominator (Keras's ``amsgrad=True``)."""

    name = "amsgrad"
    amsgrad = True


_REGISTRY: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, AMSGrad)}
NAMES = tuple(_REGISTRY)


def get(name: str | Optimizer, **config: Any) -> Optimizer:
    """A new optimizer called ``name`` built with ``config``; ValueError lists the valid names.

    An Optimizer instance is cloned (fresh state), so a network never shares state with another.
    """
    if isinstance(name, Optimizer):
        return name.clone()
    return _REGISTRY[validation.known_name("optimizer", name, NAMES)](**config)
