"""The article's whole algorithm in mlp_impl (Adam with eps on the corrected moments, its backprop
order, its BCE derivative, float64, its sampler) against two steps of its Layer.backward/Adam
written out here from the article's printed equations on a 2-3-1 net."""

from __future__ import annotations

import numpy as np

from mlp_impl import NN, Adam, Dense

LR, B1, B2, EPS = 0.05, 0.9, 0.999, 1e-8
X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [1.0, 1.0], [0.2, -0.4]])
Y = np.array([[1.0], [0.0], [1.0], [0.0], [1.0]])
START = [np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.3]]), np.array([0.05, -0.1, 0.0]),
         np.array([[0.7], [-0.5], [0.2]]), np.array([0.1])]


def _article_steps(steps: int) -> list[np.ndarray]:
    w1, b1, w2, b2 = (a.copy() for a in START)
    moments = [[0.0, 0.0] for _ in range(4)]
    n = len(X)
    for t in range(1, steps + 1):
        d1 = X @ w1 + b1
        a1 = np.maximum(d1, 0)
        o = 1 / (1 + np.exp(-(a1 @ w2 + b2)))
        err = (o - Y) / (o * (1 - o) + 1e-10) / n                 # binary_crossentropy_derivative
        act2 = o * (1 - o) * err                                   # sigmoid layer
        grads2 = [(a1.T @ act2) / n, act2.mean(axis=0)]            # Layer.backward's 1/N and mean
        new = []                                                   # Adam.step: eps on sqrt(v_hat)
        for k, (p, g) in enumerate(zip((w2, b2), grads2)):
            m, v = moments[2 + k]
            m, v = B1 * m + (1 - B1) * g, B2 * v + (1 - B2) * g**2
            moments[2 + k] = [m, v]
            new.append(p - LR * (m / (1 - B1**t)) / (np.sqrt(v / (1 - B2**t)) + EPS))
        w2, b2 = new
        act1 = (act2 @ w2.T) * (d1 > 0)                            # through the UPDATED w2
        grads1 = [(X.T @ act1) / n, act1.mean(axis=0)]
        new = []
        for k, (p, g) in enumerate(zip((w1, b1), grads1)):
            m, v = moments[k]
            m, v = B1 * m + (1 - B1) * g, B2 * v + (1 - B2) * g**2
            moments[k] = [m, v]
            new.append(p - LR * (m / (1 - B1**t)) / (np.sqrt(v / (1 - B2**t)) + EPS))
        w1, b1 = new
    return [w1, b1, w2, b2]


def _net(**algorithm) -> NN:
    net = NN([Dense(3, activation="relu", input_dim=2), Dense(1, activation="sigmoid")], loss="binary_crossentropy",
             optimizer=Adam(variant=algorithm.pop("adam", "article"), epsilon=EPS), seed=0, **algorithm)
    net.set_weights(START)
    return net


ARTICLE = dict(dtype="float64", sampling="article", backprop="article", loss_gradient="article")


def test_two_steps_of_the_whole_article_algorithm() -> None:
    """sample_size = all rows: the article's draw is then a permutation, and a batch gradient does
    not depend on the order of its rows (up to rounding)."""
    net = _net(**ARTICLE)
    net.fit(X, Y, epochs=2, learning_rate=LR, sample_size=len(X))
    for got, want in zip(net.get_weights(), _article_steps(2)):
        np.testing.assert_allclose(np.ravel(got), np.ravel(want), rtol=1e-10, atol=1e-13)


def test_each_component_switched_to_keras_leaves_the_article_steps() -> None:
    """Negative controls: with any one component at Keras's value the two steps differ."""
    want = _article_steps(2)
    for name, value in (("adam", "keras"), ("backprop", "standard"), ("loss_gradient", "standard"),
                        ("dtype", "float32")):
        net = _net(**{**ARTICLE, name: value})
        net.fit(X, Y, epochs=2, learning_rate=LR, sample_size=len(X))
        got = net.get_weights()
        assert not all(np.allclose(np.ravel(g), np.ravel(w), rtol=1e-10, atol=1e-13) for g, w in zip(got, want)), name
