"""Split training steps (``NN(threads=...)``, ``mlp_impl.parallel``): a minibatch's rows spread
over threads must give the serial step's result (up to float rounding, checked in float64), be
reproducible for a given thread count, leave BLAS's thread count as it found it, and be chosen
only where it applies."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from mlp_impl import NN, SGD, Adam, AMSGrad, Dense, parallel


def _data(rows: int, features: int, outputs: int, loss: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features))
    if loss == "categorical_crossentropy":
        return x, np.eye(outputs)[rng.integers(0, outputs, rows)]
    if loss == "binary_crossentropy":
        return x, (rng.random((rows, outputs)) > 0.5).astype(float)
    return x, rng.standard_normal((rows, outputs))


HEADS = {  # loss: (output activation, output units)
    "categorical_crossentropy": ("softmax", 4),
    "binary_crossentropy": ("sigmoid", 2),
    "mse": ("linear", 3),
    "mae": ("tanh", 3),
}


def _net(loss: str, optimizer, threads: int | None, dtype: str = "float64", **kwargs) -> NN:
    activation, units = HEADS[loss]
    layers = [Dense(16, activation="relu", input_dim=6), Dense(8, activation="tanh"), Dense(units, activation=activation)]
    return NN(layers, loss=loss, optimizer=optimizer, dtype=dtype, seed=5, sampling="sequential", threads=threads, **kwargs)


def _blas_threads() -> list[int]:
    """Threads of every BLAS loaded when the split steps first looked (NumPy's among them)."""
    paths = {lib.filepath for lib in parallel._blas_controller().lib_controllers}
    return [info["num_threads"] for info in threadpool_info() if info["filepath"] in paths]


@pytest.mark.parametrize("penalty", [{}, {"l1": 0.001, "l2": 0.01}])
@pytest.mark.parametrize("make_optimizer", [lambda: SGD(momentum=0.9), Adam, AMSGrad], ids=["sgd", "adam", "amsgrad"])
@pytest.mark.parametrize("loss", sorted(HEADS))
def test_split_step_equals_serial_step(loss: str, make_optimizer, penalty: dict) -> None:
    x, y = _data(25, 6, HEADS[loss][1], loss)  # batches of 10, 10 and 5 rows: 3 threads get 4/3/3 and 2/2/1
    serial, split = _net(loss, make_optimizer(), 1, **penalty), _net(loss, make_optimizer(), 3, **penalty)
    history_serial = serial.fit(x, y, epochs=4, learning_rate=0.05, sample_size=10)
    history_split = split.fit(x, y, epochs=4, learning_rate=0.05, sample_size=10)
    assert (serial.fit_threads, split.fit_threads) == (1, 3)
    np.testing.assert_allclose(history_split, history_serial, rtol=1e-12)
    for got, want in zip(split.get_weights(), serial.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    for name in getattr(serial.optimizer, "_state_names", ()):
        np.testing.assert_allclose(getattr(split.optimizer, name), getattr(serial.optimizer, name), rtol=1e-9, atol=1e-15)
    assert split.optimizer.iterations == serial.optimizer.iterations == 12


@pytest.mark.parametrize("plain_rows", [True, False], ids=["plain-rows", "ones-column"])
def test_split_step_equals_serial_step_in_the_mnist_layout(plain_rows: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """784-512-128-64-10 on 1000 rows, where the automatic choice splits (see the test below).
    Real MNIST is read in place (no ones column, layer 1 adds its bias apart): ``plain_rows``
    forces that path on these 1000 rows. The flat buffers (476,490 values) are cut into several
    cache-sized shares per thread, so share edges fall inside kernels and biases."""
    if plain_rows:
        monkeypatch.setattr(NN, "AUGMENT_MAX_BYTES", 0)
    rng = np.random.default_rng(3)
    x, y = rng.random((1000, 784)), np.eye(10)[rng.integers(0, 10, 1000)]
    nets = []
    for threads in (1, 3):
        layers = [Dense(512, "relu"), Dense(128, "relu"), Dense(64, "relu"), Dense(10, "softmax")]
        net = NN(layers, loss="categorical_crossentropy", optimizer=Adam(), dtype="float64", seed=1,
                 sampling="sequential", threads=threads)
        nets.append((net.fit(x, y, epochs=1, learning_rate=0.001, sample_size=500), net))
    (serial_history, serial), (split_history, split) = nets
    assert (serial.fit_threads, split.fit_threads) == (1, 3) and split.n_params == 476_490
    assert split._split_steps and len(next(iter(split._split_steps.values())).shares[0]) > 1
    assert [augmented for _, augmented, _ in split._split_steps] == [not plain_rows]
    np.testing.assert_allclose(split_history, serial_history, rtol=1e-12)
    for got, want in zip(split.get_weights(), serial.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert split.optimizer.iterations == serial.optimizer.iterations == 2


def test_split_gradient_is_the_batch_gradient() -> None:
    """One plain SGD step with lr 1 moves the weights by minus the batch gradient: the split
    step's move equals ``gradients`` on the whole batch."""
    x, y = _data(12, 6, 4, "categorical_crossentropy", seed=2)
    net = _net("categorical_crossentropy", SGD(), 4)
    start = net.get_weights()
    loss, grads = net.gradients(x, y)
    history = net.fit(x, y, epochs=1, learning_rate=1.0, sample_size=12)
    assert net.fit_threads == 4
    assert history[0] == pytest.approx(loss, rel=1e-12)
    for before, after, grad in zip(start, net.get_weights(), grads):
        np.testing.assert_allclose(before - after, grad, rtol=1e-10, atol=1e-14)


def test_same_thread_count_is_reproducible_in_float32() -> None:
    x, y = _data(300, 6, 4, "categorical_crossentropy")
    runs = []
    for _ in range(2):
        net = _net("categorical_crossentropy", Adam(), 2, dtype="float32")
        net.fit(x.astype(np.float32), y.astype(np.float32), epochs=3, learning_rate=0.01, sample_size=100)
        runs.append(net.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_blas_runs_one_thread_per_part_during_a_split_fit_and_is_restored_after() -> None:
    before = _blas_threads()
    seen: list[list[int]] = []
    x, y = _data(40, 6, 4, "categorical_crossentropy")
    net = _net("categorical_crossentropy", Adam(), 2)
    net.fit(x, y, epochs=2, learning_rate=0.01, sample_size=20, callback=lambda *_: seen.append(_blas_threads()))
    assert net.fit_threads == 2
    assert before and seen and all(counts == [1] * len(before) for counts in seen)
    assert _blas_threads() == before


def test_article_backprop_and_serial_requests_never_split() -> None:
    x, y = _data(40, 6, 4, "categorical_crossentropy")
    article = _net("categorical_crossentropy", Adam(), 4, backprop="article")
    article.fit(x, y, epochs=1, learning_rate=0.01, sample_size=20)
    serial = _net("categorical_crossentropy", Adam(), 1)
    serial.fit(x, y, epochs=1, learning_rate=0.01, sample_size=20)
    assert article.fit_threads == serial.fit_threads == 1
    assert not article._split_steps and not serial._split_steps


def test_automatic_choice_splits_only_steps_large_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    mnist_params = 784 * 512 + 512 + 128 * 513 + 64 * 129 + 10 * 65
    monkeypatch.setattr(parallel, "blas_threads", lambda: 2)
    assert parallel.split_threads(None, 1000, mnist_params) == 2  # the MNIST step: every core of two
    assert parallel.split_threads(None, 250, mnist_params) == 1  # a quarter of it: too little work to pay
    assert parallel.split_threads(None, 100, 15 * 8 + 16) == 1  # the Titanic step: far too small
    monkeypatch.setattr(parallel, "blas_threads", lambda: 16)
    assert parallel.split_threads(None, 1000, mnist_params) == 3  # no more parts than have enough work
    assert parallel.split_threads(None, 300, 10**7) == 2  # ...or enough rows
    assert parallel.split_threads(3, 2, 10) == 2  # an explicit count, capped by the rows
    assert parallel.split_threads(1, 1000, mnist_params) == 1


def test_run_finishes_every_call_before_raising() -> None:
    finished = threading.Event()

    def slow() -> int:
        time.sleep(0.05)
        finished.set()
        return 1

    def fail() -> int:
        raise RuntimeError("part failed")

    with parallel.cpu_threads(2) as pool:
        with pytest.raises(RuntimeError, match="part failed"):
            parallel._run([fail, slow], pool)
        assert finished.is_set()
        assert parallel._run([lambda: 1, lambda: 2], pool) == [1, 2]


@pytest.mark.parametrize("threads", [0, -2, 2.5, True, "4"])
def test_bad_thread_counts_are_refused(threads) -> None:
    with pytest.raises(ValueError, match="threads"):
        NN([Dense(2, activation="softmax", input_dim=3)], loss="categorical_crossentropy", threads=threads)


def test_thread_count_survives_save_and_load(tmp_path) -> None:
    net = _net("mse", Adam(), 3)
    net.save(tmp_path / "net.npz")
    assert NN.load(tmp_path / "net.npz").threads == 3
