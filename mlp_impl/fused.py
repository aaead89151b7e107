"""Fused CPU kernels (Numba): ``NN(kernels="fused")``.

NumPy runs a training step's elementwise work as some thirty separate calls, each one pass over
its arrays. Here each piece of that work is one Numba loop: a hidden layer's activation, its
derivative times the incoming gradient, the output activation with its loss and output delta
(sigmoid + binary and softmax + categorical cross-entropy), the L1/L2 penalty, and each
optimizer's whole update in one pass over the flat parameter buffer. The matrix products stay
with BLAS. The maths is
``activations``, ``losses``, ``regularizers`` and ``optimizers`` written as loops, in the same
order of operations, so a fused step equals a NumPy step up to float rounding.

Numba is optional (``pip install -e '.[fused]'``); NumPy stays the default and the reference.
Kernels run on the NumPy backend only (Numba compiles for the CPU). By default they run on the
calling thread and release the GIL, so the row split (``parallel``) spreads them over the cores
as it does NumPy's calls; ``PARALLEL_MIN`` switches large arrays to Numba's own threads instead.
Kernels compile on first use and are cached on disk; ``warm_up`` compiles them ahead of a fit,
so compile time can be measured apart from fit time.
"""

from __future__ import annotations

import time
import types
from functools import partial
from typing import Any

import numpy as np

from . import activations, losses, optimizers, regularizers

try:
    import numba
    from numba import prange
except ImportError:  # checked by ``require`` before any fused work
    numba, prange = None, range

MISSING = ("kernels='fused' needs Numba, which is not installed: pip install -e '.[fused]' "
           "(or make install), or use kernels='numpy'")


def require(backend: Any) -> None:
    """Refuse, with the fix, a fused network that cannot run here (no Numba, or a GPU backend,
    given by name or as a ``Backend``)."""
    if numba is None:
        raise ValueError(MISSING)
    backend = getattr(backend, "name", backend)
    if backend != "numpy":
        raise ValueError(f"kernels='fused' runs on the CPU only (Numba), not on backend {backend!r}: "
                         "use kernels='numpy' with the GPU, or backend='numpy'")


def splits() -> bool:
    """Whether a fused step may be split over rows: only when the kernels run serially, since
    Numba's parallel loops already take every core (and would nest inside the split's threads)."""
    return PARALLEL_MIN is None


# Arrays of at least this many elements run Numba's parallel loops (its threads, every core);
# None: every kernel runs on the calling thread, and a step uses the row split (``parallel``)
# like NumPy's. None is the default: measured here (two cores shared with other jobs) parallel
# loops lost, e.g. one MNIST epoch 52 s with them (1 << 15) against 26 s serial, and an Adam
# update of MNIST's 476,490 parameters 32 ms against 10 ms; on an idle machine an Adam update
# ran 4.3 times faster in parallel (docs/fused_kernels.md).
PARALLEL_MIN: int | None = None


def _relu_forward(z, a):
    for i in prange(z.shape[0]):
        for j in range(z.shape[1]):
            a[i, j] = max(z[i, j], 0)

def _relu_backward(z, a, g):
    for i in prange(z.shape[0]):
        for j in range(z.shape[1]):
            if not z[i, j] > 0:
                g[i, j] = 0

def _sigmoid_forward(z, a):
    for i in prange(z.shape[0]):
        for j in range(z.shape[1]):
            a[i, j] = 1 / (1 + np.exp(-z[i, j]))

def _sigmoid_backward(z, a, g):
    for i in prange(z.shape[0]):
        for j in range(z.shape[1]):
            g[i, j] *= (1 - a[i, j]) * a[i, j]

def _tanh_forward(z, a):
    for i in prange(z.shape[0]):
        for j in range(z.shape[1]):
            a[i, j] = np.tanh(z[i, j])

def _tanh_backward(z, a, g):
    for i in prange(z.shape[0]):
        for j in range(z.shape[1]):
            g[i, j] *= 1 - a[i, j] * a[i, j]

def _sigmoid_bce(z, y, p, delta, scale):
    """p = sigmoid(z), delta = (p - y) * scale; returns the sum of softplus(z) - y z."""
    total = 0.0
    for i in prange(z.shape[0]):
        row = 0.0
        for j in range(z.shape[1]):
            v = z[i, j]
            p[i, j] = 1 / (1 + np.exp(-v))
            delta[i, j] = (p[i, j] - y[i, j]) * scale
            row += max(v, 0) + np.log1p(np.exp(-abs(v))) - y[i, j] * v
        total += row
    return total

def _softmax_cce(z, y, p, delta, scale):
    """Row softmax of z into p, delta = (p - y) * scale; returns the sum over rows of
    log(sum exp(z - max)) - y.(z - max), the cross-entropy when rows of y sum to 1."""
    total = 0.0
    for i in prange(z.shape[0]):
        top = z[i, 0]
        for j in range(1, z.shape[1]):
            top = max(top, z[i, j])
        s = 0.0
        dot = 0.0
        for j in range(z.shape[1]):
            p[i, j] = np.exp(z[i, j] - top)
            s += p[i, j]
            dot += y[i, j] * (z[i, j] - top)
        for j in range(z.shape[1]):
            p[i, j] /= s
            delta[i, j] = (p[i, j] - y[i, j]) * scale
        total += np.log(s) - dot
    return total

def _sgd(p, g, lr):
    for i in prange(p.size):
        p[i] -= g[i] * lr

def _sgd_momentum(p, g, v, lr, momentum):
    for i in prange(p.size):
        v[i] = v[i] * momentum - g[i] * lr
        p[i] += v[i]

def _adam(p, g, m, v, vmax, b1, b2, alpha, eps, amsgrad):
    c1, c2 = 1 - b1, 1 - b2
    for i in prange(p.size):
        m[i] = m[i] * b1 + g[i] * c1
        v[i] = v[i] * b2 + g[i] * g[i] * c2
        d = v[i]
        if amsgrad:
            d = max(vmax[i], d)
            vmax[i] = d
        p[i] -= m[i] / (np.sqrt(d) + eps) * alpha

def _penalty(p, g, mask, l1, l2):
    """Adds l1 sign(w) + 2 l2 w to the kernel entries' gradients; returns the penalty."""
    total = 0.0
    for i in prange(p.size):
        w = p[i] * mask[i]
        total += l2 * w * w + l1 * abs(w)
        g[i] += 2 * l2 * w + l1 * np.sign(w)
    return total

_COMPILED: dict[tuple[str, bool], Any] = {}


def kernel(loop: Any, size: int) -> Any:
    """The compiled form of ``loop`` for arrays of ``size`` elements: parallel from PARALLEL_MIN
    on, else serial. Each form is a function of its own name, so Numba's disk cache keeps both;
    both release the GIL, so the row split's threads run them side by side."""
    parallel = PARALLEL_MIN is not None and size >= PARALLEL_MIN
    key = (loop.__name__, parallel)
    if key not in _COMPILED:
        name = loop.__name__ + ("_parallel" if parallel else "_serial")
        copy = types.FunctionType(loop.__code__, loop.__globals__, name)
        copy.__qualname__ = name
        _COMPILED[key] = numba.njit(parallel=parallel, fastmath=True, cache=True, nogil=True, error_model="numpy")(copy)
    return _COMPILED[key]


class _Fused(activations.Activation):
    """A hidden or regression-output activation as two Numba loops (forward, backward)."""

    def __init__(self, reference: activations.Activation, forward: Any, backward: Any) -> None:
        self.name, self._reference = reference.name, reference
        self._forward, self._backward = forward, backward

    def forward_ops(self, bk, z, a):
        return [partial(kernel(self._forward, z.size), z, a)]

    def backward_ops(self, bk, z, a, g, tmp):
        return [partial(kernel(self._backward, z.size), z, a, g)]

    def apply(self, bk, z):
        return self._reference.apply(bk, z)


_ACTIVATIONS = {"relu": (_relu_forward, _relu_backward), "sigmoid": (_sigmoid_forward, _sigmoid_backward),
                "tanh": (_tanh_forward, _tanh_backward)}


def activation(name: str) -> activations.Activation:
    """The fused form of activation ``name`` where there is one (relu, sigmoid, tanh), else
    NumPy's (linear has no work; a hidden softmax is rare and stays NumPy's)."""
    reference = activations.get(name)
    if reference.name not in _ACTIVATIONS:
        return reference
    return _Fused(reference, *_ACTIVATIONS[reference.name])


class _HeadKernel:
    """One call that writes p and delta and keeps the batch loss for ``loss``."""

    def __init__(self, loop: Any, z, y, p, delta, scale: float, divide: float) -> None:
        self._call = partial(kernel(loop, z.size), z, y, p, delta, z.dtype.type(scale))
        self._divide, self.value = divide, 0.0

    def forward(self) -> None:
        self.value = self._call() / self._divide

    def loss(self) -> float:
        return self.value


def make_head(bk: Any, loss: str, act: str, z, p, y, delta, tmp, rows: int | None = None,
              gradient: str = "standard") -> losses.Head:
    """``losses.make_head`` with the cross-entropy heads as one Numba loop (activation, loss and
    delta together); mse, mae and the article's loss derivatives keep NumPy's head around the
    fused output activation."""
    m, k = z.shape
    rows = m if rows is None else rows
    if gradient != "standard":
        return losses.make_head(bk, loss, activation(act), z, p, y, delta, tmp, rows=rows, gradient=gradient)
    if loss == "binary_crossentropy":
        head = _HeadKernel(_sigmoid_bce, z, y, p, delta, 1.0 / (rows * k), rows * k)
    elif loss == "categorical_crossentropy":
        head = _HeadKernel(_softmax_cce, z, y, p, delta, 1.0 / rows, rows)
    else:
        return losses.make_head(bk, loss, activation(act), z, p, y, delta, tmp, rows=rows)
    return losses.Head([head.forward], head.loss, [])


class _FusedUpdate:
    """Mixin for an optimizer class: its whole update as one Numba pass per piece, and one
    piece per range (Numba's threads split it; NumPy's cache-sized pieces do not pay here)."""

    def build(self, bk, params, grads):
        super().build(bk, params, grads)
        self._chunk = params.size
        self._pieces = self.pieces(0, params.size)

    def update(self, pieces):
        for piece in pieces:
            self._fused_update(piece, piece[0].dtype.type)


class _FusedSGD(_FusedUpdate, optimizers.SGD):
    def _fused_update(self, piece, dt):
        if self.momentum:
            kernel(_sgd_momentum, piece[0].size)(*piece[:3], dt(self._lr), dt(self.momentum))
        else:
            kernel(_sgd, piece[0].size)(*piece[:2], dt(self._lr))


class _FusedAdam(_FusedUpdate, optimizers.Adam):
    def _fused_update(self, piece, dt):
        vmax = piece[5] if self.amsgrad else piece[3]
        kernel(_adam, piece[0].size)(*piece[:4], vmax, dt(self.beta_1), dt(self.beta_2), dt(self._alpha),
                                     dt(self._eps), self.amsgrad)


class _FusedAMSGrad(_FusedAdam, optimizers.AMSGrad):
    pass


_OPTIMIZERS = {cls.name: cls for cls in (_FusedSGD, _FusedAdam, _FusedAMSGrad)}


def optimizer(reference: optimizers.Optimizer) -> optimizers.Optimizer:
    """A fresh fused optimizer with ``reference``'s settings (same name, config and state layout,
    so saving, loading and cloning work as for NumPy's)."""
    return _OPTIMIZERS[reference.name](**reference.get_config())


class Penalty(regularizers.Penalty):
    """L1/L2 penalty whose training-step share (value and gradient) is one Numba pass."""

    def _apply(self, params, grads, mask, tmp):
        dt = params.dtype.type
        return kernel(_penalty, params.size)(params, grads, mask, dt(self.l1), dt(self.l2))


def warm_up(dtype: Any) -> float:
    """Compile (or load from Numba's disk cache) both forms of every kernel for ``dtype``, on tiny
    arrays laid out as a training step's; returns the seconds it took, recorded apart from fit time."""
    start = time.perf_counter()
    dt = np.dtype(dtype).type
    z, g = np.zeros((2, 3), dtype=dt), np.zeros((2, 3), dtype=dt)
    a = np.zeros((2, 4), dtype=dt)[:, :3]  # hidden outputs are views that skip the ones column
    flat = np.zeros(6, dtype=dt)
    for size in (0,) if PARALLEL_MIN is None else (0, PARALLEL_MIN):
        for forward, backward in _ACTIVATIONS.values():
            kernel(forward, size)(z, a)
            kernel(backward, size)(z, a, g)
        for loop in (_sigmoid_bce, _softmax_cce):
            kernel(loop, size)(z, z.copy(), g.copy(), g, dt(1.0))
        kernel(_sgd, size)(flat, flat.copy(), dt(0.1))
        kernel(_sgd_momentum, size)(flat, flat.copy(), flat.copy(), dt(0.1), dt(0.9))
        for amsgrad in (False, True):
            kernel(_adam, size)(flat, *(flat.copy() for _ in range(4)), *map(dt, (0.9, 0.999, 0.1, 1e-7)), amsgrad)
        kernel(_penalty, size)(flat, flat.copy(), flat.copy(), dt(0.1), dt(0.1))
    return time.perf_counter() - start
