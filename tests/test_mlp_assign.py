"""Setting weights the article's way (`layer.W = array`, `layer.B = array`) writes into the
network's own parameters: training and prediction both use what was assigned."""

from __future__ import annotations

import numpy as np
import pytest

from mlp_impl import NN, SGD, Layer


def _net(seed: int = 0) -> NN:
    return NN(layers=[Layer(3, 4, activation="relu"), Layer(4, 1, activation="sigmoid")],
              loss="binary_crossentropy", optimizer=SGD(), dtype="float64", seed=seed)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, 3))
    return x, (x[:, 0] > 0).astype(float)


def _forward(weights: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The net's output from its weights, written out independently of mlp_impl."""
    hidden = np.maximum(x @ weights[0] + weights[1], 0.0)
    return 1.0 / (1.0 + np.exp(-(hidden @ weights[2] + weights[3])))


def _chosen() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 1)), rng.normal(size=1)]


def test_assigned_weights_are_the_ones_predicted_and_trained() -> None:
    x, y = _data()
    chosen = _chosen()
    net = _net()
    net.layers[0].W = chosen[0]
    net.layers[0].B = chosen[1].reshape(1, 4)  # the article's (1, out) bias row
    net.layers[1].W = chosen[2]
    net.layers[1].b = chosen[3]
    np.testing.assert_allclose(net.predict(x), _forward(chosen, x), rtol=1e-12)

    reference = _net(seed=0)  # same sampling seed, weights set the supported way
    reference.set_weights(chosen)
    net.fit(x, y, epochs=3, learning_rate=0.1, sample_size=10)
    reference.fit(x, y, epochs=3, learning_rate=0.1, sample_size=10)
    trained = net.get_weights()
    for mine, theirs, start in zip(trained, reference.get_weights(), chosen):
        np.testing.assert_array_equal(mine, theirs)
        assert not np.allclose(mine, start)  # training moved the assigned weights
    np.testing.assert_allclose(net.predict(x), _forward(trained, x), rtol=1e-12)


def test_assignment_copies_into_the_parameters_and_casts_dtype() -> None:
    net = NN(layers=[Layer(2, 2, activation="linear")], dtype="float32", seed=0)
    before = net.layers[0].W
    net.layers[0].W = np.array([[1.0, 2.0], [3.0, 4.0]])  # float64 in, float32 kept
    assert net.layers[0].W is before and net.layers[0].W.dtype == np.float32
    np.testing.assert_array_equal(net.get_weights()[0], [[1, 2], [3, 4]])


@pytest.mark.parametrize("name, value, words", [
    ("W", np.zeros((2, 3)), "W has shape (2, 3), expected (3, 4)"),
    ("b", np.zeros(5), "b has shape (5,), expected (4,)"),
    ("B", np.full((1, 4), np.nan), "B contains NaN or infinite values"),
    ("W", np.array([["a"] * 4] * 3), "W has dtype <U1, not numbers"),
])
def test_bad_assignment_is_refused_and_changes_nothing(name: str, value: np.ndarray, words: str) -> None:
    net = _net()
    before = net.get_weights()
    with pytest.raises(ValueError) as caught:
        setattr(net.layers[0], name, value)
    assert words in str(caught.value)
    for now, then in zip(net.get_weights(), before):
        np.testing.assert_array_equal(now, then)


def test_assignment_before_build_says_how() -> None:
    from mlp_impl import Dense
    layer = Dense(4, activation="relu")
    NN(layers=[layer, Dense(1)], seed=0)  # no input width given: not built yet
    with pytest.raises(ValueError, match="before its network is built"):
        layer.W = np.zeros((3, 4))


def test_a_value_too_large_for_the_dtype_is_refused() -> None:
    net = NN(layers=[Layer(2, 2, activation="linear")], dtype="float32", seed=0)
    before = net.get_weights()[0]
    with pytest.raises(ValueError, match="W holds values beyond float32's range .*: scale them or use dtype='float64'"):
        net.layers[0].W = np.full((2, 2), 1e39)
    np.testing.assert_array_equal(net.get_weights()[0], before)


def test_a_layer_the_network_copied_says_where_to_assign() -> None:
    mine = Layer(3, 4, activation="relu")
    net = NN(layers=[mine, Layer(4, 1, activation="sigmoid")], seed=0)
    assert net.built and net.layers[0] is not mine
    with pytest.raises(ValueError, match=r"NN copies the layers it is given.*net.layers\[i\].W"):
        mine.W = np.zeros((3, 4))
