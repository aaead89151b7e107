"""Losses, and the output "head" that joins the last activation to its loss.

Every loss is the mean over all output elements of a batch, like Keras (mean over the last axis,
then over the batch; categorical cross-entropy sums over classes, then averages over the batch).

The cross-entropies are computed from the logits ``z`` of the output layer, never from
log(probability): sigmoid + binary cross-entropy and softmax + categorical cross-entropy are
fused, so the output delta is simply (p - y) / m and no log(0) can occur. Keras does the same
with a sigmoid/softmax output layer (it reads the logits behind the activation), which keeps
the two implementations numerically comparable. Valid pairings: mse and mae with any output
activation, binary_crossentropy with sigmoid, categorical_crossentropy with softmax.

``gradient`` chooses the output delta: "standard" (above) or "article", the article's own loss
derivatives (its ``mlmath``): binary cross-entropy as (p - y) / (p(1 - p) + 1e-10) / m times the
sigmoid's derivative p(1 - p), and mse as (p - y) / m times the activation's derivative, each
divided by m again in its layer, so both are 1/m of the batch-mean gradient (and mse's lacks the
2), and the cross-entropy's vanishes where the sigmoid saturates (p(1 - p) << 1e-10). Its
categorical cross-entropy gradient is p - y, divided by m once in the layer: the standard one.
The article has no mae derivative. With "article" the training loss is also the value the article
logs (its epoch losses are the mean of these): cross-entropies of p with its clips, log(p + 1e-10)
for binary and -log(p_true + 1e-8) for categorical, which cap a confidently wrong row's loss.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from . import activations
from . import validation
from .backend import Backend

Op = Callable[[], Any]
NAMES = ("mse", "mae", "binary_crossentropy", "categorical_crossentropy")
_ALIASES = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}
_FUSED = {"binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax"}
GRADIENTS = ("standard", "article")
ARTICLE_BCE_EPS = 1e-10  # the article's binary_crossentropy(_derivative): added to p, 1 - p and p(1 - p)
ARTICLE_CCE_EPS = 1e-8   # the article's cross_entropy: -log(p_true + 1e-8)


def get(name: str) -> str:
    """The canonical loss name for ``name``; ValueError lists the valid names."""
    return validation.known_name("loss", name, NAMES, _ALIASES)


def check_pairing(loss: str, activation: str) -> None:
    """Raise ValueError when the output activation cannot feed ``loss``."""
    need = _FUSED.get(loss)
    if need is not None and activation != need:
        raise ValueError(
            f"loss {loss!r} needs a {need!r} output layer, got {activation!r}: "
            f"use activation={need!r} on the last layer or loss='mse'"
        )


class Head:
    """Output activation plus loss on fixed buffers: forward, loss value and output delta.

    ``forward`` writes p = f(z); ``loss()`` returns the batch's mean loss as a 0-d device value
    (no host sync); ``delta`` then writes dL/dz into ``delta``. Call them in that order.
    """

    def __init__(self, forward: list[Op], loss: Callable[[], Any], delta: list[Op]) -> None:
        self.forward = forward
        self.loss = loss
        self.delta = delta


def check_gradient(loss: str, gradient: str) -> str:
    """The canonical name of ``gradient``; ValueError for an unknown one or one ``loss`` does not have."""
    gradient = validation.known_name("loss gradient", gradient, GRADIENTS)
    if gradient == "article" and loss == "mae":
        raise ValueError("the article has no mae derivative: use loss_gradient='standard' or another loss")
    return gradient


def make_head(bk: Backend, loss: str, activation: str, z, p, y, delta, tmp, rows: int | None = None,
              gradient: str = "standard") -> Head:
    """Build the fused or generic head for one batch size; all arrays have shape (m, k). The loss
    and delta are averaged over ``rows`` (default m): more when these m rows are one part of a
    minibatch whose parts' losses and gradients are summed. ``gradient``: see the module docstring."""
    xp = bk.xp
    m, k = z.shape
    rows = m if rows is None else rows
    check_gradient(loss, gradient)
    article = gradient == "article"
    ones = xp.ones((m, k), dtype=z.dtype)  # sums as dot products: one BLAS call, cheaper than sum()
    if loss == "binary_crossentropy":
        scale = 1.0 / (rows * k)
        # mean of softplus(z) - y*z, which is -[y log p + (1-y) log(1-p)] with p = sigmoid(z);
        # taken per entry before the sum: the two sums apart cancel badly on confident float32
        # batches. delta is free scratch until the backward pass writes it.
        def bce() -> Any:
            xp.logaddexp(0.0, z, tmp)
            xp.subtract(tmp, xp.multiply(y, z, delta), tmp)
            return xp.vdot(ones, tmp) * scale

        if article:
            return Head([partial(bk.expit, z, p)], _article_bce_value(xp, p, y, delta, tmp, ones, scale),
                        _article_bce_ops(xp, p, y, delta, tmp, 1.0 / rows**2))
        return Head([partial(bk.expit, z, p)], bce, _residual_ops(xp, p, y, delta, scale))
    if loss == "categorical_crossentropy":
        scale = 1.0 / rows
        row = xp.empty((m, 1), dtype=z.dtype)
        ones_col = xp.ones((m, 1), dtype=z.dtype)
        forward = [
            partial(xp.max, z, axis=1, keepdims=True, out=row),
            partial(xp.subtract, z, row, z),
            partial(xp.exp, z, p),
            partial(xp.sum, p, axis=1, keepdims=True, out=row),
            partial(xp.divide, p, row, p),
        ]
        # with shifted logits z and row sums s: -sum(y log p) = sum(log s) - y.z (rows of y sum to 1)
        def cce() -> Any:
            return (xp.vdot(ones_col, xp.log(row, row)) - xp.vdot(y, z)) * scale

        def article_cce() -> Any:
            xp.add(p, ARTICLE_CCE_EPS, tmp)
            return -xp.vdot(y, xp.log(tmp, tmp)) * scale

        return Head(forward, article_cce if article else cce, _residual_ops(xp, p, y, delta, scale))
    return _regression_head(bk, loss, activations.get(activation), z, p, y, delta, tmp, ones, rows * k,
                            1.0 / rows**2 if article else None)


def _regression_head(bk: Backend, loss: str, act: Any, z, p, y, delta, tmp, ones, count: int,
                     mse_factor: float | None = None) -> Head:
    """mse or mae after any activation, averaged over ``count`` entries: dL/dp, then the
    activation's own backward. ``mse_factor`` replaces mse's 2 / count in dL/dp (the article's)."""
    xp = bk.xp
    scale = 1.0 / count
    forward = act.forward_ops(bk, z, p)
    back = act.backward_ops(bk, z, p, delta, tmp)
    if loss == "mse":
        def mse() -> Any:
            xp.subtract(p, y, tmp)
            return xp.vdot(tmp, tmp) * scale

        factor = 2.0 * scale if mse_factor is None else mse_factor
        return Head(forward, mse, [partial(xp.multiply, tmp, factor, delta)] + back)

    def mae() -> Any:
        xp.subtract(p, y, delta)
        return xp.vdot(ones, xp.abs(delta, tmp)) * scale

    return Head(forward, mae, [partial(xp.sign, delta, delta), partial(xp.multiply, delta, scale, delta)] + back)


def _residual_ops(xp: Any, p, y, delta, scale: float) -> list[Op]:
    """delta = (p - y) * scale: the fused cross-entropy gradient with respect to the logits."""
    return [partial(xp.subtract, p, y, delta), partial(xp.multiply, delta, scale, delta)]


def _article_bce_value(xp: Any, p, y, a, b, ones, scale: float) -> Callable[[], Any]:
    """The article's logged BCE: -mean(y log(p + 1e-10) + (1 - y) log(1 - p + 1e-10)), on scratch a, b."""
    def value() -> Any:
        xp.log(xp.add(p, ARTICLE_BCE_EPS, a), a)                        # log(p + eps)
        xp.log(xp.add(xp.subtract(1.0, p, b), ARTICLE_BCE_EPS, b), b)   # log(1 - p + eps)
        return -(xp.vdot(y, a) + xp.vdot(ones, b) - xp.vdot(y, b)) * scale

    return value


def _article_bce_ops(xp: Any, p, y, delta, tmp, scale: float) -> list[Op]:
    """delta = (p - y) * s / (s + 1e-10) * scale with s = p(1 - p): the article's BCE derivative
    times its sigmoid derivative; ``scale`` is 1/m for the derivative times 1/m in the layer."""
    return [partial(xp.subtract, 1.0, p, tmp), partial(xp.multiply, tmp, p, tmp),
            partial(xp.add, tmp, ARTICLE_BCE_EPS, delta), partial(xp.divide, tmp, delta, tmp),
            partial(xp.subtract, p, y, delta), partial(xp.multiply, delta, tmp, delta),
            partial(xp.multiply, delta, scale, delta)]


def evaluate_loss(bk: Backend, loss: str, activation: str, z, y) -> tuple[Any, Any]:
    """(mean loss as a 0-d array, output probabilities) for logits ``z``; allocates, for evaluate."""
    xp = bk.xp
    if loss == "binary_crossentropy":
        value = xp.mean(xp.logaddexp(0.0, z) - y * z)
        return value, bk.expit(z)
    if loss == "categorical_crossentropy":
        shifted = z - xp.max(z, axis=1, keepdims=True)
        log_sum = xp.log(xp.sum(xp.exp(shifted), axis=1))
        value = xp.mean(log_sum * xp.sum(y, axis=1) - xp.sum(y * shifted, axis=1))
        return value, xp.exp(shifted - log_sum[:, None])
    p = activations.get(activation).apply(bk, z.copy())
    diff = p - y
    value = xp.mean(diff * diff) if loss == "mse" else xp.mean(xp.abs(diff))
    return value, p
