"""Bad input fails early and clearly; minibatch schemes do what they promise; the GPU path is
guarded (and exercised when a GPU is usable)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from mlp_impl import NN, SGD, Adam, Dense, GPUUnavailableError, Layer, LinearRegression, get_backend
from mlp_impl.backend import gpu_status
from mlp_impl.sampling import Sampler


def _net(**kwargs) -> NN:
    options = {"loss": "binary_crossentropy", "optimizer": Adam(), "seed": 0}
    options.update(kwargs)
    return NN([Layer(3, 4, activation="relu"), Layer(4, 1, activation="sigmoid")], **options)


def _xy(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 3)), rng.integers(0, 2, n).astype(float)


def _one_line_error(match: str, func, *args, **kwargs) -> str:
    with pytest.raises(ValueError, match=match) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: Dense(3, activation="relu6"), "unknown activation 'relu6': use one of linear, relu, sigmoid, tanh, softmax"),
        (lambda: Dense(3, kernel_initializer="orthogonal"), "unknown initializer 'orthogonal': use one of xavier, glorot_uniform, he, uniform, zeros"),
        (lambda: _net(loss="hinge"), "unknown loss 'hinge': use one of mse, mae, binary_crossentropy, categorical_crossentropy"),
        (lambda: _net(optimizer="rmsprop"), "unknown optimizer 'rmsprop': use one of sgd, adam, amsgrad"),
        (lambda: _net(initializer="orthogonal"), "unknown initializer 'orthogonal'"),
        (lambda: _net(dtype="float16"), "unsupported dtype 'float16': use one of float32, float64"),
        (lambda: _net(sampling="bootstrap"), "unknown sampling 'bootstrap': use one of shuffle, article, sequential"),
        (lambda: _net(backend="jax"), "unknown backend 'jax': use one of numpy, cupy"),
        (lambda: _net(loss="categorical_crossentropy"), "needs a 'softmax' output layer"),
        (lambda: _net(l2=-1.0), "l2 must be a finite number >= 0"),
        (lambda: _net(seed=-3), "seed must be None or an integer >= 0"),
        (lambda: NN([Layer(7, 15, "relu"), Layer(10, 1, "sigmoid")]), "layer 2 takes 10 inputs but layer 1 gives 15"),
        (lambda: NN([]), "non-empty list"),
        (lambda: Dense(0), "units must be a positive integer"),
        (lambda: Adam(variant="pytorch"), "unknown Adam variant 'pytorch': use one of keras, article"),
        (lambda: Adam(beta_1=1.0), "Adam beta_1 must be in"),
        (lambda: Adam(beta_2=-0.1), "Adam beta_2 must be in"),
        (lambda: SGD(momentum=1.0), "SGD momentum must be in"),
        (lambda: Adam(epsilon=0.0), "Adam epsilon must be a finite number > 0, got 0.0"),
        (lambda: Adam(epsilon=float("inf")), "Adam epsilon must be a finite number > 0"),
        (lambda: _net(optimizer="sgd", dtype=None), "unsupported dtype None: use one of float32, float64"),
        (lambda: _net(l1=np.bool_(True)), "l1 must be a finite number >= 0"),
        (lambda: Dense(3, activation=["relu"]), r"unknown activation \['relu'\]: use one of linear,"),
        (lambda: Dense(3, kernel_initializer=["he"]), r"unknown initializer \['he'\]: use one of xavier,"),
        (lambda: _net(loss=["mse"]), r"unknown loss \['mse'\]: use one of mse,"),
        (lambda: _net(optimizer={"name": "adam"}), r"unknown optimizer \{'name': 'adam'\}: use one of sgd,"),
        (lambda: _net(initializer=["he"]), r"unknown initializer \['he'\]"),
        (lambda: NN(5), "layers must be a non-empty list of Dense/Layer objects"),
    ],
)
def test_bad_construction(build, match: str) -> None:
    _one_line_error(match, build)


BAD_FITS = [
    ({"y": np.zeros(19)}, "x has 20 rows but y has 19"),
    ({"x": np.full((20, 3), np.nan)}, "x contains NaN or infinite values"),
    ({"y": np.r_[np.inf, np.zeros(19)]}, "y contains NaN or infinite values"),
    ({"x": np.zeros((20, 5))}, "x has 5 features but the network's first layer takes 3"),
    ({"x": np.zeros(20)}, "x must be 2-D"),
    ({"y": np.zeros((20, 2))}, "output layer has 1 units"),
    ({"y": np.full(20, 2.0)}, "needs targets in \\[0, 1\\]"),
    ({"x": np.array([["a", "b", "c"]] * 20)}, "not numbers"),
    ({"x": np.full((20, 3), 1e39)}, "x holds values beyond float32's range .* scale them or use dtype='float64'"),
    ({"x": np.full((20, 3), -1e39)}, "x holds values beyond float32's range"),
    ({"x": np.zeros((20, 0))}, "x has no columns: pass at least one feature"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": 2.5}, "epochs must be a positive integer"),
    ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0"),
    ({"learning_rate": -0.1}, "learning_rate must be a finite number > 0"),
    ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0"),
    ({"sample_size": 0}, "sample_size must be a positive integer"),
    ({"sample_size": -5}, "sample_size must be a positive integer"),
    ({"callback": 123}, "callback must be callable\\(epoch, loss\\) or None, got 123"),
]


@pytest.mark.parametrize("change,match", BAD_FITS)
def test_bad_fit_fails_before_training(change: dict, match: str) -> None:
    net = _net()
    x, y = _xy()
    args = {"x": x, "y": y, "epochs": 2, "learning_rate": 0.01, "sample_size": 8}
    args.update(change)
    before = net.get_weights()
    _one_line_error(match, net.fit, **args)
    assert net.optimizer.iterations == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))


@pytest.mark.parametrize("make,match", [
    (lambda: LinearRegression(seed=-1), "seed must be None or an integer >= 0, got -1"),
    (lambda: LinearRegression(seed=1.5), "seed must be None or an integer >= 0, got 1.5"),
    (lambda: LinearRegression(init="ones"), "unknown init 'ones': use one of random, zeros"),
    (lambda: LinearRegression(seed=0).fit(np.array([1 + 5j, 2 + 7j, 3 - 1j]), [1, 2, 3]), "x has dtype complex128, not numbers"),
    (lambda: LinearRegression(seed=0).fit(["1,5", "2"], [1, 2]), "x has dtype <U3, not numbers"),
    (lambda: LinearRegression(seed=0).fit([{}], [1]), "x has dtype object, not numbers"),
    (lambda: LinearRegression(seed=0).fit([1, 2], [1, np.nan]), "y contains NaN or infinite values"),
    (lambda: LinearRegression(seed=0).predict([[1, 2]]), r"x must be one non-empty column of numbers, got shape \(1, 2\)"),
])
def test_linear_regression_refuses_bad_input_in_one_line(make, match: str) -> None:
    _one_line_error(match, make)


def test_names_are_read_in_any_case_everywhere() -> None:
    """One lookup (validation.known_name) for every name a network takes: any case, one rule."""
    net = NN([Dense(2, "ReLU", kernel_initializer="HE"), Dense(1, "Sigmoid")], loss="Binary_Crossentropy",
             optimizer="ADAM", initializer="Xavier", backend="NumPy", sampling="Shuffle", backprop="Standard",
             kernels="NumPy", loss_gradient="Standard", seed=0)
    assert (net.backend.name, net.sampling, net.backprop, net.kernels, net.loss_gradient, net.loss) == \
        ("numpy", "shuffle", "standard", "numpy", "standard", "binary_crossentropy")
    assert Adam(variant="Keras").variant == "keras"
    fused = NN([Dense(1, "sigmoid")], loss="binary_crossentropy", kernels="Fused", backend="NumPy")
    assert (fused.kernels, fused.backend.name) == ("fused", "numpy")


def test_a_byte_swapped_dtype_is_the_native_one() -> None:
    """">f8" names float64: the network keeps its data in the machine's byte order (the fused
    kernels compile for nothing else)."""
    for name, native in ((">f8", "float64"), ("<f8", "float64"), (">f4", "float32")):
        dtype = NN([Dense(1, "sigmoid")], loss="binary_crossentropy", dtype=name).dtype
        assert dtype == np.dtype(native) and dtype.isnative


def test_categorical_targets_must_be_one_hot() -> None:
    net = NN([Dense(3, "softmax", input_dim=2)], loss="categorical_crossentropy")
    _one_line_error("one-hot", net.fit, np.zeros((4, 2)), np.ones((4, 3)), 1, 0.1, 2)
    negative = np.tile([1.5, -0.25, -0.25], (4, 1))  # rows sum to 1, yet are no probabilities
    _one_line_error("entries >= 0 summing to 1", net.fit, np.zeros((4, 2)), negative, 1, 0.1, 2)
    _one_line_error("entries >= 0 summing to 1", net.evaluate, np.zeros((4, 2)), negative)


def test_evaluate_checks_targets_before_the_forward_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    net = _net()
    net.build(3)
    calls = []
    monkeypatch.setattr(net, "_logits", lambda x: calls.append(x))
    _one_line_error("x has 20 rows but y has 19", net.evaluate, *_xy()[:1], np.zeros(19))
    assert calls == []


def test_values_beyond_the_networks_dtype_are_refused_everywhere() -> None:
    """Finite in float64 but infinite once cast to float32: refused like infinity, by fit (y too),
    evaluate, predict and set_weights, before anything changes."""
    net = NN([Dense(1, input_dim=2)], loss="mse", seed=0)
    before = net.get_weights()
    x, y, big = np.zeros((4, 2)), np.zeros(4), np.full(4, 1e39)
    _one_line_error("y holds values beyond float32's range", net.fit, x, big, 1, 0.1, 2)
    _one_line_error("y holds values beyond float32's range", net.evaluate, x, big)
    _one_line_error("x holds values beyond float32's range", net.predict, np.full((4, 2), 1e39))
    _one_line_error("W1 holds values beyond float32's range", net.set_weights, [np.full((2, 1), 1e39), np.zeros(1)])
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights())) and net.optimizer.iterations == 0
    wide = NN([Dense(1, input_dim=2)], loss="mse", seed=0, dtype="float64")
    assert np.isfinite(wide.fit(np.full((4, 2), 1e39), y, 1, 1e-90, 2)[0])  # float64 holds them


def test_predict_and_set_weights_check_shapes() -> None:
    net = _net()
    _one_line_error("x has 2 features", net.predict, np.zeros((3, 2)))
    _one_line_error("expected 4 arrays", net.set_weights, [np.zeros((3, 4))])
    _one_line_error("W1 has shape", net.set_weights, [np.zeros((2, 4)), np.zeros(4), np.zeros((4, 1)), np.zeros(1)])
    unbuilt = NN([Dense(2, "relu"), Dense(1)])
    _one_line_error("no weights yet", unbuilt.predict, np.zeros((3, 2)))


def test_rejected_set_weights_changes_nothing() -> None:
    """Every array is checked before any is copied: a bad W2 leaves W1 as it was, and an unbuilt
    network stays unbuilt."""
    net = _net()
    net.build(3)
    before = net.get_weights()
    good = [np.full((3, 4), 0.5), np.zeros(4), np.ones((4, 1)), np.zeros(1)]
    bad_shape = good[:2] + [np.ones((5, 1)), np.zeros(1)]
    _one_line_error(r"W2 has shape \(5, 1\), expected \(4, 1\)", net.set_weights, bad_shape)
    bad_value = good[:3] + [np.array([np.nan])]
    _one_line_error("b2 contains NaN or infinite values: pass finite weights", net.set_weights, bad_value)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
    unbuilt = NN([Dense(4, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy")
    _one_line_error("W2 has shape", unbuilt.set_weights, bad_shape)
    assert not unbuilt.built
    _one_line_error(r"W1 has shape \(4,\), expected \(inputs, 4\)", unbuilt.set_weights, [np.zeros(4)] + good[1:])
    declared = NN([Dense(4, "relu", input_dim=6), Dense(1, "sigmoid")])
    _one_line_error(r"W1 has shape \(3, 4\), expected \(6, 4\)", declared.set_weights, good)
    unbuilt.set_weights(good)
    assert unbuilt.widths == [3, 4, 1]
    assert all(np.array_equal(a, b) for a, b in zip(good, unbuilt.get_weights()))


def test_hyperparameters_accept_numpy_scalars() -> None:
    """Values read from NumPy arrays or configs arrive as NumPy scalars: they are numbers too."""
    adam = Adam(beta_1=np.float32(0.5), beta_2=np.float64(0.75), epsilon=np.float32(1e-6))
    assert (adam.beta_1, adam.beta_2) == (0.5, 0.75) and adam.epsilon == pytest.approx(1e-6)
    assert type(adam.beta_1) is float and type(adam.epsilon) is float
    net = _net(optimizer="sgd", l1=np.float32(0.25), l2=np.int64(1))
    assert (net.penalty.l1, net.penalty.l2) == (0.25, 1.0)
    from mlp_impl.optimizers import SGD
    assert SGD(momentum=np.float16(0.5)).momentum == 0.5


def test_binary_crossentropy_training_loss_is_accurate_on_confident_float32_batches() -> None:
    """The step's loss sums softplus(z) - y z per entry: as a difference of two sums it lost
    0.2% of a confident batch's loss in float32 (the two sums are ~13,000, their difference ~0.2)."""
    rng = np.random.default_rng(1)
    y = (rng.random((1000, 1)) > 0.5).astype(np.float32)
    magnitude = rng.uniform(6, 20, (1000, 1)).astype(np.float32)
    x = np.where(y > 0, magnitude, -magnitude)  # the logit is x itself: confident and right
    net = NN([Dense(1, "sigmoid")], loss="binary_crossentropy", dtype="float32", seed=0)
    net.set_weights([np.ones((1, 1)), np.zeros(1)])
    loss, _ = net.gradients(x, y)
    z = x.astype(np.float64)
    exact = float(np.mean(np.logaddexp(0.0, z) - y * z))
    assert loss == pytest.approx(exact, rel=2e-4)


# ---------------------------------------------------------------- sampling


def _epochs(name: str, n: int, batch: int, count: int = 5) -> list[list[np.ndarray]]:
    sampler = Sampler(name, n, batch, np.random.default_rng(0), get_backend("numpy"))
    return [[np.asarray(b) for b in sampler.epoch()] for _ in range(count)]


@pytest.mark.parametrize("name", ["shuffle", "article", "sequential"])
def test_epoch_order_and_starts_give_the_same_batches_as_epoch(name: str) -> None:
    """The fused whole-epoch kernel reads order[starts[s]:starts[s + 1]]: the batches ``epoch``
    gives from the same generator, epoch after epoch."""
    by_order = Sampler(name, 10, 4, np.random.default_rng(0), get_backend("numpy"))
    for batches in _epochs(name, 10, 4, count=3):
        order = by_order.epoch_order()
        assert order.dtype == np.int64
        cut = [order[a:b] for a, b in zip(by_order.starts[:-1], by_order.starts[1:])]
        assert [list(b) for b in cut] == [list(b) for b in batches]


def test_shuffle_sees_every_example_once_and_keeps_last_partial_batch() -> None:
    epochs = _epochs("shuffle", 10, 4)
    for batches in epochs:
        assert [len(b) for b in batches] == [4, 4, 2]
        assert sorted(np.concatenate(batches)) == list(range(10))
    assert not all(np.array_equal(np.concatenate(epochs[0]), np.concatenate(e)) for e in epochs[1:])


def test_article_draws_independent_batches_without_replacement() -> None:
    epochs = _epochs("article", 10, 4, count=50)
    repeated_across_batches = False
    for batches in epochs:
        assert [len(b) for b in batches] == [4, 4, 4]  # ceil(10 / 4) full batches
        assert all(len(set(b.tolist())) == 4 for b in batches)
        flat = np.concatenate(batches)
        repeated_across_batches |= len(set(flat.tolist())) < len(flat)
    assert repeated_across_batches


def test_article_draws_on_large_sets_and_whole_set_batches() -> None:
    for batches in _epochs("article", 100_000, 1000, count=2):  # the per-batch choice path
        assert len(batches) == 100 and all(len(set(b.tolist())) == 1000 for b in batches)
        assert all(b.min() >= 0 and b.max() < 100_000 for b in batches)
    for batches in _epochs("article", 7, 50, count=3):  # one batch holding every row
        assert [sorted(b.tolist()) for b in batches] == [list(range(7))]


def test_article_draws_are_the_documented_ones_on_each_side_of_the_size_limit() -> None:
    """Up to SMALL_DRAW = 2^17 batches x rows, each batch is the J smallest of N uniform keys, all
    batches' keys in one call; above it, NumPy's choice without replacement per batch. The draws
    for a seed are what every recorded article-sampling run used, so the path must not drift.
    1024 rows in batches of 8: 128 x 1024 = 2^17 keys, the largest vectorised draw; 1025 rows:
    129 x 1025 > 2^17, per-batch choices."""
    from mlp_impl.sampling import SMALL_DRAW

    assert SMALL_DRAW == 128 * 1024
    small = _epochs("article", 1024, 8, count=1)[0]
    keys = np.random.default_rng(0).random((128, 1024))
    assert len(small) == 128
    assert all(set(b.tolist()) == set(np.argsort(row)[:8].tolist()) for b, row in zip(small, keys))
    large = _epochs("article", 1025, 8, count=1)[0]
    rng = np.random.default_rng(0)
    expected = [rng.choice(1025, 8, replace=False) for _ in range(129)]
    assert len(large) == 129 and all(np.array_equal(b, e) for b, e in zip(large, expected))


def test_sequential_is_in_order() -> None:
    for batches in _epochs("sequential", 10, 4, count=2):
        assert [b.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_batch_larger_than_data_uses_all_rows() -> None:
    assert [len(b) for b in _epochs("shuffle", 5, 100, count=1)[0]] == [5]
    x, y = _xy(12)
    history = _net().fit(x, y, 2, 0.01, sample_size=1000)
    assert len(history) == 2


def test_sequential_training_ignores_the_seed_after_initialisation() -> None:
    x, y = _xy()
    a, b = _net(seed=1, sampling="sequential"), _net(seed=2, sampling="sequential")
    b.set_weights(a.get_weights())
    assert a.fit(x, y, 3, 0.01, 8) == b.fit(x, y, 3, 0.01, 8)


def test_epoch_loss_is_example_weighted_mean_of_batch_losses() -> None:
    x, y = _xy(10)
    net = _net(sampling="sequential", dtype="float64")
    twin = _net(sampling="sequential", dtype="float64")
    twin.set_weights(net.get_weights())
    history = net.fit(x, y, 1, 0.01, sample_size=4)
    losses = []
    for start in (0, 4, 8):
        losses.append(twin.gradients(x[start : start + 4], y[start : start + 4])[0] * len(x[start : start + 4]))
        twin.fit(x[start : start + 4], y[start : start + 4], 1, 0.01, sample_size=4)
    assert history[0] == pytest.approx(sum(losses) / 10, rel=1e-12)


def test_callback_can_stop_training() -> None:
    x, y = _xy()
    seen = []
    history = _net().fit(x, y, 10, 0.01, 8, callback=lambda epoch, loss: seen.append((epoch, loss)) or epoch == 2)
    assert len(history) == 3 and [e for e, _ in seen] == [0, 1, 2]


# ---------------------------------------------------------------- GPU guard


def test_unusable_cupy_raises_with_reason() -> None:
    usable, reason = gpu_status()
    if usable:
        pytest.skip("a GPU is usable here; the error path cannot occur")
    with pytest.raises(GPUUnavailableError) as info:
        get_backend("cupy")
    assert reason in str(info.value)
    with pytest.raises(ValueError):
        _net(backend="cupy")


@pytest.mark.parametrize(
    "runtime,expected",
    [("raise", "no CUDA driver"), (0, "no CUDA device"), (1, "CuPy 0.0 with 1 CUDA device")],
)
def test_gpu_status_names_the_missing_piece(monkeypatch: pytest.MonkeyPatch, runtime, expected: str) -> None:
    def count() -> int:
        if runtime == "raise":
            raise RuntimeError("cudaErrorInsufficientDriver")
        return runtime

    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(count, np.arange))
    usable, reason = gpu_status()
    assert usable == (runtime == 1) and expected in reason


def _fake_cupy(count, arange) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        __version__="0.0", float32=np.float32, arange=arange, is_available=lambda: True,
        cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=count)))


def test_gpu_status_tries_a_kernel_and_says_which_cupy_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """A device is there but CuPy's CUDA libraries are not: the reason says what to install."""
    def no_nvrtc(*args, **kwargs):
        raise RuntimeError("CuPy failed to load libnvrtc.so.12: cannot open shared object file")

    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(lambda: 1, no_nvrtc))
    usable, reason = gpu_status()
    assert not usable and reason.startswith("CuPy cannot run kernels: RuntimeError: CuPy failed to load libnvrtc")
    assert "pip install 'cupy-cuda12x[ctk]==14.2.0' for CUDA 12" in reason and "cupy-cuda13x[ctk]" in reason


def test_gpu_status_without_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    usable, reason = gpu_status()
    assert not usable and reason.startswith("CuPy not installed")


@pytest.mark.gpu
def test_cupy_matches_numpy_from_identical_weights() -> None:
    usable, reason = gpu_status()
    if not usable:
        pytest.skip(f"CuPy path not exercised: {reason}")
    rng = np.random.default_rng(0)
    x = rng.random((500, 20)).astype(np.float32)
    y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 500)]
    runs = []
    for backend in ("numpy", "cupy"):
        net = NN([Dense(32, "relu"), Dense(16, "tanh"), Dense(5, "softmax")], loss="categorical_crossentropy",
                 optimizer=Adam(), seed=5, backend=backend, sampling="shuffle", l2=1e-4)
        history = net.fit(x, y, 5, 0.01, sample_size=64)
        runs.append((net.get_weights(), history, net.predict(x), net.evaluate(x, y)))
    (w_np, h_np, p_np, m_np), (w_cp, h_cp, p_cp, m_cp) = runs
    np.testing.assert_allclose(h_cp, h_np, rtol=1e-4)
    for a, b in zip(w_cp, w_np):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(p_cp, p_np, atol=1e-4)
    assert isinstance(p_cp, np.ndarray)
    assert abs(m_cp["misclassified"] - m_np["misclassified"]) <= 2
