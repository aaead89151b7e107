"""The output delta (``NN(loss_gradient=...)``): "article" is the article's own loss derivative
(its mlmath.binary_crossentropy_derivative and mse_derivative, each divided by the batch size
there and again in Layer.backward). One SGD step on a 2-3-1 net is checked against the article's
equations written out here with plain NumPy, in the article's own order of operations."""

from __future__ import annotations

import numpy as np
import pytest

from mlp_impl import NN, SGD, Dense

LR = 0.5
X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [1.0, 1.0]])
Y = np.array([[1.0], [0.0], [1.0], [0.0]])
W1 = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.3]])
B1 = np.array([0.05, -0.1, 0.0])
W2 = np.array([[0.7], [-0.5], [0.2]])
B2 = np.array([0.1])


def _net(loss: str, gradient: str, out: str = "sigmoid", backprop: str = "standard", weights=None) -> NN:
    net = NN([Dense(3, activation="relu", input_dim=2), Dense(1, activation=out)], loss=loss, optimizer=SGD(),
             dtype="float64", seed=0, sampling="sequential", loss_gradient=gradient, backprop=backprop)
    net.set_weights(weights or [W1, B1, W2, B2])
    return net


def _article_step(loss: str, out: str = "sigmoid", w2: np.ndarray = W2) -> list[np.ndarray]:
    """The article's Layer.backward on the whole batch, top layer first (its backprop order:
    the error for layer 1 goes through the UPDATED W2), written from its equations."""
    m = len(X)
    d1 = X @ W1 + B1
    a1 = np.maximum(d1, 0)
    d2 = a1 @ w2 + B2
    o = 1 / (1 + np.exp(-d2)) if out == "sigmoid" else d2
    if loss == "binary_crossentropy":
        error = (o - Y) / (o * (1 - o) + 1e-10) / m          # dL/dO, divided by m
        act_err = o * (1 - o) * error                         # times the sigmoid's derivative
    else:
        act_err = (o - Y) / m                                 # mse_derivative; linear output
    w2_new = w2 - LR * (a1.T @ act_err) / m                   # the layer divides by N again
    b2_new = B2 - LR * act_err.mean(axis=0)
    err1 = (act_err @ w2_new.T) * (d1 > 0)
    return [W1 - LR * (X.T @ err1) / m, B1 - LR * err1.mean(axis=0), w2_new, b2_new]


def _standard_bce_step() -> list[np.ndarray]:
    """Textbook batch-mean BCE with the fused sigmoid gradient (p - y) / m, standard order."""
    m = len(X)
    d1 = X @ W1 + B1
    a1 = np.maximum(d1, 0)
    p = 1 / (1 + np.exp(-(a1 @ W2 + B2)))
    delta = (p - Y) / m
    err1 = (delta @ W2.T) * (d1 > 0)
    return [W1 - LR * X.T @ err1, B1 - LR * err1.sum(0), W2 - LR * a1.T @ delta, B2 - LR * delta.sum(0)]


def _step(net: NN) -> list[np.ndarray]:
    net.fit(X, Y, epochs=1, learning_rate=LR, sample_size=len(X))
    return net.get_weights()


def _assert_weights(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.ravel(g), np.ravel(w), rtol=1e-12, atol=1e-15)


def test_article_bce_step_matches_the_articles_equations() -> None:
    _assert_weights(_step(_net("binary_crossentropy", "article", backprop="article")),
                    _article_step("binary_crossentropy"))


def test_article_mse_step_matches_the_articles_equations() -> None:
    _assert_weights(_step(_net("mse", "article", out="linear", backprop="article")), _article_step("mse", out="linear"))


def test_standard_bce_step_is_the_textbook_one_and_unchanged() -> None:
    _assert_weights(_step(_net("binary_crossentropy", "standard")), _standard_bce_step())


def test_article_bce_gradient_is_one_mth_of_the_standard_one_away_from_saturation() -> None:
    """With the standard order, the article's top-layer step is the standard step divided by m
    (up to the 1e-10 in its denominator)."""
    m = len(X)
    article = _step(_net("binary_crossentropy", "article"))
    standard = _standard_bce_step()
    np.testing.assert_allclose(article[2] - W2, (standard[2] - W2) / m, rtol=1e-8)
    assert not np.allclose(article[2], standard[2])  # negative control: the two really differ


def test_article_bce_gradient_vanishes_when_the_sigmoid_saturates() -> None:
    """p(1 - p) far below 1e-10 (logit ~ -40 for a survivor): the article's delta is ~0, the
    standard one is ~ -1/m."""
    big = [W1, B1, W2, np.array([-40.0])]
    article = _step(_net("binary_crossentropy", "article", weights=big))
    standard = _step(_net("binary_crossentropy", "standard", weights=big))
    moved, standard_moved = article[3][0] + 40.0, standard[3][0] + 40.0
    assert standard_moved > 0.1
    assert 0 <= moved < 1e-7 * standard_moved


def test_article_cce_gradient_is_the_standard_one() -> None:
    layers = lambda: [Dense(3, activation="relu", input_dim=2), Dense(2, activation="softmax")]  # noqa: E731
    y = np.eye(2)[[0, 1, 1, 0]]
    nets = [NN(layers(), loss="categorical_crossentropy", optimizer=SGD(), dtype="float64", seed=4,
               sampling="sequential", loss_gradient=g) for g in ("standard", "article")]
    for net in nets:
        net.fit(X, y, epochs=1, learning_rate=LR, sample_size=len(X))
    for a, b in zip(*(net.get_weights() for net in nets)):
        np.testing.assert_array_equal(a, b)


def test_unknown_gradient_and_article_mae_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown loss gradient 'keras'"):
        _net("binary_crossentropy", "keras")
    with pytest.raises(ValueError, match="no mae derivative"):
        NN([Dense(1, input_dim=2)], loss="mae", loss_gradient="article")


def test_loss_gradient_is_saved_and_loaded(tmp_path) -> None:
    net = _net("binary_crossentropy", "article")
    net.save(tmp_path / "net.npz")
    assert NN.load(tmp_path / "net.npz").loss_gradient == "article"


def test_article_bce_logs_the_articles_clipped_loss() -> None:
    """The epoch loss with loss_gradient='article' is the article's mlmath.binary_crossentropy
    (log(p + 1e-10)), which caps a confidently wrong row; the standard one is exact."""
    big = [W1, B1, W2, np.array([-40.0])]
    a1 = np.maximum(X @ W1 + B1, 0)
    p = 1 / (1 + np.exp(-(a1 @ W2 - 40.0)))
    clipped = -np.mean(Y * np.log(p + 1e-10) + (1 - Y) * np.log(1 - p + 1e-10))
    z = a1 @ W2 - 40.0
    exact = np.mean(np.logaddexp(0, z) - Y * z)
    article = _net("binary_crossentropy", "article", weights=big).fit(X, Y, 1, LR, len(X))[0]
    standard = _net("binary_crossentropy", "standard", weights=big).fit(X, Y, 1, LR, len(X))[0]
    assert article == pytest.approx(clipped, rel=1e-12) and standard == pytest.approx(exact, rel=1e-12)
    assert clipped < 0.6 * exact  # the clip matters here: ~23 per wrong row instead of ~40


def test_article_cce_logs_the_articles_clipped_loss() -> None:
    y = np.eye(2)[[0, 1, 1, 0]]
    w2, b2 = np.array([[30.0, -30.0], [-20.0, 25.0], [5.0, 0.0]]), np.array([0.0, 0.0])
    a1 = np.maximum(X @ W1 + B1, 0)
    z = a1 @ w2 + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    clipped = np.mean(-np.log(p[y == 1] + 1e-8))
    exact = np.mean(-np.log(p[y == 1]))
    got = {}
    for g in ("article", "standard"):
        net = NN([Dense(3, activation="relu", input_dim=2), Dense(2, activation="softmax")],
                 loss="categorical_crossentropy", optimizer=SGD(), dtype="float64", seed=0,
                 sampling="sequential", loss_gradient=g)
        net.set_weights([W1, B1, w2, b2])
        got[g] = net.fit(X, y, 1, LR, len(X))[0]
    assert got["article"] == pytest.approx(clipped, rel=1e-10) and got["standard"] == pytest.approx(exact, rel=1e-10)
    assert not np.isclose(clipped, exact)
