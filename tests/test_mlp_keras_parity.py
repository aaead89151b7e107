"""Parity with Keras: the project's proof that the from-scratch MLP is Keras's algorithm.

The same network is built in Keras 3 (TensorFlow backend) and in mlp_impl, given identical
initial weights, and trained on the same batches in the same order (sampling="sequential"
against ``fit(shuffle=False)``, with a last partial batch) for several epochs. Per-epoch losses
and final weights must agree to 1e-5 relative in float64 and 1e-4 in float32, with NumPy's
kernels and with the fused ones.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlp_impl import NN, SGD, Adam, AMSGrad, Dense  # noqa: E402

TOLERANCE = {"float64": 1e-5, "float32": 1e-4}
EXACT_BETAS = {"beta_1": 0.875, "beta_2": 1 - 2**-10}
N_ROWS, BATCH, EPOCHS = 60, 16, 3  # 4 steps per epoch, the last one of 12 rows

# name: (widths, activations, loss, optimizer name, optimizer options, learning rate, l1, l2)
CASES = {
    "binary-sgd": ((7, 15, 1), ("relu", "sigmoid"), "binary_crossentropy", "sgd", {}, 0.1, 0.0, 0.0),
    "binary-adam": ((7, 15, 1), ("relu", "sigmoid"), "binary_crossentropy", "adam", {}, 0.01, 0.0, 0.0),
    "binary-adam-l1l2": ((7, 15, 1), ("relu", "sigmoid"), "binary_crossentropy", "adam", {}, 0.01, 0.01, 0.02),
    "multiclass-adam": ((6, 10, 8, 4), ("relu", "tanh", "softmax"), "categorical_crossentropy", "adam", {}, 0.01, 0.0, 0.0),
    "multiclass-sgd-momentum": ((6, 10, 4), ("relu", "softmax"), "categorical_crossentropy", "sgd", {"momentum": 0.9}, 0.05, 0.0, 0.0),
    "multiclass-amsgrad": ((6, 10, 4), ("sigmoid", "softmax"), "categorical_crossentropy", "amsgrad", {}, 0.01, 0.0, 0.0),
    "mse-sgd": ((5, 8, 2), ("tanh", "linear"), "mse", "sgd", {}, 0.05, 0.0, 0.0),
    "mse-adam": ((5, 8, 2), ("relu", "linear"), "mse", "adam", {}, 0.01, 0.0, 0.0),
    # l2 = 2^-6, exact in float32: Keras's penalty factor then matches ours to float64 rounding
    "binary-sgd-l2": ((7, 15, 1), ("relu", "sigmoid"), "binary_crossentropy", "sgd", {}, 0.1, 0.0, 2**-6),
    "mae-sgd": ((5, 8, 2), ("tanh", "linear"), "mae", "sgd", {}, 0.05, 0.0, 0.0),
    # betas exact in float32, so TF's float32 constants (see ONE_STEP_RTOL) change nothing
    "multiclass-adam-exact-betas": ((6, 10, 4), ("relu", "softmax"), "categorical_crossentropy", "adam", EXACT_BETAS, 0.01, 0.0, 0.0),
}
# float64 cases whose agreement is limited only by summation order
EXACT_FLOAT64 = {"binary-sgd", "mse-sgd", "multiclass-adam-exact-betas", "binary-sgd-l2", "mae-sgd"}  # momentum 0.9 is rounded too


@pytest.fixture(params=["float64", "float32"])
def floatx(request: pytest.FixtureRequest):
    """Keras's float type for one test, restored afterwards."""
    previous = keras.backend.floatx()
    keras.backend.clear_session()  # Keras caches tensors in the old float type otherwise
    keras.backend.set_floatx(request.param)
    yield request.param
    keras.backend.clear_session()
    keras.backend.set_floatx(previous)


def _data(widths: tuple[int, ...], loss: str, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N_ROWS, widths[0]))
    k = widths[-1]
    if loss == "binary_crossentropy":
        y = (x[:, :1] + 0.5 * rng.standard_normal((N_ROWS, 1)) > 0).astype(float)
    elif loss == "categorical_crossentropy":
        y = np.eye(k)[rng.integers(0, k, N_ROWS)]
    else:
        y = x[:, :k] * 0.5 + 0.1 * rng.standard_normal((N_ROWS, k))
    return x.astype(dtype), y.astype(dtype)


def _keras_optimizer(name: str, options: dict, lr: float):
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=options.get("momentum", 0.0))
    betas = {k: v for k, v in options.items() if k.startswith("beta")}
    return keras.optimizers.Adam(learning_rate=lr, epsilon=1e-7, amsgrad=name == "amsgrad", **betas)


def _ours_optimizer(name: str, options: dict):
    return {"sgd": SGD, "adam": Adam, "amsgrad": AMSGrad}[name](**options)


_KERAS_RUNS: dict[tuple[str, str], tuple[list[np.ndarray], list[float], list[np.ndarray]]] = {}


def keras_training(case: str, floatx: str, initial: list[np.ndarray], x: np.ndarray,
                   y: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    """Keras's per-epoch losses and final weights for `case` from `initial`: trained once per
    float type, as both kernels start from the same weights (checked) and compare against it."""
    widths, acts, loss, opt, options, lr, l1, l2 = CASES[case]
    if (case, floatx) not in _KERAS_RUNS:
        reg = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
        model = keras.Sequential([keras.Input((widths[0],))] + [
            keras.layers.Dense(u, activation=a, kernel_regularizer=reg) for u, a in zip(widths[1:], acts)])
        model.compile(optimizer=_keras_optimizer(opt, options, lr), loss=loss, run_eagerly=True)
        model.set_weights(initial)
        losses = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0).history["loss"]
        _KERAS_RUNS[case, floatx] = ([w.copy() for w in initial], losses, model.get_weights())
    start, losses, weights = _KERAS_RUNS[case, floatx]
    for before, now in zip(start, initial):
        np.testing.assert_array_equal(before, now)
    return losses, weights


@pytest.mark.parametrize("case", list(CASES))
def test_training_matches_keras(case: str, floatx: str, kernels: str) -> None:
    widths, acts, loss, opt, options, lr, l1, l2 = CASES[case]
    x, y = _data(widths, loss, floatx)
    net = NN(
        [Dense(u, a) for u, a in zip(widths[1:], acts)], loss=loss, optimizer=_ours_optimizer(opt, options),
        initializer="xavier", dtype=floatx, seed=11, sampling="sequential", l1=l1, l2=l2, kernels=kernels,
    )
    net.build(widths[0])
    keras_losses, keras_weights = keras_training(case, floatx, net.get_weights(), x, y)

    ours = net.fit(x, y, EPOCHS, lr, sample_size=BATCH)
    tol = TOLERANCE[floatx]
    np.testing.assert_allclose(ours, keras_losses, rtol=tol)
    assert ours[-1] < ours[0]  # it trained
    if floatx == "float64" and case in EXACT_FLOAT64:
        tol = 1e-10
        np.testing.assert_allclose(ours, keras_losses, rtol=tol)
    for mine, theirs in zip(net.get_weights(), keras_weights):
        scale = float(np.abs(theirs).max())
        np.testing.assert_allclose(mine, theirs, rtol=tol, atol=tol * scale)
        assert mine.dtype == np.dtype(floatx)


# TF turns the Python floats beta_1/beta_2 into float32 constants before casting them to
# float64, so Keras's float64 bias correction uses rounded betas: its first Adam steps are
# 6.7e-6 relatively smaller than exact Adam's. SGD has no such constant and agrees to rounding.
ONE_STEP_RTOL = {"sgd": 1e-13, "adam": 1e-5}


@pytest.mark.parametrize("opt", list(ONE_STEP_RTOL))
def test_one_step_matches_keras(opt: str, kernels: str) -> None:
    """After one full-batch step from identical float64 weights, the updates agree."""
    previous = keras.backend.floatx()
    keras.backend.clear_session()
    keras.backend.set_floatx("float64")
    try:
        x, y = _data((7, 15, 1), "binary_crossentropy", "float64")
        net = NN([Dense(15, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy",
                 optimizer=_ours_optimizer(opt, {}), dtype="float64", seed=3, sampling="sequential",
                 kernels=kernels)
        net.build(7)
        start = net.get_weights()
        model = keras.Sequential([keras.Input((7,)), keras.layers.Dense(15, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=_keras_optimizer(opt, {}, 0.01), loss="binary_crossentropy", run_eagerly=True)
        model.set_weights(start)
        keras_loss = float(model.train_on_batch(x, y))
        ours = net.fit(x, y, 1, 0.01, sample_size=N_ROWS)
        assert ours[0] == pytest.approx(keras_loss, rel=1e-13)
        for mine, theirs, w0 in zip(net.get_weights(), model.get_weights(), start):
            np.testing.assert_allclose(mine - w0, theirs - w0, rtol=ONE_STEP_RTOL[opt], atol=1e-15)
    finally:
        keras.backend.clear_session()
        keras.backend.set_floatx(previous)
