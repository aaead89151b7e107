"""The update order (``NN(backprop=...)``): "standard" takes every gradient from the step's
starting weights (Keras); "article" updates each layer before the error for the layer below is
computed, through the updated kernel (the article's ``Layer.backward``). One step on a tiny net
is checked against a hand computation of each order."""

from __future__ import annotations

import numpy as np
import pytest

from mlp_impl import NN, SGD, Adam, Dense

LR = 0.5


def _net(backprop: str, optimizer=None, l2: float = 0.0) -> NN:
    layers = [Dense(4, activation="relu", input_dim=3), Dense(5, activation="tanh"), Dense(2, activation="softmax")]
    return NN(layers, loss="categorical_crossentropy", optimizer=optimizer or SGD(), dtype="float64", seed=3,
              sampling="sequential", backprop=backprop, l2=l2)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    y = np.eye(2)[rng.integers(0, 2, 6)]
    return x, y


def _hand_step(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, article: bool, l2: float) -> list[np.ndarray]:
    """One SGD step of the 3-4-5-2 relu/tanh/softmax net, written out; returns the new weights."""
    W1, b1, W2, b2, W3, b3 = [w.copy() for w in weights]
    z1 = x @ W1 + b1
    a1 = np.maximum(z1, 0)
    a2 = np.tanh(a1 @ W2 + b2)
    z3 = a2 @ W3 + b3
    p = np.exp(z3 - z3.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d3 = (p - y) / len(x)
    W3_new = W3 - LR * (a2.T @ d3 + 2 * l2 * W3)
    b3_new = b3 - LR * d3.sum(0)
    d2 = (d3 @ (W3_new if article else W3).T) * (1 - a2**2)
    W2_new = W2 - LR * (a1.T @ d2 + 2 * l2 * W2)
    b2_new = b2 - LR * d2.sum(0)
    d1 = (d2 @ (W2_new if article else W2).T) * (z1 > 0)
    return [W1 - LR * (x.T @ d1 + 2 * l2 * W1), b1 - LR * d1.sum(0), W2_new, b2_new, W3_new, b3_new]


@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("backprop", ["standard", "article"])
def test_one_step_matches_hand_computation(backprop: str, l2: float) -> None:
    x, y = _data()
    net = _net(backprop, l2=l2)
    start = net.get_weights()
    net.fit(x, y, epochs=1, learning_rate=LR, sample_size=len(x))
    expected = _hand_step(start, x, y, backprop == "article", l2)
    for got, want in zip(net.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_orders_differ_below_the_top_layer_only() -> None:
    x, y = _data()
    nets = {name: _net(name) for name in ("standard", "article")}
    for net in nets.values():
        net.fit(x, y, epochs=1, learning_rate=LR, sample_size=len(x))
    standard, article = (nets[name].get_weights() for name in ("standard", "article"))
    np.testing.assert_array_equal(standard[4], article[4])  # the top layer sees the same gradient
    assert not np.allclose(standard[0], article[0])  # layer 1 got an error through an updated W2


def test_article_order_with_adam_is_deterministic_and_saved(tmp_path) -> None:
    x, y = _data()
    runs = []
    for _ in range(2):
        net = _net("article", optimizer=Adam(variant="article"))
        losses = net.fit(x, y, epochs=5, learning_rate=0.01, sample_size=4)
        runs.append((losses, net.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    net.save(tmp_path / "net.npz")
    assert NN.load(tmp_path / "net.npz").backprop == "article"


def test_one_layer_orders_agree_and_bad_name_fails() -> None:
    x, y = _data()
    weights = []
    for backprop in ("standard", "article"):
        net = NN([Dense(2, activation="softmax", input_dim=3)], loss="categorical_crossentropy", optimizer=Adam(),
                 seed=1, sampling="sequential", backprop=backprop)
        net.fit(x, y, epochs=3, learning_rate=0.1, sample_size=4)
        weights.append(net.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="unknown backprop"):
        NN([Dense(1, input_dim=2)], backprop="keras")


def test_model_spec_passes_backprop_through() -> None:
    from experiments.models.mlp_model import build_network
    from experiments.models.spec import spec_from_config

    model = {"layers": [{"units": 4, "activation": "relu"}, {"units": 2, "activation": "softmax"}],
             "loss": "categorical_crossentropy", "optimizer": "adam", "learning_rate": 0.01,
             "batch_size": 4, "epochs": 1}
    assert spec_from_config(model).backprop == "standard"
    spec = spec_from_config({**model, "backprop": "article"})
    net = build_network(spec, 3, seed=0, dtype="float32", backend="numpy", sampling="shuffle")
    assert net.backprop == "article"
    with pytest.raises(ValueError, match="model.backprop"):
        spec_from_config({**model, "backprop": "late"})
