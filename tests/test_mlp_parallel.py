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


def test_split_step_with_a_penalty_over_many_pieces_equals_serial_step() -> None:
    """With pieces of 32 values, the 275 parameters of the small net are cut into several pieces
    per thread: each piece adds the penalty of its own range once, as the serial step does."""
    x, y = _data(25, 6, 3, "mse")
    nets = [_net("mse", Adam(), threads, l1=0.001, l2=0.01) for threads in (1, 3)]
    histories = []
    for net in nets:
        net.backend.elementwise_chunk = 32
        histories.append(net.fit(x, y, epochs=3, learning_rate=0.05, sample_size=10))
    serial, split = nets
    assert split.fit_threads == 3 and split.n_params == 275
    assert len(next(iter(split._split_steps.values())).shares[1]) > 1
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-12)
    for got, want in zip(split.get_weights(), serial.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def _units(start: int, stop: int, unit: int) -> int:
    return -(-(stop - start) // unit)


@pytest.mark.parametrize("unit", [None, 2, 4, 8])
def test_even_cuts_cover_the_range_in_near_equal_parts(unit: int | None) -> None:
    """[start, stop) ranges: exactly `parts` of them, contiguous from 0 to `total`, inner cuts on
    multiples of `unit` (1 by default) or at the end, and part sizes in whole units (the last may be partial)
    differing by at most one."""
    for total in range(1, 70):
        for parts in range(1, 7):
            cuts = parallel._even_cuts(total, parts) if unit is None else parallel._even_cuts(total, parts, unit)
            step = unit or 1
            assert len(cuts) == parts
            assert cuts[0][0] == 0 and cuts[-1][1] == total
            assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
            assert all(stop % step == 0 or stop == total for _, stop in cuts[:-1])
            sizes = [_units(start, stop, step) for start, stop in cuts]
            assert max(sizes) - min(sizes) <= 1, (total, parts, cuts)
    assert parallel._even_cuts(10, 3) == [(0, 3), (3, 7), (7, 10)]  # by hand: cuts at 10/3 and 20/3, rounded


def test_blas_threads_reads_blas_first_then_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    from types import SimpleNamespace

    def libs(*counts: int):
        return lambda: SimpleNamespace(lib_controllers=[SimpleNamespace(num_threads=c) for c in counts])

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(parallel, "_blas_controller", libs(3, 5))
    assert parallel.blas_threads() == 5  # the most threads any loaded BLAS uses
    monkeypatch.setattr(parallel, "_blas_controller", libs(0))
    assert parallel.blas_threads() == 1  # never fewer than one
    monkeypatch.setattr(parallel, "_blas_controller", libs())
    assert parallel.blas_threads() == 3  # no BLAS found: the CPUs this process may run on

    def broken():
        raise RuntimeError("cannot read the library")

    monkeypatch.setattr(parallel, "_blas_controller", broken)
    assert parallel.blas_threads() == 3
    monkeypatch.delattr(os, "sched_getaffinity")  # no affinity call (macOS, Windows): all CPUs
    assert parallel.blas_threads() == 64
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # the count is unknown
    assert parallel.blas_threads() == 1


def test_automatic_choice_at_the_smallest_split_that_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    """256 rows x 2^20 parameters = 2^28: exactly two parts' worth of work (2^27 each) and of rows
    (128 each), so it splits in two; a single BLAS thread never splits."""
    monkeypatch.setattr(parallel, "blas_threads", lambda: 4)
    assert parallel.split_threads(None, 256, 1 << 20) == 2
    assert parallel.split_threads(None, 255, 1 << 21) == 1  # a row short of two parts
    assert parallel.split_threads(None, 256, (1 << 20) - 1) == 1  # one multiply-add short
    monkeypatch.setattr(parallel, "blas_threads", lambda: 1)
    assert parallel.split_threads(None, 1024, 1 << 22) == 1
