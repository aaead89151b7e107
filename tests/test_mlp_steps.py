"""Hand-computed steps for each part of the training algorithm and their combinations.

Every expected value here is written out from the published update rules (Keras's SGD, Adam and
AMSGrad; the article's Adam on bias-corrected moments; the article's top-down backprop order),
in plain NumPy on per-layer arrays, never through mlp_impl's flat buffers or folded constants.
A step that counts, corrects or orders anything differently fails at float64 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlp_impl import NN, SGD, Adam, AMSGrad, Dense, get_backend

RTOL = 1e-12
# gradients over three steps: one tiny entry (epsilon dominates its update), sign flips, and a
# large first gradient followed by small ones (AMSGrad's maximum then differs from v)
GRADS = np.array([
    [0.5, -1e-6, 2.0, -0.3, 1e-3],
    [-0.2, 3e-6, 0.1, -0.3, -2e-3],
    [0.1, -2e-6, 0.05, 0.4, 1e-3],
])
START = np.array([0.3, -0.1, 0.7, 0.0, -1.2])


def _run_flat(optimizer, learning_rate: float) -> list[np.ndarray]:
    """The parameters after each of the three GRADS steps of ``optimizer`` on START."""
    params, grads = START.copy(), np.empty_like(START)
    optimizer.build(get_backend("numpy"), params, grads)
    out = []
    for g in GRADS:
        grads[...] = g
        optimizer.step(learning_rate)
        out.append(params.copy())
    assert optimizer.iterations == len(GRADS)
    return out


def _sgd(lr: float, momentum: float) -> list[np.ndarray]:
    """Keras SGD: velocity = momentum * velocity - lr * g; p = p + velocity."""
    p, velocity, out = START.copy(), np.zeros_like(START), []
    for g in GRADS:
        velocity = momentum * velocity - lr * g
        p = p + velocity
        out.append(p)
    return out


def _adam(lr: float, b1: float, b2: float, eps: float, rule: str) -> list[np.ndarray]:
    """Adam three ways. "article": p -= lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - b1^t),
    v_hat = v / (1 - b2^t) (Kingma & Ba, Algorithm 1, as the article writes it). "keras":
    p -= lr_t * m / (sqrt(v) + eps) with lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) (Keras's adam.py).
    "amsgrad": Keras's, with v replaced by its running maximum."""
    p, m, v, v_max, out = START.copy(), np.zeros_like(START), np.zeros_like(START), np.zeros_like(START), []
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if rule == "article":
            p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        else:
            v_max = np.maximum(v_max, v)
            lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
            p = p - lr_t * m / (np.sqrt(v_max if rule == "amsgrad" else v) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_three_steps(momentum: float) -> None:
    for got, want in zip(_run_flat(SGD(momentum=momentum), 0.1), _sgd(0.1, momentum)):
        np.testing.assert_allclose(got, want, rtol=RTOL)


@pytest.mark.parametrize("eps", [None, 1e-3])
@pytest.mark.parametrize("variant", ["keras", "article"])
def test_adam_three_steps(variant: str, eps: float | None) -> None:
    """Default and a large epsilon: the article adds it to the corrected sqrt(v_hat), Keras to
    the uncorrected sqrt(v); on the tiny-gradient entry the two differ by far more than RTOL."""
    b1, b2 = 0.8, 0.99
    eps = eps or {"keras": 1e-7, "article": 1e-8}[variant]
    optimizer = Adam(beta_1=b1, beta_2=b2, epsilon=None if eps < 1e-6 else eps, variant=variant)
    want = _adam(0.01, b1, b2, eps, variant)
    other = _adam(0.01, b1, b2, eps, "keras" if variant == "article" else "article")
    for got, expected, wrong in zip(_run_flat(optimizer, 0.01), want, other):
        np.testing.assert_allclose(got, expected, rtol=RTOL)
        assert not np.allclose(got, wrong, rtol=1e-9, atol=0)  # negative control: the other rule


def test_adam_default_epsilons_and_betas() -> None:
    assert (Adam().beta_1, Adam().beta_2, Adam().epsilon) == (0.9, 0.999, 1e-7)
    assert Adam(variant="article").epsilon == 1e-8
    for got, want in zip(_run_flat(Adam(variant="article"), 0.01), _adam(0.01, 0.9, 0.999, 1e-8, "article")):
        np.testing.assert_allclose(got, want, rtol=RTOL)


def test_amsgrad_three_steps_uses_the_running_maximum() -> None:
    want = _adam(0.02, 0.9, 0.999, 1e-7, "amsgrad")
    plain = _adam(0.02, 0.9, 0.999, 1e-7, "keras")
    got = _run_flat(AMSGrad(), 0.02)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=RTOL)
    assert not np.allclose(got[-1], plain[-1], rtol=1e-6)  # the maximum mattered


# ------------------------------------------------------------------ whole networks, by hand
def _forward(w: list[np.ndarray], x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """3-4-5-2 relu/tanh/softmax: layer inputs, z1 and softmax output."""
    z1 = x @ w[0] + w[1]
    a1 = np.maximum(z1, 0)
    a2 = np.tanh(a1 @ w[2] + w[3])
    z3 = a2 @ w[4] + w[5]
    p = np.exp(z3 - z3.max(1, keepdims=True))
    return [x, a1, a2], z1, p / p.sum(1, keepdims=True)


class _HandAdam:
    """One Adam state per array, shared step counter t: the article's rule written out."""

    def __init__(self, weights: list[np.ndarray], b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
        self.m = [np.zeros_like(w) for w in weights]
        self.v = [np.zeros_like(w) for w in weights]
        self.b1, self.b2, self.eps, self.t = b1, b2, eps, 0

    def update(self, i: int, w: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
        b1, b2, t = self.b1, self.b2, self.t
        self.m[i] = b1 * self.m[i] + (1 - b1) * g
        self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
        return w - lr * (self.m[i] / (1 - b1**t)) / (np.sqrt(self.v[i] / (1 - b2**t)) + self.eps)


def _hand_adam_steps(w: list[np.ndarray], x, y, steps: int, lr: float, article: bool, l2: float = 0.0):
    """``steps`` full-batch steps with the article's Adam; returns the losses before each step
    and the final weights. With ``article`` each layer is updated before the delta goes down
    through its (updated) kernel; the step counter advances once per step, not per layer."""
    w, opt, losses = [a.copy() for a in w], _HandAdam(w), []
    for _ in range(steps):
        opt.t += 1
        inputs, z1, p = _forward(w, x)
        losses.append(-np.mean(np.sum(y * np.log(p), 1)) + l2 * sum(np.sum(w[k] ** 2) for k in (0, 2, 4)))
        delta = (p - y) / len(x)
        for layer in (2, 1, 0):
            k = 2 * layer
            grad_w = inputs[layer].T @ delta + 2 * l2 * w[k]
            grad_b = delta.sum(0)
            old_kernel = w[k]
            w[k] = opt.update(k, w[k], grad_w, lr)
            w[k + 1] = opt.update(k + 1, w[k + 1], grad_b, lr)
            kernel = w[k] if article else old_kernel
            if layer == 2:
                delta = (delta @ kernel.T) * (1 - inputs[2] ** 2)
            elif layer == 1:
                delta = (delta @ kernel.T) * (z1 > 0)
    return losses, w


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3))
    return x, np.eye(2)[[0, 1, 1, 0, 1, 0]]


@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("backprop", ["article", "standard"])
def test_article_adam_three_steps_in_each_backprop_order(backprop: str, l2: float) -> None:
    """The combination ``make bench`` runs (article Adam, article order) over three steps."""
    x, y = _data()
    net = NN([Dense(4, "relu", input_dim=3), Dense(5, "tanh"), Dense(2, "softmax")], loss="categorical_crossentropy",
             optimizer=Adam(variant="article"), dtype="float64", seed=2, sampling="sequential", backprop=backprop, l2=l2)
    start = net.get_weights()
    history = net.fit(x, y, epochs=3, learning_rate=0.05, sample_size=6)
    losses, want = _hand_adam_steps(start, x, y, 3, 0.05, backprop == "article", l2)
    np.testing.assert_allclose(history, losses, rtol=RTOL)
    for got, expected in zip(net.get_weights(), want):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)
    assert net.optimizer.iterations == 3
    _, other = _hand_adam_steps(start, x, y, 3, 0.05, backprop != "article", l2)
    assert not np.allclose(net.get_weights()[0], other[0], rtol=1e-6)  # the order is visible


def test_epoch_loss_is_the_row_weighted_mean_of_batch_losses() -> None:
    """sequential batches of 4 and 2 rows: the epoch's loss weights each batch by its rows."""
    x, y = _data()
    net = NN([Dense(2, "softmax", input_dim=3)], loss="categorical_crossentropy", optimizer=SGD(),
             dtype="float64", seed=0, sampling="sequential")
    w, b = net.get_weights()

    def batch(rows: slice, w, b):
        z = x[rows] @ w + b
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        loss = -np.mean(np.sum(y[rows] * np.log(p), 1))
        d = (p - y[rows]) / len(p)
        return loss, w - 0.3 * x[rows].T @ d, b - 0.3 * d.sum(0)

    first, w1, b1 = batch(slice(0, 4), w, b)
    second, w2, b2 = batch(slice(4, 6), w1, b1)
    history = net.fit(x, y, epochs=1, learning_rate=0.3, sample_size=4)
    assert history[0] == pytest.approx((4 * first + 2 * second) / 6, rel=RTOL)
    np.testing.assert_allclose(net.get_weights()[0], w2, rtol=RTOL)
    np.testing.assert_allclose(net.get_weights()[1], b2, rtol=RTOL)


# loss -> (output activation, loss of outputs p and targets y, dL/dp), means over all m*k entries
LOSSES = {
    "mse": ("tanh", lambda p, y: np.mean((p - y) ** 2), lambda p, y: 2 * (p - y) / p.size),
    "mae": ("linear", lambda p, y: np.mean(np.abs(p - y)), lambda p, y: np.sign(p - y) / p.size),
    "binary_crossentropy": ("sigmoid", lambda p, y: -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)),
                            lambda p, y: (p - y) / (p * (1 - p)) / p.size),
}
OUT_ACTS = {"tanh": (np.tanh, lambda p: 1 - p**2), "linear": (lambda z: z, np.ones_like),
            "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda p: p * (1 - p))}


@pytest.mark.parametrize("loss", list(LOSSES))
def test_each_loss_one_sgd_step_on_one_layer(loss: str) -> None:
    """Loss value and update of a 3-2 layer from the loss's textbook formula and the chain rule."""
    act, value, dloss = LOSSES[loss]
    f, df = OUT_ACTS[act]
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 3))
    y = (rng.random((5, 2)) > 0.5).astype(float) if loss == "binary_crossentropy" else rng.standard_normal((5, 2))
    net = NN([Dense(2, act, input_dim=3)], loss=loss, optimizer=SGD(), dtype="float64", seed=4, sampling="sequential")
    w, b = net.get_weights()
    p = f(x @ w + b)
    delta = dloss(p, y) * df(p)
    history = net.fit(x, y, epochs=1, learning_rate=0.2, sample_size=5)
    assert history[0] == pytest.approx(value(p, y), rel=RTOL)
    np.testing.assert_allclose(net.get_weights()[0], w - 0.2 * x.T @ delta, rtol=RTOL)
    np.testing.assert_allclose(net.get_weights()[1], b - 0.2 * delta.sum(0), rtol=RTOL)


@pytest.mark.parametrize("loss", list(LOSSES) + ["categorical_crossentropy"])
def test_evaluate_reports_each_loss_plus_the_penalty(loss: str) -> None:
    """evaluate's loss from the textbook formula at the current weights, plus l1 sum|W| + l2 sum W^2."""
    act = LOSSES[loss][0] if loss in LOSSES else "softmax"
    rng = np.random.default_rng(11)
    x = rng.standard_normal((7, 3))
    if loss == "categorical_crossentropy":
        y = np.eye(2)[[0, 1, 1, 0, 1, 1, 0]]
    elif loss == "binary_crossentropy":
        y = (rng.random((7, 2)) > 0.5).astype(float)
    else:
        y = rng.standard_normal((7, 2))
    net = NN([Dense(2, act, input_dim=3)], loss=loss, dtype="float64", seed=6, l1=0.003, l2=0.02)
    w, b = net.get_weights()
    z = x @ w + b
    if loss == "categorical_crossentropy":
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        value = -np.mean(np.sum(y * np.log(p), 1))
    else:
        value = LOSSES[loss][1](OUT_ACTS[act][0](z), y)
    penalty = 0.003 * np.abs(w).sum() + 0.02 * (w**2).sum()
    assert net.evaluate(x, y)["loss"] == pytest.approx(value + penalty, rel=RTOL)


def test_evaluate_is_finite_for_large_logits_of_different_sizes() -> None:
    """Softmax cross-entropy shifted by each row's own maximum: logits near 1000 in one row and
    near 0 in another still give the loss of the formula written with log-sum-exp."""
    net = NN([Dense(3, "softmax", input_dim=2)], loss="categorical_crossentropy", dtype="float64", seed=0)
    net.set_weights([np.array([[990.0, 1000.0, 995.0], [0.0, 1.0, 2.0]]), np.zeros(3)])
    x, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.eye(3)[[1, 2]]
    z = x @ net.get_weights()[0]
    log_sum = z.max(1) + np.log(np.exp(z - z.max(1, keepdims=True)).sum(1))
    expected = np.mean(log_sum - (y * z).sum(1))  # rows: log(1 + e^-10 + e^-5), log(1 + e^-1 + e^-2)
    assert expected == pytest.approx((np.log(1 + np.exp(-10) + np.exp(-5)) + np.log(1 + np.exp(-1) + np.exp(-2))) / 2)
    metrics = net.evaluate(x, y)
    assert metrics["loss"] == pytest.approx(expected, rel=RTOL)
    assert metrics["misclassified"] == 0  # each row's largest logit is its label, 1000 and 2


def test_training_loss_is_finite_for_large_logits() -> None:
    """The training head shifts each row's logits by their maximum before exp, as evaluate does."""
    net = NN([Dense(3, "softmax", input_dim=2)], loss="categorical_crossentropy", optimizer=SGD(),
             dtype="float64", seed=0, sampling="sequential")
    net.set_weights([np.array([[1000.0, 990.0, 995.0], [0.0, 1.0, 2.0]]), np.zeros(3)])
    x, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.eye(3)[[1, 2]]
    expected = (10 + np.log(1 + np.exp(-10) + np.exp(-5)) + np.log(1 + np.exp(-1) + np.exp(-2))) / 2
    assert net.fit(x, y, epochs=1, learning_rate=1e-3, sample_size=2)[0] == pytest.approx(expected, rel=RTOL)


def test_evaluate_loss_returns_the_softmax_probabilities() -> None:
    """``losses.evaluate_loss`` gives probabilities too (rows summing to 1), not only their argmax."""
    from mlp_impl import losses

    z = np.array([[2.0, 1.0, 0.0], [0.5, 0.5, 3.0]])
    _, p = losses.evaluate_loss(get_backend("numpy"), "categorical_crossentropy", "softmax", z, np.eye(3)[[0, 2]])
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(1, keepdims=True), rtol=RTOL)


def test_softmax_outside_the_fused_head_shifts_each_row_by_its_own_maximum() -> None:
    """A softmax output under mse goes through the activation itself (predict's allocating form and
    training's calls on reused buffers), not the cross-entropy head. Logits [1000, 1001, 999] and
    [0, 1, -1]: both rows are softmax([0, 1, -1]) = [1, e, 1/e] / (1 + e + 1/e); unshifted, or
    shifted by the largest logit of the whole batch, exp overflows or underflows to 0/0."""
    net = NN([Dense(3, "softmax", input_dim=2)], loss="mse", optimizer=SGD(), dtype="float64", seed=0,
             sampling="sequential")
    net.set_weights([np.array([[1000.0, 1001.0, 999.0], [0.0, 1.0, -1.0]]), np.zeros(3)])
    x, y = np.eye(2), np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    q = np.array([1.0, np.e, 1 / np.e]) / (1 + np.e + 1 / np.e)
    np.testing.assert_allclose(net.predict(x), [q, q], rtol=RTOL)
    mse = ((q[0] - 1) ** 2 + q[1] ** 2 + q[2] ** 2 + q[0] ** 2 + q[1] ** 2 + (q[2] - 1) ** 2) / 6
    # the second epoch reuses the buffers of the first (its row sums then hold about 1 + e + 1/e);
    # a learning rate of 1e-12 moves the logits by far less than the tolerance
    assert net.fit(x, y, epochs=2, learning_rate=1e-12, sample_size=2) == [pytest.approx(mse, rel=1e-9)] * 2
