"""The public API: the article's example, Dense inference, evaluate, determinism, save/load,
registries and the linear model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlp_impl
from mlp_impl import NN, SGD, Adam, AMSGrad, Dense, Layer, LinearRegression
from mlp_impl import activations, initializers, losses, optimizers


def _titanic_article(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """The article's 7 Titanic features (raw, like the article) and labels."""
    frame = pd.read_csv(root / "titanic" / "train_article.csv")
    frame = frame.dropna(subset=["Age", "Embarked", "Fare"])
    frame["Sex"] = (frame["Sex"] == "male").astype(float)
    frame["Embarked"] = frame["Embarked"].map({"S": 0.0, "C": 1.0, "Q": 2.0})
    cols = ["Age", "Sex", "Pclass", "SibSp", "Parch", "Fare", "Embarked"]
    return frame[cols].to_numpy(float), frame["Survived"].to_numpy(float)


def _blobs(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    y = (x[:, 0] - x[:, 1] > 0).astype(float)
    return x, y


def test_article_example_runs_and_learns(data_root: Path) -> None:
    x, y = _titanic_article(data_root)
    assert x.shape == (881, 7)
    x_train, y_train = x[:600], y[:600]  # 1-D labels, as in the article
    net = NN(layers=[
        Layer(7, 15, activation="relu"),
        Layer(15, 1, activation="sigmoid"),
    ], loss="binary_crossentropy", optimizer=Adam(), seed=0, sampling="article")
    history = net.fit(x_train, y_train, epochs=60, learning_rate=0.01, sample_size=100, include_logs=False)
    assert len(history) == 60 and all(isinstance(h, float) for h in history)
    assert history[-1] < 0.75 * history[0]
    proba = net.predict(x[600:])
    assert proba.shape == (281, 1) and isinstance(proba, np.ndarray)
    assert ((proba >= 0) & (proba <= 1)).all()
    metrics = net.evaluate(x[600:], y[600:])
    assert set(metrics) == {"loss", "accuracy", "misclassified"}
    wrong = sum(int((p > 0.5) != (label == 1)) for p, label in zip(proba[:, 0], y[600:]))  # counted here
    assert metrics["misclassified"] == wrong and metrics["accuracy"] == pytest.approx(1 - wrong / 281)
    assert metrics["accuracy"] > 0.7


def test_article_positional_fit_and_mnist_style_net() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((300, 20)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[(x[:, :4]).argmax(1)]
    net = NN(layers=[Layer(20, 16, activation="relu"), Layer(16, 4, activation="softmax")],
             loss="categorical_crossentropy", optimizer=Adam(), seed=2)
    history = net.fit(x, y, 15, 0.01, sample_size=50)
    assert history[-1] < history[0]
    assert np.allclose(net.predict(x).sum(axis=1), 1.0, atol=1e-5)


def test_dense_infers_input_width() -> None:
    x, y = _blobs()
    net = NN([Dense(8, activation="relu"), Dense(1, activation="sigmoid")], loss="binary_crossentropy", seed=0)
    assert not net.built
    net.fit(x, y, 2, 0.1, sample_size=32)
    assert net.widths == [4, 8, 1] and net.layers[0].W.shape == (4, 8)
    assert net.n_params == 4 * 8 + 8 + 8 + 1


def test_weights_layout_and_roundtrip() -> None:
    net = NN([Dense(3, "tanh", input_dim=2), Dense(2, "linear")], seed=0, dtype="float64")
    weights = net.get_weights()
    assert [w.shape for w in weights] == [(2, 3), (3,), (3, 2), (2,)]
    assert not weights[1].any() and not weights[3].any()  # zero biases
    new = [np.full(w.shape, i + 0.5) for i, w in enumerate(weights)]
    net.set_weights(new)
    for a, b in zip(net.get_weights(), new):
        assert np.array_equal(a, b)
    x = np.array([[1.0, 2.0]])
    expected = np.tanh(x @ new[0] + new[1]) @ new[2] + new[3]
    np.testing.assert_allclose(net.predict(x), expected)


def test_same_seed_gives_bitwise_identical_weights() -> None:
    x, y = _blobs()
    runs = []
    for _ in range(2):
        net = NN([Dense(6, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=42)
        history = net.fit(x, y, 3, 0.01, sample_size=32)
        runs.append((history, net.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        assert a.tobytes() == b.tobytes()
    other = NN([Dense(6, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", seed=43)
    other.build(4)
    assert not np.array_equal(other.get_weights()[0], runs[0][1][0])


def test_no_global_random_state() -> None:
    state = np.random.get_state()[1].copy()
    x, y = _blobs()
    NN([Dense(3, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", seed=0, sampling="article").fit(x, y, 2, 0.1, 16)
    assert np.array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept(dtype: str) -> None:
    x, y = _blobs()
    net = NN([Dense(4, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", dtype=dtype, seed=0)
    net.fit(x, y, 1, 0.1, 50)
    assert all(w.dtype == np.dtype(dtype) for w in net.get_weights())
    assert net.predict(x).dtype == np.dtype(dtype)
    # every training buffer, and the loss, is in the network's dtype: float32 training never
    # computes in float64 (sigmoid and softmax heads both)
    softmax = NN([Dense(4, "relu"), Dense(2, "softmax")], loss="categorical_crossentropy", dtype=dtype, seed=0)
    softmax.fit(x, np.eye(2)[y.astype(int)], 1, 0.1, 50)
    for ws in [*net._workspaces.values(), *softmax._workspaces.values()]:
        arrays = [ws.xb, ws.yb, ws.p, ws.ones, *ws.zs, *ws.deltas, *ws.tmps, *ws.inputs]
        assert {a.dtype for a in arrays} == {np.dtype(dtype)}
        assert np.asarray(ws._loss()).dtype == np.dtype(dtype)
    # ...nor in any scratch array an activation's calls hold (softmax's row sums, relu's mask, which
    # is bool by design): a hidden softmax, and a softmax output under mse, which does not fuse
    hidden = NN([Dense(4, "relu"), Dense(3, "softmax"), Dense(2, "softmax")], loss="mse", dtype=dtype, seed=0)
    hidden.fit(x, np.eye(2)[y.astype(int)], 1, 0.1, 50)
    for ws in hidden._workspaces.values():
        held = {a.dtype for op in [*ws.forward, *ws.backward] for a in _arrays_held(op)}
        assert held == {np.dtype(dtype), np.dtype(bool)}


def _arrays_held(op) -> list[np.ndarray]:
    """The arrays a training call (a functools.partial, maybe nested) reads or writes."""
    found = []
    for value in [*getattr(op, "args", ()), *getattr(op, "keywords", {}).values(), getattr(op, "func", None)]:
        if isinstance(value, np.ndarray):
            found.append(value)
        elif hasattr(value, "args"):
            found += _arrays_held(value)
    return found


@pytest.mark.parametrize("optimizer", [SGD(), SGD(momentum=0.9), Adam(), Adam(variant="article"), AMSGrad()])
def test_save_load_round_trip(tmp_path: Path, optimizer) -> None:
    x, y = _blobs()
    net = NN([Dense(5, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=optimizer,
             seed=3, l2=0.001)
    net.fit(x, y, 2, 0.01, 32)
    path = tmp_path / "net.weights"
    net.save(path)
    assert path.exists()  # written under the exact name given
    loaded = NN.load(path)
    for a, b in zip(net.get_weights(), loaded.get_weights()):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert loaded.get_config() == net.get_config()
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    # optimizer state and random stream come back too: training continues identically
    assert net.fit(x, y, 2, 0.01, 32) == loaded.fit(x, y, 2, 0.01, 32)
    for a, b in zip(net.get_weights(), loaded.get_weights()):
        assert a.tobytes() == b.tobytes()


def test_load_weights_into_matching_and_mismatching_networks(tmp_path: Path) -> None:
    net = NN([Dense(5, "relu", input_dim=4), Dense(1, "sigmoid")], loss="binary_crossentropy", seed=3)
    path = tmp_path / "net.npz"
    net.save(path)
    twin = NN([Dense(5, "relu", input_dim=4), Dense(1, "sigmoid")], loss="binary_crossentropy", seed=9)
    twin.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), twin.get_weights()))
    other = NN([Dense(6, "relu", input_dim=4), Dense(1, "sigmoid")], loss="binary_crossentropy")
    with pytest.raises(ValueError, match="does not match"):
        other.load_weights(path)
    wrong_input = NN([Dense(5, "relu", input_dim=3), Dense(1, "sigmoid")], loss="binary_crossentropy")
    with pytest.raises(ValueError, match="does not match"):
        wrong_input.load_weights(path)


def test_load_rejects_foreign_files(tmp_path: Path) -> None:
    foreign = tmp_path / "other.npz"
    np.savez(foreign, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a saved mlp_impl network"):
        NN.load(foreign)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a saved mlp_impl network"):
        NN.load(text)
    with pytest.raises(ValueError, match="no saved network"):
        NN.load(tmp_path / "missing.npz")
    single = tmp_path / "array.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="not a saved mlp_impl network .a single array"):
        NN.load(single)


def test_load_weights_into_an_optimizer_with_other_settings_starts_it_fresh(tmp_path: Path) -> None:
    x, y = np.random.default_rng(0).normal(size=(20, 3)), np.ones((20, 1))
    plain = NN([Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=SGD(), seed=0)
    plain.fit(x, y, 2, 0.1, 5)
    plain.save(tmp_path / "plain.npz")
    momentum = NN([Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=SGD(momentum=0.9), seed=1)
    momentum.fit(x, y, 3, 0.1, 5)  # trained: its velocity and count belong to its own weights
    velocity = momentum.optimizer.velocity
    momentum.load_weights(tmp_path / "plain.npz")  # SGD without momentum saved no velocity
    for mine, saved in zip(momentum.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(mine, saved)
    assert not np.any(momentum.optimizer.velocity) and momentum.optimizer.iterations == 0
    assert momentum.optimizer.velocity is velocity  # zeroed in place: views of it (split steps) stay valid


def test_the_optimizers_state_is_a_snapshot() -> None:
    """get_state returns copies: training on does not change what was taken."""
    x, y = np.random.default_rng(0).normal(size=(20, 3)), np.ones((20, 1))
    net = NN([Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=0)
    net.fit(x, y, 1, 0.1, 5)
    state = net.optimizer.get_state(net.backend)
    taken = {key: value.copy() for key, value in state.items()}
    net.fit(x, y, 1, 0.1, 5)
    for key, value in state.items():
        np.testing.assert_array_equal(value, taken[key])
    from mlp_impl import serialization

    header, arrays = serialization.state(net)
    before = arrays["params"].copy()
    net.fit(x, y, 1, 0.1, 5)
    np.testing.assert_array_equal(arrays["params"], before)


def test_evaluate_counts_misclassified() -> None:
    net = NN([Dense(1, "sigmoid", input_dim=1)], loss="binary_crossentropy", dtype="float64")
    net.set_weights([np.array([[2.0]]), np.array([0.0])])
    x = np.array([[-1.0], [1.0], [2.0], [-3.0]])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    metrics = net.evaluate(x, y)
    assert metrics["misclassified"] == 2 and metrics["accuracy"] == 0.5
    p = 1 / (1 + np.exp(-2 * x[:, 0]))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert metrics["loss"] == pytest.approx(expected, rel=1e-10)


def test_evaluate_multiclass_uses_argmax() -> None:
    net = NN([Dense(3, "softmax", input_dim=3)], loss="categorical_crossentropy", dtype="float64")
    net.set_weights([np.eye(3), np.zeros(3)])
    x = np.eye(3)
    y = np.eye(3)[[0, 2, 2]]
    assert net.evaluate(x, y)["misclassified"] == 1


def test_l2_penalty_shrinks_weights() -> None:
    x, y = _blobs()
    norms = []
    for l2 in (0.0, 0.1):
        net = NN([Dense(8, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=0, l2=l2)
        net.fit(x, y, 20, 0.01, 32)
        norms.append(sum(float((w**2).sum()) for w in net.get_weights()[::2]))
    assert norms[1] < norms[0]


def test_registries_list_valid_names() -> None:
    for module, bad in ((activations, "relu6"), (losses, "hinge"), (initializers, "orthogonal"), (optimizers, "rmsprop")):
        with pytest.raises(ValueError) as info:
            module.get(bad)
        message = str(info.value)
        assert bad in message and all(name in message for name in module.NAMES)
        assert "\n" not in message
    assert activations.get("relu").name == "relu"
    assert losses.get("mean_squared_error") == "mse"
    assert (losses.get("Mean_Absolute_Error"), losses.get("MSE"), losses.get("Binary_Crossentropy")) == (
        "mae", "mse", "binary_crossentropy")
    with pytest.raises(ValueError, match="unknown loss 3: use one of mse, mae"):
        losses.get(3)
    assert initializers.get("xavier") is initializers.xavier
    assert isinstance(optimizers.get("amsgrad"), AMSGrad)


def test_activation_lookup_by_name_case_none_and_instance() -> None:
    """Activations are looked up like Keras's: any case, None for linear, an instance passed through;
    a non-name is refused with the list, not an AttributeError."""
    assert activations.get(None).name == "linear"
    assert [activations.get(name).name for name in ("ReLU", "TANH", "Sigmoid", "softMax")] == [
        "relu", "tanh", "sigmoid", "softmax"]
    custom = activations.Tanh()
    assert activations.get(custom) is custom
    with pytest.raises(ValueError, match="unknown activation 3: use one of linear, relu, sigmoid, tanh, softmax"):
        activations.get(3)
    assert [repr(activations.get(name)) for name in activations.NAMES] == [
        "Linear()", "ReLU()", "Sigmoid()", "Tanh()", "Softmax()"]


def test_initializers_have_their_spread() -> None:
    rng = np.random.default_rng(0)
    w = initializers.xavier(rng, 300, 500)
    assert w.std() == pytest.approx(np.sqrt(2 / 800), rel=0.02)
    limit = np.sqrt(6 / 800)
    g = initializers.glorot_uniform(rng, 300, 500)
    assert g.max() <= limit and g.min() >= -limit
    assert initializers.he(rng, 400, 100).std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert np.abs(initializers.uniform(rng, 10, 10)).max() <= 0.05
    assert not initializers.zeros(rng, 3, 3).any()


def test_adam_variants_differ_only_in_epsilon_placement() -> None:
    assert Adam().epsilon == 1e-7 and Adam(variant="article").epsilon == 1e-8
    x, y = _blobs()
    finals = []
    for variant in ("keras", "article"):
        net = NN([Dense(4, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy",
                 optimizer=Adam(variant=variant, epsilon=1e-8), dtype="float64", seed=0)
        net.fit(x, y, 1, 0.01, 50)
        finals.append(net.get_weights()[0])
    assert not np.array_equal(*finals)
    np.testing.assert_allclose(*finals, rtol=1e-4)


def test_linear_regression_recovers_a_line() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 100)
    y = 3.0 * x + 2.0 + rng.normal(0, 0.1, 100)
    model = LinearRegression(seed=0)
    history = model.fit(x, y, steps=2000, learning_rate=0.01)
    assert len(history) == 2000 and len(history[0]) == 3
    assert history[-1][2] < history[0][2]
    assert model.w == pytest.approx(3.0, abs=0.05) and model.b == pytest.approx(2.0, abs=0.3)
    assert (model.w, model.b) == history[-1][:2]
    np.testing.assert_allclose(model.predict([1.0]), [model.w + model.b])


def test_public_names() -> None:
    for name in ("NN", "Layer", "Dense", "SGD", "Adam", "AMSGrad", "LinearRegression", "get_backend", "GPUUnavailableError"):
        assert hasattr(mlp_impl, name)
    assert issubclass(mlp_impl.GPUUnavailableError, ValueError)


@pytest.mark.parametrize("make", [lambda: SGD(momentum=0.9), Adam, AMSGrad, lambda: Adam(variant="article")])
def test_optimizer_pieces_do_not_change_results(make) -> None:
    """Updates cut into cache-sized pieces equal whole-buffer updates bitwise."""
    import copy

    from mlp_impl import get_backend

    results = []
    for chunk in (0, 1000):
        bk = copy.copy(get_backend("numpy"))
        assert bk is not get_backend("numpy")  # the shared backend keeps its chunk
        bk.elementwise_chunk = chunk
        params = np.random.default_rng(0).standard_normal(4321).astype(np.float32)
        grads = np.empty_like(params)
        opt = make()
        opt.build(bk, params, grads)
        assert len(opt._pieces) == (1 if chunk == 0 else 5)
        for step in range(3):
            grads[...] = np.random.default_rng(step).standard_normal(4321)
            opt.step(0.01)
        results.append(params)
    assert results[0].tobytes() == results[1].tobytes()


def test_optimizer_repr_shows_its_constructor_arguments() -> None:
    assert repr(SGD(momentum=0.5)) == "SGD(momentum=0.5)"
    assert repr(AMSGrad(epsilon=1e-3)) == "AMSGrad(beta_1=0.9, beta_2=0.999, epsilon=0.001, variant='keras')"


def test_optimizer_lookup_ignores_case_and_refuses_non_names() -> None:
    assert type(optimizers.get("AdAm", variant="article")) is Adam
    with pytest.raises(ValueError, match="unknown optimizer 3: use one of sgd, adam, amsgrad"):
        optimizers.get(3)


def test_optimizer_state_holds_only_what_its_rule_uses() -> None:
    """A new optimizer has taken no step; after build its state is the rule's arrays and the count."""
    from mlp_impl import get_backend

    bk = get_backend("numpy")
    expected = {SGD(): set(), SGD(momentum=0.9): {"velocity"}, Adam(): {"m", "v"}, AMSGrad(): {"m", "v", "v_max"}}
    for optimizer, arrays in expected.items():
        assert optimizer.iterations == 0
        optimizer.build(bk, np.zeros(3), np.zeros(3))
        assert set(optimizer.get_state(bk)) == arrays | {"iterations"}, optimizer


@pytest.mark.parametrize("kernels", ["numpy", "fused"])
def test_a_copy_of_an_unbuilt_network_builds_its_own_weights(kernels: str) -> None:
    """Unbuilt, a network has no weights to share: its copy gets its own layers, optimizer and
    penalty, so building either (fitting it) does not rebind the other's layers, reset its
    optimizer or hand it the other's step buffers."""
    import copy

    x, y = _blobs()
    net = NN([Dense(5, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=3,
             l2=0.001, kernels=kernels)
    twin = copy.copy(net)
    twin.fit(x, y, 2, 0.01, 32)
    fitted = twin.predict(x)
    moments = twin.optimizer.m.copy()
    net.fit(x, y, 3, 0.01, 32)
    np.testing.assert_array_equal(twin.predict(x), fitted)
    np.testing.assert_array_equal(twin.optimizer.m, moments)
    for network in (net, twin):
        assert all(np.shares_memory(layer.W, network.params) for layer in network.layers)
        assert network.optimizer.params is network.params and network.penalty.params is network.params
    assert twin.optimizer.iterations == 2 * 7 and net.optimizer.iterations == 3 * 7


def test_a_copy_of_a_built_network_shares_its_weights_optimizer_and_generator() -> None:
    """A shallow copy, as Python's: fitting it trains the original too (copy.deepcopy or
    save and load give an independent network)."""
    import copy

    x, y = _blobs()
    net = NN([Dense(5, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=3)
    net.fit(x, y, 1, 0.01, 32)
    twin, independent = copy.copy(net), copy.deepcopy(net)
    twin.fit(x, y, 1, 0.01, 32)
    assert twin.params is net.params and twin.optimizer is net.optimizer and twin._rng is net._rng
    np.testing.assert_array_equal(net.predict(x), twin.predict(x))
    assert independent.optimizer.iterations == 7 and net.optimizer.iterations == 14
    assert not np.array_equal(independent.predict(x), net.predict(x))


@pytest.mark.parametrize("kernels", ["numpy", "fused"])
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_pickled_or_deep_copied_network_is_its_own_and_trains_on_identically(kernels: str, how: str) -> None:
    """Pickling and copy.deepcopy go through save's contents: the copy has the original's
    weights, optimizer state and generator state in buffers of its own (its layers view its own
    weights), so both continue to the same weights, and training one leaves the other alone."""
    import copy
    import pickle

    duplicate = (lambda net: pickle.loads(pickle.dumps(net))) if how == "pickle" else copy.deepcopy
    x, y = _blobs()
    unbuilt = NN([Dense(5, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=3,
                 l2=0.001, kernels=kernels)
    net, fresh = unbuilt, duplicate(unbuilt)
    assert not fresh.built and fresh.get_config() == net.get_config()
    assert net.fit(x, y, 2, 0.01, 32) == fresh.fit(x, y, 2, 0.01, 32)  # same generator: same weights, same orders
    twin = duplicate(net)
    before = net.predict(x)
    assert twin.get_config() == net.get_config() and twin.optimizer.iterations == net.optimizer.iterations == 14
    assert all(np.shares_memory(layer.W, twin.params) for layer in twin.layers)
    assert not np.shares_memory(twin.params, net.params)
    assert twin.fit(x, y, 2, 0.01, 32) == net.fit(x, y, 2, 0.01, 32)
    for a, b in zip(net.get_weights(), twin.get_weights()):
        assert a.tobytes() == b.tobytes()
    assert twin._rng.bit_generator.state == net._rng.bit_generator.state
    twin.fit(x, y, 1, 0.01, 32)
    assert not np.array_equal(twin.predict(x), net.predict(x)) and not np.array_equal(before, net.predict(x))


@pytest.mark.parametrize("kernels", ["numpy", "fused"])
def test_a_built_networks_parts_can_be_pickled_and_deep_copied(kernels: str) -> None:
    """Layers, optimizer and penalty hold the backend, which is pickled by name (its array module
    cannot be); a deep copy of a layer holds the layer's weights as they were."""
    import copy
    import pickle

    x, y = _blobs()
    net = NN([Dense(5, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=3,
             l2=0.001, kernels=kernels)
    net.fit(x, y, 1, 0.01, 32)
    layers = copy.deepcopy(net.layers)
    optimizer = pickle.loads(pickle.dumps(net.optimizer))
    penalty = copy.deepcopy(net.penalty)
    together = copy.deepcopy({"net": net, "out": net.layers[-1]})
    kernel = net.layers[0].W.copy()
    net.fit(x, y, 1, 0.01, 32)
    np.testing.assert_array_equal(layers[0].W, kernel)
    assert layers[0]._backend is net.backend and optimizer._bk is net.backend and penalty._bk is net.backend
    assert optimizer.iterations == 7 and optimizer.get_config() == net.optimizer.get_config()
    np.testing.assert_array_equal(together["out"].W, together["net"].layers[-1].W)
    assert pickle.loads(pickle.dumps(net.backend)) is net.backend


@pytest.mark.parametrize("kernels", ["numpy", "fused"])
def test_a_copied_optimizer_updates_its_own_parameters(kernels: str) -> None:
    """The update runs on views of the optimizer's buffers (its pieces): a deep or pickled copy
    rebuilds them on its own buffers, so a step moves the copy's parameters."""
    import copy
    import pickle

    x, y = _blobs()
    net = NN([Dense(5, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=3,
             kernels=kernels)
    net.fit(x, y, 1, 0.01, 32)
    for twin in (copy.deepcopy(net.optimizer), pickle.loads(pickle.dumps(net.optimizer))):
        before = twin.params.copy()
        twin.grads[...] = 1.0
        twin.step(0.1)
        assert not np.array_equal(twin.params, before) and twin.iterations == 8
        assert all(np.shares_memory(piece[0], twin.params) for piece in twin._pieces)


class Named(NN):
    """A subclass, for the copies' class (pickled by reference: at module level)."""


def test_a_deep_copy_keeps_what_it_shares_its_class_and_attributes(tmp_path: Path) -> None:
    """copy.deepcopy's rule: what the network and its neighbours in the copied container share stays
    shared in the copy (a layer copied beside its network is the copy's layer); a subclass stays
    itself; attributes set on the network come along, pickled too."""
    import copy
    import pickle

    x, y = _blobs()
    net = Named([Dense(5, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=3)
    net.fit(x, y, 1, 0.01, 32)
    net.note = "checkpoint"
    twin, layer, optimizer, params = copy.deepcopy([net, net.layers[0], net.optimizer, net.params])
    assert layer is twin.layers[0] and optimizer is twin.optimizer and params is twin.params
    assert type(twin) is Named and twin.note == "checkpoint" and twin.fit_threads == net.fit_threads
    assert twin.fit_whole_epochs == net.fit_whole_epochs
    layer.W = np.zeros((4, 5))
    np.testing.assert_array_equal(twin.get_weights()[0], 0.0)
    assert not np.array_equal(net.get_weights()[0], 0.0)
    loaded = pickle.loads(pickle.dumps(net))
    assert type(loaded) is Named and loaded.note == "checkpoint"
    net.save(tmp_path / "net.npz")
    assert type(Named.load(tmp_path / "net.npz")) is Named and type(NN.load(tmp_path / "net.npz")) is NN
    from mlp_impl import serialization

    header, _ = serialization.state(net)
    header["widths"].append(99)
    assert net.widths == [4, 5, 1]  # the state is a copy


def _big_net(threads: int = 1) -> NN:
    """Enough parameters (162,801) that on two threads both update a share of them."""
    return NN([Dense(400, "relu"), Dense(400, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy",
              optimizer=Adam(), seed=3, threads=threads)


def _interrupt_in_update(monkeypatch: pytest.MonkeyPatch, net: NN, step: int, presses: int = 1,
                         then: Any = None) -> list[str]:
    """SIGINT sent from the main thread inside the update of step ``step`` (counted as it began),
    ``presses`` times, then ``then()``; returns what happened after the presses."""
    import signal
    import threading

    update, after = net.optimizer.update, []

    def interrupted(pieces):
        if net.optimizer.iterations == step and threading.current_thread() is threading.main_thread() and not after:
            for _ in range(presses):
                signal.raise_signal(signal.SIGINT)
            after.append("went on")
            if then is not None:
                then()
        return update(pieces)

    monkeypatch.setattr(net.optimizer, "update", interrupted)
    return after


@pytest.mark.parametrize("threads", [1, 2])
def test_ctrl_c_during_an_update_stops_the_fit_after_the_step(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGINT inside the optimizer's update (between two NumPy calls) is held until the step ends:
    the network stops with that step whole, its count and weights those of a fit that ran exactly
    that many steps, and the fit's handler is gone afterwards."""
    import signal

    x, y = np.random.default_rng(0).standard_normal((512, 4)), np.ones(512)
    reference = _big_net(threads)
    reference.fit(x, y, 1, 0.01, 256)  # two steps
    net = _big_net(threads)
    net.build(4)
    _interrupt_in_update(monkeypatch, net, step=2)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        net.fit(x, y, 3, 0.01, 256)
    assert signal.getsignal(signal.SIGINT) is handler
    assert net.optimizer.iterations == reference.optimizer.iterations == 2
    for mine, theirs in zip(net.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_ctrl_c_outside_a_step_or_pressed_twice_stops_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Held only inside a step, and only once: in the callback, or a second press during a step
    (a stuck step), KeyboardInterrupt comes at once."""
    import signal

    x, y = np.random.default_rng(0).standard_normal((64, 4)), np.ones(64)
    after: list[str] = []

    def callback(epoch: int, loss: float) -> bool:
        signal.raise_signal(signal.SIGINT)
        after.append("went on")
        return False

    with pytest.raises(KeyboardInterrupt):
        NN([Dense(3, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", seed=0).fit(x, y, 2, 0.1, 16,
                                                                                            callback=callback)
    assert after == []
    net = _big_net()
    net.build(4)
    pressed_twice = _interrupt_in_update(monkeypatch, net, step=1, presses=2)
    with pytest.raises(KeyboardInterrupt):
        net.fit(x, y, 1, 0.01, 32)
    assert pressed_twice == [] and net.optimizer.iterations == 1


def test_ctrl_c_held_when_a_step_fails_still_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step that fails after Ctrl-C was pressed in it: the interrupt wins (a harness records the
    run as interrupted, not failed), with the error as its context."""
    x, y = np.random.default_rng(0).standard_normal((64, 4)), np.ones(64)
    net = _big_net()
    net.build(4)

    def fails() -> None:
        raise RuntimeError("the step failed")

    _interrupt_in_update(monkeypatch, net, step=1, then=fails)
    with pytest.raises(KeyboardInterrupt) as stopped:
        net.fit(x, y, 1, 0.01, 32)
    assert isinstance(stopped.value.__context__, RuntimeError)


def test_ctrl_c_in_a_fit_inside_a_callback_stops_that_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy fitted in another fit's callback shares its hold: Ctrl-C during the copy's fit stops
    it (it used to reach only the outer fit's hold, which kept it), and reaches the outer caller."""
    import copy
    import signal

    x, y = np.random.default_rng(0).standard_normal((64, 4)), np.ones(64)
    net = NN([Dense(3, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(), seed=0)
    inner_epochs: list[int] = []

    def outer(epoch: int, loss: float) -> bool:
        twin = copy.deepcopy(net)
        twin.fit(x, y, 20, 0.1, 16, callback=lambda e, l: inner_epochs.append(e) or (
            e == 1 and signal.raise_signal(signal.SIGINT)))
        return False

    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        net.fit(x, y, 3, 0.1, 16, callback=outer)
    assert inner_epochs == [0, 1] and signal.getsignal(signal.SIGINT) is handler
