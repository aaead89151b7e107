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

import contextlib
import inspect
import time
import types
import zlib
from functools import partial
from typing import Any, Callable, Iterator

import numpy as np

from . import activations, losses, optimizers, pcg64, regularizers

try:
    import numba
    from numba import prange
except ImportError:  # checked by ``require`` before any fused work
    numba, prange = None, range
try:  # private to Numba (pinned): without it ``direct`` keeps to the dispatcher
    from numba._dispatcher import compute_fingerprint
except ImportError:
    compute_fingerprint = None

MISSING = ("kernels='fused' needs Numba, which is not installed: pip install -e '.[fused]' "
           "(or make install), or use kernels='numpy'")


def require(backend: Any) -> None:
    """Refuse, with the fix, a fused network that cannot run here (no Numba, or a GPU backend,
    given by name or as a ``Backend``)."""
    if numba is None:
        raise ValueError(MISSING)
    backend = getattr(backend, "name", backend)
    if not isinstance(backend, str) or backend.lower() != "numpy":
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

# LLVM's fast-math flags for every loop: reassociation lets it vectorize the sums, contraction
# fuses multiply-adds; reciprocals and the sign of zero do not change a NaN. Not "nnan"/"ninf"
# (assume no NaN or infinity) nor "afn" (approximate functions, which promise nothing for NaN):
# a NaN in the weights or data must come out as NaN, as with NumPy's kernels (it also changed the
# Adam update's rounding: docs/fused_kernels.md).
FASTMATH = frozenset({"reassoc", "contract", "arcp", "nsz"})


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
    """p = sigmoid(z), delta = (p - y) * scale; returns the sum of softplus(z) - y z. softplus(v)
    is max(v, 0) + log(1 + e), e = exp(-|v|): the logs of up to 512 elements are taken at once, as
    log1p of the product of their 1 + e, less one, kept as such (grow = (1 + grow)(1 + e) - 1, at
    most 2**512), so a loss near zero keeps its digits; one exp an element, on the units x rows
    layout of the whole-epoch kernel half the time of a log1p each."""
    total = 0.0
    n = z.shape[1]
    for i in prange(z.shape[0]):
        row = 0.0
        for start in range(0, n, 512):
            grow = 0.0
            for j in range(start, min(start + 512, n)):
                v = z[i, j]
                e = np.exp(-abs(v))
                s = 1.0 / (1.0 + e)  # sigmoid(|v|)
                p[i, j] = s if v >= 0 else e * s
                delta[i, j] = (p[i, j] - y[i, j]) * scale
                row += max(v, 0) - y[i, j] * v
                grow += e + grow * e
            row += np.log1p(grow)
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

def _whole_epoch(x, y, order, shuffle, words, updates, starts, widths, acts, head, params, grads, mask, m1, m2, m3,
                 update, b1, b2, momentum, beta_1, beta_2, epsilon, keras, learning_rate, counts, scales, l1, l2,
                 xb, yb, zb, ab, db):
    """Every step of one epoch in one call: ``shuffle``: first ``order`` = the next permutation of
    the generator whose state is ``words`` (``pcg64.permute``); then for minibatch s (rows
    ``order[starts[s]:starts[s + 1]]``) gather, forward, head, backward (all gradients from the
    step's starting weights), penalty and update (``update`` < 0: none, the gradients stay in
    ``grads``; else ``updates[0]``, the optimizer's update count, advances with each, and Adam's
    step sizes come from ``optimizers.adam_step_sizes`` with the float64 ``beta_1``, ``beta_2``);
    the head's loss is averaged over ``counts[s]`` (``head_rows``), ``scales[s]`` = 1 / that.
    The buffers hold each layer transposed (units x rows), so the small products run along the
    rows, contiguous and vectorized; the elementwise loops above take them as they are (the order
    of elements does not matter to them), the softmax, which works along each row, through ``.T``.
    Returns the sum over steps of (batch loss + penalty) x rows."""
    if shuffle:
        _permute(order, words)
    layers = widths.size - 1
    d, k = widths[0], widths[layers]
    zero = params.dtype.type(0)
    total = 0.0
    for s in range(starts.size - 1):
        lo, m = starts[s], starts[s + 1] - starts[s]
        x_t = xb[: d * m].reshape((d, m))
        y_t = yb[: k * m].reshape((k, m))
        for i in range(m):
            r = order[lo + i]
            for j in range(d):
                x_t[j, i] = x[r, j]
            for j in range(k):
                y_t[j, i] = y[r, j]
        at, start = 0, 0  # offsets of layer l's units x rows in the buffers and of its block [W; b]
        a_in = x_t
        for l in range(layers):
            n_in, n_out = widths[l], widths[l + 1]
            w = params[start : start + n_in * n_out].reshape((n_in, n_out))
            z = zb[at : at + n_out * m].reshape((n_out, m))
            a = ab[at : at + n_out * m].reshape((n_out, m))
            for j in range(n_out):
                z[j, :] = params[start + n_in * n_out + j]
                for q in range(n_in):
                    wqj = w[q, j]
                    for i in range(m):
                        z[j, i] += wqj * a_in[q, i]
            if l < layers - 1:
                if acts[l] == 1:
                    _relu_forward(z, a)
                elif acts[l] == 2:
                    _sigmoid_forward(z, a)
                elif acts[l] == 3:
                    _tanh_forward(z, a)
                else:
                    a[:, :] = z
            a_in = a
            at += n_out * m
            start += (n_in + 1) * n_out
        delta = db[at - k * m : at].reshape((k, m))
        if head == 0:
            loss = _sigmoid_bce(z, y_t, a, delta, scales[s]) / counts[s]
        else:
            loss = _softmax_cce(z.T, y_t.T, a.T, delta.T, scales[s]) / counts[s]
        for l in range(layers - 1, -1, -1):
            n_in, n_out = widths[l], widths[l + 1]
            start -= (n_in + 1) * n_out
            at -= n_out * m
            delta = db[at : at + n_out * m].reshape((n_out, m))
            gw = grads[start : start + n_in * n_out].reshape((n_in, n_out))
            a_in = x_t if l == 0 else ab[at - n_in * m : at].reshape((n_in, m))
            for j in range(n_out):
                acc = zero
                for i in range(m):
                    acc += delta[j, i]
                grads[start + n_in * n_out + j] = acc
            for q in range(n_in):
                for j in range(n_out):
                    acc = zero
                    for i in range(m):
                        acc += a_in[q, i] * delta[j, i]
                    gw[q, j] = acc
            if l > 0:
                w = params[start : start + n_in * n_out].reshape((n_in, n_out))
                below = db[at - n_in * m : at].reshape((n_in, m))
                for q in range(n_in):
                    below[q, :] = zero
                    for j in range(n_out):
                        wqj = w[q, j]
                        for i in range(m):
                            below[q, i] += wqj * delta[j, i]
                z = zb[at - n_in * m : at].reshape((n_in, m))
                if acts[l - 1] == 1:
                    _relu_backward(z, a_in, below)
                elif acts[l - 1] == 2:
                    _sigmoid_backward(z, a_in, below)
                elif acts[l - 1] == 3:
                    _tanh_backward(z, a_in, below)
        if l1 != 0 or l2 != 0:
            loss += _penalty(params, grads, mask, l1, l2)
        if update == 0:
            _sgd(params, grads, params.dtype.type(learning_rate))
        elif update == 1:
            _sgd_momentum(params, grads, m1, params.dtype.type(learning_rate), momentum)
        elif update >= 2:
            alpha, eps = adam_step_sizes(learning_rate, updates[0] + 1, beta_1, beta_2, epsilon, keras)
            _adam(params, grads, m1, m2, m3, b1, b2, params.dtype.type(alpha), params.dtype.type(eps), update == 3)
        if update >= 0:
            updates[0] += 1
        total += loss * m
    return total


_COMPILED: dict[tuple[str, bool], Any] = {}


def kernel(loop: Any, size: int) -> Any:
    """The compiled form of ``loop`` for arrays of ``size`` elements: parallel from PARALLEL_MIN
    on, else serial. Each form is a function of its own name, so Numba's disk cache keeps both;
    both release the GIL, so the row split's threads run them side by side."""
    return _compiled(loop, PARALLEL_MIN is not None and size >= PARALLEL_MIN)


def _compiled(loop: Any, parallel: bool) -> Any:
    key = (loop.__name__, parallel)
    if key not in _COMPILED:
        name = loop.__name__ + ("_parallel" if parallel else "_serial")
        _COMPILED[key] = _compile_as(loop, name, loop.__globals__, parallel)
    return _COMPILED[key]


def _compile_as(function: Any, name: str, scope: dict[str, Any], parallel: bool = False) -> Any:
    """``function`` compiled as a function called ``name`` (Numba's disk cache keeps each name
    apart) that sees ``scope`` as its globals, with every kernel's options: ``FASTMATH``, the GIL
    released, cached on disk."""
    copy = types.FunctionType(function.__code__, scope, name)
    copy.__qualname__ = name
    return numba.njit(parallel=parallel, fastmath=set(FASTMATH), cache=True, nogil=True, error_model="numpy")(copy)


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


_HEAD_LOOPS = {"binary_crossentropy": _sigmoid_bce, "categorical_crossentropy": _softmax_cce}


def head_rows(loss: str, rows: int, outputs: int) -> int:
    """How many values a cross-entropy head averages its loss and delta over: rows x outputs
    (binary, one sigmoid per output) or rows (categorical)."""
    return rows * outputs if loss == "binary_crossentropy" else rows


def make_head(bk: Any, loss: str, act: str, z, p, y, delta, tmp, rows: int | None = None,
              gradient: str = "standard") -> losses.Head:
    """``losses.make_head`` with the cross-entropy heads as one Numba loop (activation, loss and
    delta together); mse, mae and the article's loss derivatives keep NumPy's head around the
    fused output activation."""
    m, k = z.shape
    rows = m if rows is None else rows
    if gradient != "standard":
        return losses.make_head(bk, loss, activation(act), z, p, y, delta, tmp, rows=rows, gradient=gradient)
    if loss in _HEAD_LOOPS:
        count = head_rows(loss, rows, k)
        head = _HeadKernel(_HEAD_LOOPS[loss], z, y, p, delta, 1.0 / count, count)
    else:
        return losses.make_head(bk, loss, activation(act), z, p, y, delta, tmp, rows=rows)
    return losses.Head([head.forward], head.loss, [])


def update_plan(params: np.ndarray, update: int, **given: Any) -> dict[str, Any]:
    """``_whole_epoch``'s update arguments, by name: ``update`` (-1 none, 0 SGD, 1 with momentum,
    2 Adam, 3 AMSGrad) and what that update reads, the rest neutral (empty state arrays, zero
    settings) with the types the kernel was compiled for. Not the update count: the caller
    passes it in ``updates``, which the kernel advances as it applies each update."""
    dt, none = params.dtype.type, params[:0]
    plan = {"update": update, "m1": none, "m2": none, "m3": none, "b1": dt(0), "b2": dt(0), "momentum": dt(0),
            "beta_1": 0.0, "beta_2": 0.0, "epsilon": 0.0, "keras": True}
    unknown = set(given) - set(plan)
    if unknown:
        raise TypeError(f"not an update argument of _whole_epoch: {sorted(unknown)}")
    return {**plan, **given}


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
    def epoch_plan(self) -> dict[str, Any]:
        """``_whole_epoch``'s update arguments by name (``update_plan``)."""
        if not self.momentum:
            return update_plan(self.params, 0)
        return update_plan(self.params, 1, m1=self.velocity, momentum=self.params.dtype.type(self.momentum))

    def _fused_update(self, piece, dt):
        if self.momentum:
            kernel(_sgd_momentum, piece[0].size)(*piece[:3], dt(self._lr), dt(self.momentum))
        else:
            kernel(_sgd, piece[0].size)(*piece[:2], dt(self._lr))


class _FusedAdam(_FusedUpdate, optimizers.Adam):
    def epoch_plan(self) -> dict[str, Any]:
        """``_whole_epoch``'s update arguments by name (``update_plan``)."""
        dt = self.params.dtype.type
        return update_plan(self.params, 3 if self.amsgrad else 2, m1=self.m, m2=self.v,
                           m3=self.v_max if self.amsgrad else self.v, b1=dt(self.beta_1), b2=dt(self.beta_2),
                           beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, keras=self.variant == "keras")

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
    """Compile (or load from Numba's disk cache) both forms of every kernel and the whole-epoch
    kernel for ``dtype``, on tiny arrays laid out as a training step's; returns the seconds it
    took, recorded apart from fit time."""
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
    codes = np.zeros(2, dtype=np.int64)  # no minibatch: compiles WholeEpoch's kernel, runs nothing
    buffers = dict(zip(("params", "grads", "mask", "scales", "xb", "yb", "zb", "ab", "db"), (flat,) * 9))
    arguments = kernel_arguments(
        x=z, y=z, order=codes[:0], shuffle=False, words=_no_state(), updates=codes[:1], starts=codes[:1], widths=codes,
        acts=codes[:1], head=0, learning_rate=0.1, counts=np.zeros(0), l1=dt(0), l2=dt(0), **buffers,
        **update_plan(flat, 0))
    whole = _epoch_kernel()
    whole(*arguments)
    direct(whole, arguments)  # the entry point a fit with the shuffle calls direct
    return time.perf_counter() - start


# Steps with at most this many rows x parameters run as one compiled call per epoch
# (``WholeEpoch``); larger ones keep BLAS for their products, where it wins (docs/fused_kernels.md).
WHOLE_EPOCH_MAX = 1 << 16
_ACTIVATION_CODES = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3}
_HEAD_CODES = {"binary_crossentropy": 0, "categorical_crossentropy": 1}  # _whole_epoch's head branch


class WholeEpoch:
    """A fused network's epoch of small steps as one call of ``_whole_epoch``: a step of a small
    network is call overhead (a dozen calls of a few microseconds each), so the calls go."""

    @staticmethod
    def fits(net: Any, batch_size: int) -> bool:
        """Whether ``net``'s steps of ``batch_size`` rows can and should run this way: standard
        backprop and loss gradient, a cross-entropy head, hidden activations with a loop, no
        thread count asked for beyond one (the row split is step by step), and a step small enough
        (``WHOLE_EPOCH_MAX``)."""
        acts = [layer.activation for layer in net.layers]
        return (net.kernels == "fused" and net.backprop == "standard" and net.loss_gradient == "standard"
                and net.loss in _HEAD_CODES and all(a in _ACTIVATION_CODES for a in acts[:-1])
                and net.threads in (None, 1) and batch_size * net.n_params <= WHOLE_EPOCH_MAX)

    def __init__(self, net: Any, batch_size: int) -> None:
        self.net, dtype = net, net.dtype
        widths = net.widths
        self.widths = np.asarray(widths, dtype=np.int64)
        self.acts = np.asarray([_ACTIVATION_CODES.get(l.activation, 0) for l in net.layers], dtype=np.int64)
        self.head = _HEAD_CODES[net.loss]
        self.xb = np.empty(batch_size * widths[0], dtype=dtype)
        self.yb = np.empty(batch_size * widths[-1], dtype=dtype)
        self.zb, self.ab, self.db = (np.empty(batch_size * sum(widths[1:]), dtype=dtype) for _ in range(3))
        penalty = net.penalty
        self.mask = penalty.mask if penalty.active else net.params[:0]
        self.l1, self.l2 = dtype.type(penalty.l1), dtype.type(penalty.l2)
        self._kernel = _epoch_kernel()

    @contextlib.contextmanager
    def epochs(self, x: np.ndarray, y: np.ndarray, sampler: Any, learning_rate: float) -> Iterator[Callable[[], float]]:
        """A function that trains the next epoch on the sampler's minibatches and returns the sum
        over steps of (batch loss + penalty) x rows, as the step-by-step loop adds them.

        The kernel's arguments are built once for the fit: the optimizer's settings (momentum,
        betas, epsilon) are read when it starts. Where the sampler's order is a plain permutation
        under PCG64 (``Sampler.permutes``, ``pcg64.supports``) the kernel draws it itself, the
        draws NumPy would make, from a copy of the network's generator state (``pcg64.hold``). The
        generator is set to the state they leave when the fit ends, however it ends, and, between
        epochs, when it is read (``NN._rng``, ``NN.__copy__``: a callback may save or copy the
        network); an epoch after such a read takes the generator's state afresh, so draws made
        in between (say by a copy of the network, which shares the generator) count as they do
        with NumPy's kernels, which draw from the generator itself."""
        inside = sampler.permutes() and pcg64.supports(sampler.rng, sampler.n)
        words = _no_state()  # drawing inside, each epoch that does not hold them loads them
        order = np.empty(sampler.n, dtype=np.int64) if inside else None
        updates = np.zeros(1, dtype=np.int64)  # the kernel counts the updates it applies here
        arguments = self._arguments(x, y, order, inside, words, updates, sampler.starts, learning_rate,
                                    self.net.optimizer.epoch_plan())
        # drawing inside, an epoch changes the update count alone: the types stay, so call direct
        kernel = direct(self._kernel, arguments) if inside else self._kernel
        optimizer, rng = self.net.optimizer, sampler.rng

        def epoch() -> float:
            if not inside:
                arguments[_ORDER] = sampler.epoch_order()
            elif not pcg64.holds(rng, words):  # the first epoch, or the generator was read since
                pcg64.take(rng, words)  # written back when the generator is next read
            updates[0] = optimizer.iterations
            try:
                return kernel(*arguments)  # a Python float (Numba boxes the kernel's float64)
            finally:  # the updates it applied, even when Ctrl-C is raised as the call returns
                optimizer.iterations = int(updates[0])

        try:
            yield epoch
        finally:
            if inside:  # what the last call drew, even one that failed; nothing if read since
                pcg64.release(rng)

    def averaging(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per minibatch, the count its head averages over (``head_rows``, float64) and 1 / count in
        the network's dtype (the delta's scale)."""
        outputs = int(self.widths[-1])
        counts = np.asarray([head_rows(self.net.loss, m, outputs) for m in np.diff(starts)], dtype=np.float64)
        return counts, (1.0 / counts).astype(self.net.dtype)

    def gradients(self, x: np.ndarray, y: np.ndarray) -> float:
        """One step's forward and backward on all of (x, y), no update: the batch loss (plus
        penalty); the gradients are left in the network's gradient buffer (``NN.gradients``)."""
        n = x.shape[0]
        starts = np.asarray([0, n], dtype=np.int64)
        return self._kernel(*self._arguments(x, y, np.arange(n, dtype=np.int64), False, _no_state(),
                                             np.zeros(1, dtype=np.int64), starts, 0.0,
                                             update_plan(self.net.params, -1))) / n

    def _arguments(self, x, y, order, shuffle, words, updates, starts, learning_rate, plan) -> list[Any]:
        """``_whole_epoch``'s arguments; ``plan`` from ``update_plan``."""
        net = self.net
        counts, scales = self.averaging(starts)
        return kernel_arguments(
            x=x, y=y, order=order, shuffle=shuffle, words=words, updates=updates, starts=starts, widths=self.widths,
            acts=self.acts, head=self.head, params=net.params, grads=net.grads, mask=self.mask,
            learning_rate=learning_rate, counts=counts, scales=scales, l1=self.l1, l2=self.l2,
            xb=self.xb, yb=self.yb, zb=self.zb, ab=self.ab, db=self.db, **plan)


_PARAMETERS = tuple(inspect.signature(_whole_epoch).parameters)
_ORDER = _PARAMETERS.index("order")  # what an epoch sets when the kernel does not draw
_DATA = ("x", "y")  # what the kernel reads and never writes


def kernel_arguments(**values: Any) -> list[Any]:
    """``_whole_epoch``'s arguments, given by name, in its order (one place that knows it). The
    data go as read-only views, which the kernel only reads: writable and read-only data (say
    ``np.load(..., mmap_mode="r")``) then share one compiled signature, the one ``warm_up``
    compiles, instead of the second compiling inside a timed fit."""
    mismatched = set(_PARAMETERS) ^ set(values)  # missing or unknown
    if mismatched:
        raise TypeError(f"_whole_epoch's arguments do not match its parameters: {sorted(mismatched)}")
    return [_read_only(values[name]) if name in _DATA else values[name] for name in _PARAMETERS]


def _read_only(data: np.ndarray) -> np.ndarray:
    """A read-only view of ``data`` (``data`` stays writable)."""
    view = data.view()
    view.flags.writeable = False
    return view


_ENTRY_POINTS: dict[tuple[Any, ...], Callable[..., Any]] = {}


def direct(kernel: Any, arguments: list[Any]) -> Callable[..., Any]:
    """``kernel``'s compiled function for the types of ``arguments`` (compiled now if need be),
    to be called without Numba's dispatch, which works out the type of every argument on every
    call. Only for calls whose arguments keep those types: the compiled function checks an
    array's item size alone, not its dtype, dimensions or layout. Kept per kernel and argument
    types (``_types_key``): about 15 µs a fit, against 0.6 ms for Numba's ``typeof`` of every
    argument. Arguments that key cannot tell apart go to the dispatcher."""
    key = _types_key(kernel, arguments)
    if key is None:
        return kernel
    if key not in _ENTRY_POINTS:
        _ENTRY_POINTS[key] = kernel.compile(tuple(map(kernel.typeof_pyval, arguments)))
    return _ENTRY_POINTS[key]


def _types_key(kernel: Any, arguments: list[Any]) -> tuple[Any, ...] | None:
    """What fixes the Numba types of ``arguments``: Numba's fingerprint of each (kind, dimensions,
    layout, writability; an array's dtype number) with each array's dtype, which also tells its
    byte order; None where Numba has no fingerprint (or we cannot reach it)."""
    if compute_fingerprint is None:
        return None
    try:
        return (kernel, *((compute_fingerprint(a), getattr(a, "dtype", None)) for a in arguments))
    except NotImplementedError:  # e.g. float16, an int subclass
        return None


def _no_state() -> np.ndarray:
    """State words for a kernel call, zero: a call that draws (``shuffle``) has a generator's state
    loaded into them first (``WholeEpoch.epochs``), one that does not never touches them; a fresh
    array each time, so no call can change another's."""
    return np.zeros(len(pcg64.STATE_WORDS), dtype=np.uint64)


def epoch_kernel_name() -> str:
    """The compiled kernel's name, with a digest of the code it takes from other files
    (``optimizers.adam_step_sizes``, the ``pcg64`` module): Numba's disk cache checks this file
    alone, so a change there must change the name to be compiled afresh."""
    sources = inspect.getsource(optimizers.adam_step_sizes) + inspect.getsource(pcg64)  # stable across processes
    return f"_whole_epoch_serial_{zlib.crc32(sources.encode()):08x}"


def _epoch_kernel() -> Any:
    """``_whole_epoch`` compiled, calling the serial forms of the per-piece loops."""
    if ("_whole_epoch", False) not in _COMPILED:
        loops = (_relu_forward, _relu_backward, _sigmoid_forward, _sigmoid_backward, _tanh_forward, _tanh_backward,
                 _sigmoid_bce, _softmax_cce, _sgd, _sgd_momentum, _adam, _penalty)
        scope = {**globals(), **{loop.__name__: _compiled(loop, False) for loop in loops},
                 "adam_step_sizes": numba.njit(optimizers.adam_step_sizes), "_permute": numba.njit(pcg64.permute)}
        _COMPILED["_whole_epoch", False] = _compile_as(_whole_epoch, epoch_kernel_name(), scope)
    return _COMPILED["_whole_epoch", False]
