"""Fused kernels (Numba) against NumPy's, the reference: the same training steps to float
tolerance for every optimizer, loss and activation, in float32 and float64, with the serial and
the parallel loops; and a fused network that cannot run is refused before any work.

Gradient checks and Keras parity run on both kernels too (``kernels`` fixture, conftest.py).
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
from typing import Any, Callable

import numpy as np
import pytest
from conftest import require_numba

from mlp_impl import NN, SGD, Adam, AMSGrad, Dense, activations, fused, pcg64

OPTIMIZERS = {"sgd": lambda: SGD(), "sgd-momentum": lambda: SGD(momentum=0.9), "adam": lambda: Adam(),
              "adam-article": lambda: Adam(variant="article"), "amsgrad": lambda: AMSGrad()}
HEADS = [(act, loss) for loss in ("mse", "mae") for act in activations.NAMES] + [
    ("sigmoid", "binary_crossentropy"), ("softmax", "categorical_crossentropy")]
TOLERANCE = {"float64": 1e-10, "float32": 2e-4}


@pytest.fixture(params=["serial", "parallel", "whole-epoch"])
def loops(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every compiled form: step by step with the serial loops (small arrays) or Numba's threads,
    and a whole epoch per call (``fused.WholeEpoch``, which these small networks qualify for)."""
    require_numba()
    monkeypatch.setattr(fused, "PARALLEL_MIN", 0 if request.param == "parallel" else None)
    if request.param != "whole-epoch":
        monkeypatch.setattr(fused, "WHOLE_EPOCH_MAX", 0)
    return request.param


def _data(k: int, loss: str, rows: int = 50) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((rows, 6))
    if loss == "categorical_crossentropy":
        return x, np.eye(k)[rng.integers(0, k, rows)]
    if loss == "binary_crossentropy":
        return x, (x[:, :k] + rng.standard_normal((rows, k)) > 0).astype(float)
    return x, np.tanh(x[:, :k]) + 0.1 * rng.standard_normal((rows, k))


def _train(kernels: str, layers: list[Dense], loss: str, optimizer, dtype: str, *, lr: float = 0.01,
           **options) -> tuple[list[float], list[np.ndarray]]:
    x, y = _data(layers[-1].units, loss)
    net = NN(layers, loss=loss, optimizer=optimizer, dtype=dtype, seed=4, kernels=kernels, **options)
    history = net.fit(x, y, epochs=4, learning_rate=lr, sample_size=16)  # 4 steps an epoch, last of 2 rows
    return history, net.get_weights()


def _assert_same(numpy_run, fused_run, dtype: str) -> None:
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(fused_run[0], numpy_run[0], rtol=tol)
    for ours, reference in zip(fused_run[1], numpy_run[1]):
        assert ours.dtype == np.dtype(dtype)
        np.testing.assert_allclose(ours, reference, rtol=tol, atol=tol * float(np.abs(reference).max()))


DEEP = [Dense(9, "relu"), Dense(7, "tanh"), Dense(6, "sigmoid"), Dense(3, "softmax")]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_steps_match_numpy_for_each_optimizer(optimizer: str, dtype: str, loops: str) -> None:
    """Every hidden activation, the softmax head and L1/L2, with each optimizer."""
    runs = [_train(k, DEEP, "categorical_crossentropy", OPTIMIZERS[optimizer](), dtype, l1=0.001, l2=0.01)
            for k in ("numpy", "fused")]
    _assert_same(*runs, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation,loss", HEADS)
def test_steps_match_numpy_for_each_head(activation: str, loss: str, dtype: str, loops: str) -> None:
    k = 1 if loss == "binary_crossentropy" else 3
    layers = [Dense(8, "relu"), Dense(k, activation)]
    runs = [_train(kernels, layers, loss, Adam(), dtype) for kernels in ("numpy", "fused")]
    _assert_same(*runs, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_article_backprop_matches_numpy(dtype: str, loops: str) -> None:
    """The article's order updates one layer's block at a time: the fused update on each range."""
    runs = [_train(k, DEEP, "categorical_crossentropy", Adam(variant="article"), dtype, backprop="article", l2=0.01)
            for k in ("numpy", "fused")]
    _assert_same(*runs, dtype)


@pytest.mark.parametrize("activation,loss", [("sigmoid", "binary_crossentropy"), ("softmax", "categorical_crossentropy"),
                                             ("sigmoid", "mse")])
def test_the_articles_whole_algorithm_matches_numpy(activation: str, loss: str) -> None:
    """Its loss derivative, Adam and backprop order together, in float64 as the article ran them."""
    require_numba()
    k = 1 if loss != "categorical_crossentropy" else 3
    layers = [Dense(8, "relu"), Dense(k, activation)]
    runs = [_train(kernels, layers, loss, Adam(variant="article", epsilon=1e-8), "float64", backprop="article",
                   loss_gradient="article", sampling="article") for kernels in ("numpy", "fused")]
    _assert_same(*runs, "float64")


def test_a_one_percent_change_is_caught() -> None:
    """Negative control: the comparison above fails for a learning rate 1% off."""
    require_numba()
    reference = _train("numpy", DEEP, "categorical_crossentropy", Adam(), "float32")
    off = _train("fused", DEEP, "categorical_crossentropy", Adam(), "float32", lr=0.0101)
    with pytest.raises(AssertionError):
        _assert_same(reference, off, "float32")


def test_save_and_load_keep_fused_kernels(tmp_path) -> None:
    """A saved fused network reloads fused, with its optimizer state: training goes on identically."""
    require_numba()
    x, y = _data(3, "categorical_crossentropy")
    net = NN(DEEP, loss="categorical_crossentropy", optimizer=AMSGrad(), seed=1, kernels="fused", dtype="float64")
    net.fit(x, y, epochs=2, sample_size=16, learning_rate=0.01)
    net.save(tmp_path / "net.npz")
    again = NN.load(tmp_path / "net.npz")
    assert again.kernels == "fused" and type(again.optimizer) is type(net.optimizer)
    np.testing.assert_array_equal(again.fit(x, y, 2, 0.01, 16), net.fit(x, y, 2, 0.01, 16))


def test_unknown_kernels_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown kernels 'cuda': use one of numpy, fused"):
        NN([Dense(1, "sigmoid")], loss="binary_crossentropy", kernels="cuda")


def test_fused_without_numba_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fused, "numba", None)
    with pytest.raises(ValueError, match=r"needs Numba.*pip install -e '\.\[fused\]' \(or make install\)"):
        NN([Dense(1, "sigmoid")], loss="binary_crossentropy", kernels="fused")


def test_fused_takes_a_numpy_backend_object() -> None:
    require_numba()
    from mlp_impl import get_backend
    net = NN([Dense(1, "sigmoid")], loss="binary_crossentropy", kernels="fused", backend=get_backend("numpy"))
    assert net.kernels == "fused" and net.backend.name == "numpy"


def test_fused_on_the_gpu_is_refused() -> None:
    """Refused before CuPy is even looked for: the message is the same with or without a GPU."""
    require_numba()
    with pytest.raises(ValueError, match="CPU only.*backend 'cupy'.*kernels='numpy'"):
        NN([Dense(1, "sigmoid")], loss="binary_crossentropy", kernels="fused", backend="cupy")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_split_steps_match_numpy(dtype: str) -> None:
    """The row split over two threads runs the serial fused kernels in each part."""
    require_numba()
    runs = [_train(k, DEEP, "categorical_crossentropy", Adam(), dtype, threads=2, l1=0.001, l2=0.01)
            for k in ("numpy", "fused")]
    _assert_same(*runs, dtype)


def test_a_diverging_fused_run_gives_nan_like_numpy() -> None:
    """A loss that overflows reads NaN with both kernels (the harness records the run as diverged),
    never an exception from inside a fused loop."""
    require_numba()
    histories = {}
    for kernels in ("numpy", "fused"):
        x, y = _data(1, "binary_crossentropy")
        net = NN([Dense(8, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=SGD(),
                 dtype="float64", seed=4, kernels=kernels)
        with np.errstate(all="ignore"):
            histories[kernels] = net.fit(x * 1e200, y, epochs=2, learning_rate=1e200, sample_size=16)
    assert not np.isfinite(histories["numpy"]).all() and not np.isfinite(histories["fused"]).all()


def test_whole_epoch_runs_only_where_it_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-call epoch takes small standard steps with a cross-entropy head; everything else,
    and a net of more rows x parameters than WHOLE_EPOCH_MAX, stays step by step."""
    require_numba()

    def net(**options) -> NN:
        layers = options.pop("layers", DEEP)
        loss = options.pop("loss", "categorical_crossentropy")
        return NN(layers, loss=loss, optimizer=Adam(), kernels=options.pop("kernels", "fused"), **options)

    built = net()
    built.build(6)
    assert fused.WholeEpoch.fits(built, 16)  # what the "whole-epoch" cases above run
    refused = {"numpy kernels": net(kernels="numpy"), "article backprop": net(backprop="article"),
               "article loss gradient": net(loss_gradient="article"), "two threads": net(threads=2),
               "mse": net(layers=[Dense(8, "relu"), Dense(2, "linear")], loss="mse"),
               "hidden softmax": net(layers=[Dense(8, "softmax"), Dense(3, "softmax")])}
    for reason, candidate in refused.items():
        candidate.build(6)
        assert not fused.WholeEpoch.fits(candidate, 16), reason
    monkeypatch.setattr(fused, "WHOLE_EPOCH_MAX", 16 * built.n_params - 1)
    assert not fused.WholeEpoch.fits(built, 16)


def test_whole_epoch_matches_numpy_with_every_sampling() -> None:
    """The kernel draws the shuffle's orders itself (pcg64) and takes the other samplings' from
    the sampler (``epoch_order``): the same batches as NumPy's kernels either way."""
    require_numba()
    for sampling in ("shuffle", "article", "sequential"):
        runs = [_train(k, DEEP, "categorical_crossentropy", Adam(), "float64", sampling=sampling) for k in ("numpy", "fused")]
        _assert_same(*runs, "float64")


class _Spied:
    """The whole-epoch kernel with each call, through Numba's dispatcher or direct
    (``fused.direct``), made as ``through(route, function, *arguments)``."""

    def __init__(self, through: Callable[..., Any]) -> None:
        self.kernel, self.through = fused._epoch_kernel(), through

    def __call__(self, *arguments: Any) -> Any:
        return self.through("dispatched", self.kernel, *arguments)

    def typeof_pyval(self, value: Any) -> Any:
        return self.kernel.typeof_pyval(value)

    def compile(self, signature: tuple) -> Callable[..., Any]:
        """The direct route, checking on every call what the compiled function does not: that
        the arguments still have the types it was compiled for."""
        compiled = self.kernel.compile(signature)

        def call(*arguments: Any) -> Any:
            assert tuple(map(self.kernel.typeof_pyval, arguments)) == signature
            return self.through("direct", compiled, *arguments)

        return call


@pytest.mark.parametrize("sampling", ["shuffle", "article", "sequential"])
def test_fit_and_gradients_take_the_whole_epoch_path_where_it_applies(monkeypatch: pytest.MonkeyPatch,
                                                                      sampling: str) -> None:
    """So the "whole-epoch" cases above test the kernel, and "fused-steps" (WHOLE_EPOCH_MAX=0) the
    steps. The epochs call the compiled function direct where the kernel draws the order (the
    shuffle), with the types it was compiled for; elsewhere, and for gradients, the dispatcher."""
    require_numba()
    calls: list[str] = []
    spied = _Spied(lambda route, run, *a: calls.append(route) or run(*a))
    monkeypatch.setattr(fused, "_epoch_kernel", lambda: spied)
    for method in ("epochs", "gradients"):
        original = getattr(fused.WholeEpoch, method)
        monkeypatch.setattr(fused.WholeEpoch, method,
                            lambda self, *a, _m=method, _f=original, **k: calls.append(_m) or _f(self, *a, **k))
    x, y = _data(3, "categorical_crossentropy")
    net = NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels="fused", sampling=sampling)
    net.fit(x, y, epochs=2, learning_rate=0.01, sample_size=16)
    net.gradients(x, y)
    route = "direct" if sampling == "shuffle" else "dispatched"
    assert calls == ["epochs", route, route, "gradients", "dispatched"] and net.fit_threads == 1
    monkeypatch.setattr(fused, "WHOLE_EPOCH_MAX", 0)
    calls.clear()
    net.fit(x, y, epochs=1, learning_rate=0.01, sample_size=16)
    net.gradients(x, y)
    assert calls == []  # step by step now


@pytest.mark.parametrize("sampling", ["shuffle", "article", "sequential"])
def test_a_fit_leaves_the_generator_where_numpys_kernels_leave_it(sampling: str) -> None:
    """The kernel draws the shuffle's orders itself (pcg64); the generator, written back when the
    fit ends, normally or stopped by its callback, continues as after NumPy's own draws, so a
    second fit takes the same batches."""
    require_numba()
    x, y = _data(3, "categorical_crossentropy")
    after = {}
    for kernels in ("numpy", "fused"):
        net = NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels=kernels, sampling=sampling,
                 dtype="float64")
        net.fit(x, y, epochs=3, learning_rate=0.01, sample_size=16)
        net.fit(x, y, epochs=5, learning_rate=0.01, sample_size=16, callback=lambda epoch, loss: epoch == 1)
        assert net.fit_whole_epochs == (kernels == "fused")
        after[kernels] = (net._rng.random(3), net.get_weights(), net.optimizer.iterations)
    np.testing.assert_array_equal(after["fused"][0], after["numpy"][0])
    _assert_same((np.zeros(1), after["numpy"][1]), (np.zeros(1), after["fused"][1]), "float64")
    assert after["fused"][2] == after["numpy"][2] == 5 * 4


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_binary_crossentropy_with_several_outputs_matches_numpy(dtype: str, loops: str) -> None:
    """The sigmoid head averages over rows x outputs: with three outputs a rows-only scale shows."""
    layers = [Dense(8, "relu"), Dense(3, "sigmoid")]
    runs = [_train(k, layers, "binary_crossentropy", Adam(), dtype, l2=0.01) for k in ("numpy", "fused")]
    _assert_same(*runs, dtype)


def test_whole_epoch_gradients_with_several_sigmoid_outputs_match_finite_differences() -> None:
    require_numba()
    from test_mlp_gradients import _check

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((12, 3)), rng.integers(0, 2, (12, 3)).astype(float)
    net = NN([Dense(5, "tanh"), Dense(3, "sigmoid")], loss="binary_crossentropy", dtype="float64", seed=0,
             l1=0.01, l2=0.02, kernels="fused")
    net.build(3)
    assert fused.WholeEpoch.fits(net, 12)
    _check(net, x, y)


def test_every_loop_compiles_without_assuming_no_nan() -> None:
    """The NaN tests below hold by LLVM's rules, not by luck: no loop is compiled with fast-math's
    "no NaN", "no infinity" or "approximate functions" (under which a NaN's fate is undefined),
    while reassociation, which vectorizes the sums, stays."""
    require_numba()
    names = [name for name, value in vars(fused).items()
             if inspect.isfunction(value) and value.__module__ == fused.__name__ and name.startswith("_")
             and "prange" in value.__code__.co_names]  # the loops ``kernel`` compiles
    assert {"_relu_forward", "_sigmoid_bce", "_softmax_cce", "_adam", "_penalty"} <= set(names)
    loops = [fused._compiled(getattr(fused, name), parallel) for name in names for parallel in (False, True)]
    for compiled in [*loops, fused._epoch_kernel()]:
        flags = compiled.targetoptions["fastmath"]
        assert "reassoc" in flags and set(flags) <= {"reassoc", "contract", "arcp", "nsz"}, compiled


@pytest.mark.parametrize("parallel", [False, True])
def test_a_nan_logit_stays_nan_in_the_sigmoid_and_the_heads(parallel: bool) -> None:
    """A diverging run must read NaN (the harness's divergence): no loop turns a NaN logit into a
    probability or a finite loss."""
    require_numba()
    z = np.array([[0.5, np.nan, -800.0], [np.nan, 1.0, 2.0]])
    y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    a = np.empty_like(z)
    fused._compiled(fused._sigmoid_forward, parallel)(z, a)
    assert np.isnan(a[0, 1]) and np.isnan(a[1, 0]) and np.isfinite(a[0, ::2]).all() and np.isfinite(a[1, 1:]).all()
    for head in (fused._sigmoid_bce, fused._softmax_cce):
        p, delta = np.empty_like(z), np.empty_like(z)
        assert np.isnan(fused._compiled(head, parallel)(z, y, p, delta, 1.0))
        assert np.isnan(p[0, 1]) and np.isnan(p[1, 0]) and np.isnan(delta[0, 1]) and np.isnan(delta[1, 0])


@pytest.mark.parametrize("loss", ["binary_crossentropy", "categorical_crossentropy"])
def test_a_whole_epoch_from_a_nan_weight_reads_nan(loss: str) -> None:
    """The same through the whole-epoch kernel, which compiles the loops into itself (the softmax
    on a transposed layout): a NaN weight gives a NaN loss, as NumPy's kernels do."""
    require_numba()
    x, y = _data(3, loss)
    histories = {}
    for kernels in ("numpy", "fused"):
        net = NN([Dense(5, "sigmoid"), Dense(3, "sigmoid" if loss == "binary_crossentropy" else "softmax")],
                 loss=loss, seed=2, kernels=kernels)
        net.build(x.shape[1])
        net.params[0] = np.nan  # set_weights refuses non-finite weights; a diverged run has them
        with np.errstate(all="ignore"):
            histories[kernels] = net.fit(x, y, epochs=1, learning_rate=0.01, sample_size=16)
        assert net.fit_whole_epochs == (kernels == "fused")
    assert np.isnan(histories["numpy"][0]) and np.isnan(histories["fused"][0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_sigmoid_head_takes_its_logs_in_chunks(dtype: str) -> None:
    """Rows of 1300 outputs near 0 and a few far out: the loss, probabilities and deltas of the
    exact formulas, serial and parallel."""
    require_numba()
    rng = np.random.default_rng(8)
    z = (0.3 * rng.standard_normal((2, 1300))).astype(dtype)
    z[0, :4] = [40, -40, 0, 700 if dtype == "float64" else 80]
    y = (rng.random(z.shape) < 0.4).astype(dtype)
    z64 = z.astype(np.float64)
    expected = np.sum(np.logaddexp(0, z64) - y * z64)
    e = np.exp(-np.abs(z64))
    sigmoid = np.where(z64 >= 0, 1 / (1 + e), e / (1 + e))
    for parallel in (False, True):
        p, delta = np.empty_like(z), np.empty_like(z)
        total = fused._compiled(fused._sigmoid_bce, parallel)(z, y, p, delta, z.dtype.type(0.5))
        assert total == pytest.approx(expected, rel=1e-12 if dtype == "float64" else 1e-6)
        np.testing.assert_allclose(p, sigmoid, rtol=TOLERANCE[dtype], atol=1e-300)
        np.testing.assert_allclose(delta, (sigmoid - y) * 0.5, rtol=TOLERANCE[dtype], atol=1e-7)


@pytest.mark.parametrize("parallel", [False, True])
def test_the_sigmoid_heads_log_neither_overflows_nor_loses_a_small_loss(parallel: bool) -> None:
    """Zeros make each 1 + e equal 2: a row of 2000 in one product would be 2**2000, inf. And 512
    confident right answers (v = 30, y = 1): a loss of 512 log1p(e**-30), kept to float64 digits."""
    require_numba()
    head = fused._compiled(fused._sigmoid_bce, parallel)
    z = np.zeros((3, 2000))
    assert head(z, np.ones_like(z), np.empty_like(z), np.empty_like(z), 1.0) == pytest.approx(6000 * np.log(2),
                                                                                            rel=1e-12)
    z = np.full((1, 512), 30.0)
    assert head(z, np.ones_like(z), np.empty_like(z), np.empty_like(z), 1.0) == pytest.approx(
        512 * np.log1p(np.exp(-30.0)), rel=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_whole_epoch_of_more_than_512_rows_a_step_matches_numpy(dtype: str) -> None:
    """The one-call epoch's sigmoid head sees a step's rows in one row (units x rows): 1100 rows
    take three chunks of logs."""
    require_numba()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2200, 3))
    y = (x[:, :1] + rng.standard_normal((2200, 1)) > 0).astype(float)
    runs = []
    for kernels in ("numpy", "fused"):
        net = NN([Dense(4, "tanh"), Dense(1, "sigmoid")], loss="binary_crossentropy", optimizer=Adam(),
                 dtype=dtype, seed=4, kernels=kernels)
        runs.append((net.fit(x, y, epochs=3, learning_rate=0.01, sample_size=1100), net.get_weights()))
        assert net.fit_whole_epochs == (kernels == "fused")
    _assert_same(*runs, dtype)


def test_an_interrupted_fit_leaves_the_generator_after_the_epochs_it_drew(monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted in its third kernel call (no callback), a fit has drawn two epochs' orders: the
    generator is where a two-epoch fit leaves it."""
    require_numba()
    x, y = _data(3, "categorical_crossentropy")
    two = NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels="numpy", dtype="float64")
    two.fit(x, y, epochs=2, learning_rate=0.01, sample_size=16)
    calls = []

    def interrupted(route, run, *arguments):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return run(*arguments)

    spied = _Spied(interrupted)
    monkeypatch.setattr(fused, "_epoch_kernel", lambda: spied)
    net = NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels="fused", dtype="float64")
    with pytest.raises(KeyboardInterrupt):
        net.fit(x, y, epochs=5, learning_rate=0.01, sample_size=16)
    assert not pcg64._HELD  # written back, nothing left pending
    np.testing.assert_array_equal(net._rng.random(3), two._rng.random(3))


def test_a_checkpoint_saved_by_the_callback_holds_the_generator_of_that_epoch(tmp_path) -> None:
    """NN.save keeps the generator's state so that a loaded network resumes the same draws: a
    checkpoint taken between epochs must hold the state after that epoch's draws, not the fit's
    first; a network loaded from it continues as the uninterrupted fit does."""
    require_numba()
    x, y = _data(3, "categorical_crossentropy")
    states, finals = {}, {}
    for kernels in ("numpy", "fused"):
        net = NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels=kernels, dtype="float64")
        path = tmp_path / f"{kernels}.npz"
        net.fit(x, y, epochs=4, learning_rate=0.01, sample_size=16,
                callback=lambda epoch, loss, _net=net, _path=path: epoch == 1 and _net.save(_path))
        finals[kernels] = net.get_weights()
        resumed = NN.load(path)
        states[kernels] = resumed._rng.bit_generator.state
        resumed.fit(x, y, epochs=2, learning_rate=0.01, sample_size=16)
        _assert_same((np.zeros(1), finals[kernels]), (np.zeros(1), resumed.get_weights()), "float64")
    assert states["fused"] == states["numpy"]


def test_the_generator_read_from_the_callback_is_where_numpys_kernels_leave_it_that_epoch() -> None:
    """The fused kernel draws from a copy of the generator's state and writes it back when the
    generator is read, not after every epoch. Read from the callback at every epoch: directly
    (twice: it does not go back), through a copy taken at the first epoch (which shares the
    generator), as a shallow copy's generator (not read through ``_rng``) and as a deep copy's, it
    holds the state NumPy's own draws leave after that epoch."""
    require_numba()
    x, y = _data(3, "categorical_crossentropy")
    seen = {}
    for kernels in ("numpy", "fused"):
        net = NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels=kernels, dtype="float64")
        states = seen[kernels] = []
        first = []

        def callback(epoch: int, loss: float, net: NN = net, states: list = states, first: list = first) -> bool:
            if epoch == 0:
                first.append(copy.copy(net))
                states.append(first[0]._rng.bit_generator.state)
            elif epoch == 1:
                states.append(copy.copy(net)._generator.bit_generator.state)  # not through _rng
                states.append(copy.deepcopy(net)._generator.bit_generator.state)
            elif epoch == 2:
                states.append(net._rng.bit_generator.state)
                states.append(net._rng.bit_generator.state)
            else:
                states.append(first[0]._rng.bit_generator.state)
            return False

        net.fit(x, y, epochs=4, learning_rate=0.01, sample_size=16, callback=callback)
        states.append(net._rng.bit_generator.state)
    assert len(seen["fused"]) == 7 and seen["fused"] == seen["numpy"]
    assert len({str(state) for state in seen["fused"]}) == 4  # each epoch draws


@pytest.mark.parametrize("drawer", ["the callback", "a copy's fit"])
def test_draws_from_the_generator_between_epochs_count_as_with_numpys_kernels(drawer: str) -> None:
    """NumPy's kernels draw each epoch's order from the generator itself, so draws made between
    epochs (the callback's, or a fit of a copy made before, which shares the generator) change
    the next orders. The fused kernel draws from a copy of the state: after the generator was
    read it takes the state afresh, so the fits agree in weights and in the generator's end."""
    require_numba()
    x, y = _data(3, "categorical_crossentropy")
    ends = {}
    for kernels in ("numpy", "fused"):
        net = NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels=kernels, dtype="float64")
        net.build(x.shape[1])
        twin = copy.copy(net)  # made before the fit, so it may fit during it: it shares everything

        def callback(epoch: int, loss: float, net: NN = net, twin: NN = twin) -> bool:
            if epoch == 1 and drawer == "the callback":
                net._rng.random(5)
            elif epoch == 1:
                twin.fit(x[:20], y[:20], epochs=1, learning_rate=1e-12, sample_size=16)  # draws
            return False

        net.fit(x, y, epochs=4, learning_rate=0.01, sample_size=16, callback=callback)
        assert not pcg64._HELD  # the fit let go of the state (before anything reads it below)
        ends[kernels] = (net.get_weights(), net._rng.bit_generator.state)
    assert ends["fused"][1] == ends["numpy"][1]
    _assert_same((np.zeros(1), ends["numpy"][0]), (np.zeros(1), ends["fused"][0]), "float64")


@pytest.mark.parametrize("kernels", ["numpy", "fused"])
def test_copies_taken_in_the_callback_can_be_fitted_once_the_fit_ends(kernels: str) -> None:
    """A copy of the network is not being fitted, whatever the original is: the callback's
    copies train later like any network. A deep copy is a checkpoint: the weights of its epoch,
    which the later epochs leave alone (a shallow copy shares the weights)."""
    if kernels == "fused":
        require_numba()
    x, y = _data(3, "categorical_crossentropy")
    net = NN(DEEP, loss="categorical_crossentropy", seed=1, kernels=kernels)
    shallow, deep, weights = [], [], []

    def callback(epoch: int, loss: float) -> bool:
        shallow.append(copy.copy(net))
        deep.append(copy.deepcopy(net))
        weights.append(net.get_weights())
        return False

    net.fit(x, y, epochs=2, sample_size=16, callback=callback)
    for taken, kept in zip(deep, weights):
        assert all(np.array_equal(a, b) for a, b in zip(taken.get_weights(), kept))
    assert not np.array_equal(shallow[0].get_weights()[0], weights[0][0])  # it moved with the original
    assert len(shallow[0].fit(x, y, epochs=2, sample_size=16)) == 2 and len(deep[0].fit(x, y, epochs=2, sample_size=16)) == 2


def test_a_fit_whose_generator_nobody_reads_writes_it_back_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The write-back (NumPy's state setter, a few microseconds) is not paid every epoch: once,
    when the fit ends, however many epochs a callback saw."""
    require_numba()
    x, y = _data(3, "categorical_crossentropy")
    writes = []
    restore = fused.pcg64.restore
    monkeypatch.setattr(fused.pcg64, "restore", lambda rng, words: writes.append(1) or restore(rng, words))
    net = NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels="fused", dtype="float64")
    net.fit(x, y, epochs=6, learning_rate=0.01, sample_size=16, callback=lambda epoch, loss: False)
    assert net.fit_whole_epochs and writes == [1] and not pcg64._HELD  # nothing left pending


@pytest.mark.parametrize("kernels", ["numpy", "fused"])
def test_a_fit_started_from_the_callback_is_refused(kernels: str) -> None:
    """Both paths alike: the fused kernel carries on from its own copy of the generator, so a fit
    inside its callback would repeat the inner fit's draws."""
    if kernels == "fused":
        require_numba()
    x, y = _data(3, "categorical_crossentropy")
    net = NN(DEEP, loss="categorical_crossentropy", seed=1, kernels=kernels)
    with pytest.raises(ValueError, match="NN.fit was called while this network is being fitted"):
        net.fit(x, y, epochs=3, sample_size=16, callback=lambda epoch, loss: net.fit(x, y, epochs=1))
    assert not pcg64._HELD
    assert len(net.fit(x, y, epochs=2, sample_size=16)) == 2  # the refused fit left no trace


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fits_and_gradients_use_the_kernel_warm_up_compiled(dtype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """warm_up compiles the whole-epoch kernel for a dtype before the clock starts; a fit that
    called it with another argument type would compile again inside its timed fit. Read-only
    data (np.load(..., mmap_mode="r")) included."""
    require_numba()
    monkeypatch.setattr(fused, "_ENTRY_POINTS", {})  # no entry point left by an earlier test
    fused.warm_up(dtype)
    kernel = fused._epoch_kernel()
    compiled = len(kernel.signatures)
    assert len(fused._ENTRY_POINTS) == 1  # warm_up found the entry point a fit calls direct
    x, y = _data(3, "categorical_crossentropy")
    for optimizer in OPTIMIZERS.values():
        for sampling in ("shuffle", "article", "sequential"):
            net = NN(DEEP, loss="categorical_crossentropy", optimizer=optimizer(), seed=1, kernels="fused",
                     dtype=dtype, sampling=sampling, l1=0.01, l2=0.01)
            net.fit(x, y, epochs=1, sample_size=16, callback=lambda epoch, loss: False)
            assert net.fit_whole_epochs
            net.gradients(x, y)
    binary = NN([Dense(4, "tanh"), Dense(2, "sigmoid")], loss="binary_crossentropy", seed=1, kernels="fused", dtype=dtype)
    binary.fit(x, (y[:, :2] > 0).astype(float), epochs=1, sample_size=16)
    x_read_only, y_read_only = x.astype(dtype), y.astype(dtype)  # as np.load(..., mmap_mode="r") gives them
    x_read_only.flags.writeable = y_read_only.flags.writeable = False
    monkeypatch.setattr(NN, "AUGMENT_MAX_BYTES", 0)  # x reaches the kernel as given, not copied with a ones column
    read_only = NN(DEEP, loss="categorical_crossentropy", seed=1, kernels="fused", dtype=dtype)
    read_only.fit(x_read_only, y_read_only, epochs=1, sample_size=16)
    assert not any(data.flags.writeable for data in read_only._training_arrays(x_read_only, y_read_only))
    assert len(fused._ENTRY_POINTS) == 1  # nor finds the direct call's entry point afresh
    assert len(kernel.signatures) == compiled


def test_update_plans_name_only_kernel_arguments() -> None:
    require_numba()
    plan = fused.update_plan(np.zeros(3), 1, momentum=np.float64(0.9))
    assert set(plan) <= set(fused._PARAMETERS) and plan["update"] == 1 and plan["momentum"] == 0.9
    with pytest.raises(TypeError, match="momentun"):
        fused.update_plan(np.zeros(3), 1, momentun=0.9)


def test_the_kernel_draws_the_shuffles_orders_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Python draw an epoch with the shuffle sampling; the other samplings still hand theirs over."""
    require_numba()
    from mlp_impl import sampling

    def refused(self):
        raise AssertionError("drawn in Python")

    monkeypatch.setattr(sampling.Sampler, "epoch_order", refused)
    x, y = _data(3, "categorical_crossentropy")
    NN(DEEP, loss="categorical_crossentropy", seed=1, kernels="fused").fit(x, y, epochs=2, sample_size=16)
    with pytest.raises(AssertionError, match="drawn in Python"):
        NN(DEEP, loss="categorical_crossentropy", seed=1, kernels="fused", sampling="article").fit(x, y, epochs=2,
                                                                                                    sample_size=16)


def test_the_kernels_arguments_are_named_once() -> None:
    """Built by name in the kernel's own order, the data as read-only views of the caller's arrays
    (left writable); a name too many or too few is refused."""
    require_numba()
    names = fused._PARAMETERS
    data = {"x": np.zeros((2, 3)), "y": np.ones((2, 1))}
    arguments = fused.kernel_arguments(**{**{name: i for i, name in enumerate(names)}, **data})
    assert [a for name, a in zip(names, arguments) if name not in data] == \
        [i for i, name in enumerate(names) if name not in data]
    for name, given in data.items():
        view = arguments[names.index(name)]
        assert np.shares_memory(view, given) and not view.flags.writeable and given.flags.writeable
    assert names[fused._ORDER] == "order"
    with pytest.raises(TypeError, match=r"\['updates'\]"):
        fused.kernel_arguments(**{name: 0 for name in names if name != "updates"})
    with pytest.raises(TypeError, match="momentum_2"):
        fused.kernel_arguments(**{name: 0 for name in names}, momentum_2=0)


def test_the_direct_call_is_kept_per_argument_types_byte_order_included() -> None:
    """fused.direct reuses an entry point only for arguments of the same Numba types: dtype,
    layout, writability and byte order each give another (or, where Numba cannot compile one,
    an error), never the entry point compiled for other types."""
    require_numba()

    @fused.numba.njit
    def first(a):
        return a[0]

    data = np.arange(6.0)
    read_only = data.copy()
    read_only.flags.writeable = False
    native = fused.direct(first, [data])
    assert fused.direct(first, [data.copy()]) is native  # the same types: kept
    others = [fused.direct(first, [variant]) for variant in
              (data.astype(np.float32), data.reshape(2, 3)[:, 0], read_only)]
    assert len({id(entry) for entry in [native, *others]}) == 4
    assert [entry(variant) for entry, variant in zip(others, (data.astype(np.float32), data.reshape(2, 3)[:, 0],
                                                               read_only))] == [0.0, 0.0, 0.0]
    with pytest.raises(Exception):  # Numba has no type for big-endian data: not the native entry point
        fused.direct(first, [data.astype(">f8")])
    assert fused.direct(first, [np.zeros(3, np.float16)]) is first  # no fingerprint: the dispatcher


def test_a_failed_epoch_call_leaves_the_update_count_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optimizer counts an epoch's updates only once the kernel has run them."""
    require_numba()
    x, y = _data(3, "categorical_crossentropy")
    net = NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels="fused")
    net.fit(x, y, epochs=1, learning_rate=0.01, sample_size=16)
    assert net.optimizer.iterations == 4  # 50 rows, 16 a batch

    def fails(*args):
        raise MemoryError("no room")

    spied = _Spied(fails)
    monkeypatch.setattr(fused, "_epoch_kernel", lambda: spied)
    with pytest.raises(MemoryError):
        net.fit(x, y, epochs=1, learning_rate=0.01, sample_size=16)
    assert net.optimizer.iterations == 4


@pytest.mark.parametrize("sampling", ["shuffle", "sequential"])
def test_an_interrupt_right_after_an_epoch_call_keeps_the_update_count_with_the_weights(
        monkeypatch: pytest.MonkeyPatch, sampling: str) -> None:
    """Ctrl-C during a compiled epoch is raised once the call returns, its updates applied: the
    optimizer's count includes them, so the network goes on as one fitted that epoch does."""
    require_numba()
    x, y = _data(3, "categorical_crossentropy")
    make = lambda: NN(DEEP, loss="categorical_crossentropy", optimizer=Adam(), seed=1, kernels="fused",
                      sampling=sampling)
    reference = make()
    reference.fit(x, y, epochs=2, learning_rate=0.01, sample_size=16)
    net = make()
    net.fit(x, y, epochs=1, learning_rate=0.01, sample_size=16)

    def interrupted(route, run, *arguments):
        run(*arguments)
        raise KeyboardInterrupt  # as the signal lands: after the call, before the next line

    spied = _Spied(interrupted)
    monkeypatch.setattr(fused, "_epoch_kernel", lambda: spied)
    with pytest.raises(KeyboardInterrupt):
        net.fit(x, y, epochs=3, learning_rate=0.01, sample_size=16)
    monkeypatch.undo()
    assert net.optimizer.iterations == reference.optimizer.iterations == 8
    _assert_same((np.zeros(1), reference.get_weights()), (np.zeros(1), net.get_weights()), "float32")
    reference.fit(x, y, epochs=1, learning_rate=0.01, sample_size=16)
    net.fit(x, y, epochs=1, learning_rate=0.01, sample_size=16)
    _assert_same((np.zeros(1), reference.get_weights()), (np.zeros(1), net.get_weights()), "float32")


def test_the_kernels_cache_name_follows_the_code_it_takes_from_other_files(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Numba's disk cache would keep a kernel compiled with an older optimizers.adam_step_sizes or
    pcg64."""
    from mlp_impl import optimizers
    before = fused.epoch_kernel_name()
    assert before == fused.epoch_kernel_name()
    names = []
    for call in ("sqrt", "exp"):  # the same bytecode, another function called
        source = (f"def adam_step_sizes(learning_rate, t, beta_1, beta_2, epsilon, keras):\n"
                  f"    c2 = math.{call}(1.0 - beta_2**t)\n"
                  f"    return learning_rate * c2 / (1.0 - beta_1**t), epsilon if keras else epsilon * c2\n")
        path = tmp_path / f"formula_{call}.py"
        path.write_text("import math\n" + source)
        spec = importlib.util.spec_from_file_location(f"formula_{call}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        monkeypatch.setattr(optimizers, "adam_step_sizes", module.adam_step_sizes)
        names.append(fused.epoch_kernel_name())
    assert before not in names and names[0] != names[1]
    monkeypatch.undo()
    path = tmp_path / "pcg64_changed.py"  # the kernel's permutation, one line changed
    path.write_text(inspect.getsource(fused.pcg64).replace("_58", "_57"))
    spec = importlib.util.spec_from_file_location("pcg64_changed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(fused, "pcg64", module)
    assert fused.epoch_kernel_name() not in (before, *names)
