"""Finite-difference checks of the training step's gradients, in float64.

For every valid output activation x loss pairing (and every hidden activation), with and
without L1/L2, the backward pass of a training step must agree with central differences of the
loss that ``evaluate`` reports (an independent forward path). Every check runs on both kernels
(NumPy's calls and the fused Numba loops).
"""

from __future__ import annotations

import numpy as np
import pytest

from mlp_impl import NN, Dense
from mlp_impl import activations, losses

PAIRINGS = [(act, loss) for loss in ("mse", "mae") for act in activations.NAMES] + [
    ("sigmoid", "binary_crossentropy"),
    ("softmax", "categorical_crossentropy"),
]
PENALTIES = [(0.0, 0.0), (0.01, 0.02)]


def _data(loss: str, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((12, 3))
    if loss == "categorical_crossentropy":
        y = np.eye(k)[rng.integers(0, k, 12)]
    elif loss == "binary_crossentropy":
        y = rng.integers(0, 2, (12, k)).astype(float)
    else:
        y = rng.standard_normal((12, k))
    return x, y


def _numeric_gradients(net: NN, x: np.ndarray, y: np.ndarray, h: float = 1e-6) -> list[np.ndarray]:
    weights = net.get_weights()
    grads = []
    for i, w in enumerate(weights):
        g = np.zeros_like(w)
        for j in np.ndindex(w.shape):
            values = []
            for sign in (1, -1):
                trial = [v.copy() for v in weights]
                trial[i][j] += sign * h
                net.set_weights(trial)
                values.append(net.evaluate(x, y)["loss"])
            g[j] = (values[0] - values[1]) / (2 * h)
        grads.append(g)
    net.set_weights(weights)
    return grads


def _check(net: NN, x: np.ndarray, y: np.ndarray) -> None:
    # non-zero biases: with zero biases a row of dead relus puts the output exactly on a kink
    rng = np.random.default_rng(9)
    net.set_weights([w if w.ndim == 2 else 0.1 * rng.standard_normal(w.shape) for w in net.get_weights()])
    loss, analytic = net.gradients(x, y)
    assert loss == pytest.approx(net.evaluate(x, y)["loss"], rel=1e-12)
    numeric = _numeric_gradients(net, x, y)
    for a, n in zip(analytic, numeric):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7)


@pytest.fixture(params=["augmented", "plain"])
def input_layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both first-layer paths: small data with a ones column, large data read as is."""
    if request.param == "plain":
        monkeypatch.setattr(NN, "AUGMENT_MAX_BYTES", 0)
    return request.param


@pytest.mark.parametrize("l1,l2", PENALTIES)
@pytest.mark.parametrize("activation,loss", PAIRINGS)
def test_output_pairing_gradients(activation: str, loss: str, l1: float, l2: float, input_layout: str,
                                  kernels: str) -> None:
    rng = np.random.default_rng(3)
    k = 1 if loss == "binary_crossentropy" else 3
    x, y = _data(loss, k, rng)
    net = NN(
        [Dense(5, "tanh", input_dim=3), Dense(4, "relu"), Dense(k, activation)],
        loss=loss, initializer="glorot_uniform", dtype="float64", seed=1, l1=l1, l2=l2, kernels=kernels,
    )
    _check(net, x, y)


@pytest.mark.parametrize("l1,l2", PENALTIES)
@pytest.mark.parametrize("hidden", activations.NAMES)
def test_hidden_activation_gradients(hidden: str, l1: float, l2: float, kernels: str) -> None:
    rng = np.random.default_rng(4)
    x, y = _data("categorical_crossentropy", 3, rng)
    net = NN(
        [Dense(6, hidden, input_dim=3), Dense(3, "softmax")],
        loss="categorical_crossentropy", initializer="he", dtype="float64", seed=2, l1=l1, l2=l2, kernels=kernels,
    )
    _check(net, x, y)


def test_every_loss_is_covered() -> None:
    assert {loss for _, loss in PAIRINGS} == set(losses.NAMES)


@pytest.mark.parametrize("activation,loss", [("sigmoid", "binary_crossentropy"), ("linear", "mse")])
def test_single_layer_gradients(activation: str, loss: str, input_layout: str, kernels: str) -> None:
    x, y = _data(loss, 1, np.random.default_rng(5))
    net = NN([Dense(1, activation, input_dim=3)], loss=loss, dtype="float64", seed=0, l2=0.01, kernels=kernels)
    _check(net, x, y)
