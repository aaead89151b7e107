"""scikit-learn's MLPClassifier / MLPRegressor with the ModelSpec's widths, optimizer and schedule.

What sklearn fixes for us, so the record says so: the output layer is implicit (logistic for
binary, softmax for multiclass, identity for regression), every hidden layer shares one activation,
rows are reshuffled every epoch (`honours_sampling=False`: its sampling is "shuffle"), and weights
*and biases* start from its own Glorot-uniform-like draw (bound sqrt(6/(in+out)), sqrt(2/(in+out))
for logistic layers), recorded as initializer "sklearn_glorot_uniform". It trains in the input
dtype (float32 or float64).

Equivalence to the other implementations' objective (loss + l2 * sum(W^2) over kernels):
- sklearn's L2 term per minibatch of m rows is 0.5 * alpha * sum(W^2) / m, so alpha = 2 * l2 * m
  (with m = batch_size; the last, shorter batch gets a slightly larger share);
- its squared error is half the MSE (c = 0.5), so for regression alpha is scaled by c, SGD's learning
  rate divided by c and Adam's epsilon multiplied by c, and losses are divided by c when recorded:
  the updates are then those of plain MSE.
Adam's epsilon goes on the uncorrected sqrt(v) (the Keras form); the article's variant has no
sklearn equivalent. No L1 and no AMSGrad in sklearn: such specs, and adam_variant=article, are
rejected before any work. sklearn sizes its output from the classes in the training rows, so
training rows that lack a class of the spec's output are rejected too (check_data).
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
import warnings
from typing import Any, Callable

import numpy as np

from mlp_impl.parallel import blas_threads

from mlp_impl.backend import cpu_model

from .measure import PeakMemory, classification_fields
from .spec import ModelSpec, check_standard_algorithm

BACKENDS = ("sklearn",)
INITIALIZER = "sklearn_glorot_uniform"
ACTIVATIONS = {"linear": "identity", "sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}
OUTPUTS = {"binary": ("sigmoid", "binary_crossentropy"), "multiclass": ("softmax", "categorical_crossentropy"),
           "regression": ("linear", "mse")}
_CLIP = 1e-7


def check_available(backend: str) -> None:
    """Raise a one-line ValueError when scikit-learn is not installed (checked without importing it)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown sklearn backend '{backend}'; valid: {', '.join(BACKENDS)}")
    if importlib.util.find_spec("sklearn") is None:
        raise ValueError("impls=[sklearn] needs scikit-learn, which is not installed: pip install -e '.[peers]' "
                         "(pins scikit-learn==1.9.1) or drop sklearn from impls")


def check_spec(spec: ModelSpec, task: str) -> str:
    """The sklearn name of the shared hidden activation; ValueError for what sklearn cannot build."""
    act, loss = OUTPUTS[task]
    if spec.layers[-1].activation != act or spec.loss != loss:
        raise ValueError(f"sklearn's {task} model has a fixed {act} output with {loss}; the spec has "
                         f"{spec.layers[-1].activation} with {spec.loss}: use that pair or drop sklearn from impls")
    hidden = {layer.activation for layer in spec.layers[:-1]}
    if len(hidden) > 1:
        raise ValueError(f"sklearn uses one activation for every hidden layer, the spec has {sorted(hidden)}; "
                         f"use one hidden activation or drop sklearn from impls")
    name = hidden.pop() if hidden else "relu"
    if name not in ACTIVATIONS:
        raise ValueError(f"sklearn has no hidden activation '{name}' (it has identity, logistic, tanh, relu); "
                         f"use linear, sigmoid, tanh or relu, or drop sklearn from impls")
    if spec.optimizer == "amsgrad" or spec.l1:
        raise ValueError("sklearn has no AMSGrad and no L1 penalty; use optimizer adam or sgd with l1=0, "
                         "or drop sklearn from impls")
    if spec.optimizer == "adam" and spec.adam_variant != "keras":
        raise ValueError(f"sklearn's Adam adds epsilon to the uncorrected sqrt(v) (Keras's form) and has no "
                         f"adam_variant={spec.adam_variant}; use model.adam_variant=keras or drop sklearn from impls")
    return ACTIVATIONS[name]


def check_plan(spec: ModelSpec, ds: Any) -> None:
    """Everything sklearn refuses in the model (check_spec) or the data (check_data), checked
    by the harness before any run."""
    check_spec(spec, ds.task)
    check_standard_algorithm(spec, "sklearn")
    check_data(spec, ds)


def check_data(spec: ModelSpec, ds: Any) -> None:
    """ValueError when the training rows lack a class of the spec's output.

    Why: sklearn takes its output width from the classes it sees in training, so with few rows
    (a small data.limit_train) its network would be narrower than the spec the record describes.
    """
    if ds.task == "regression":
        return
    labels = _labels(ds.y_train, ds.task)
    classes = range(2 if ds.task == "binary" else spec.layers[-1].units)
    missing = sorted(set(classes) - {int(c) for c in np.unique(labels)})
    if missing:
        which = f"class{'es' if len(missing) > 1 else ''} {', '.join(map(str, missing))}"
        raise ValueError(f"sklearn sizes its output from the classes in the training rows, and the "
                         f"{len(ds.x_train)} training rows lack {which} of the spec's {len(classes)}; use a "
                         f"larger data.limit_train (or data.split=stratified where the data set has it), "
                         f"or drop sklearn from impls")


def build_model(spec: ModelSpec, task: str, n_train: int, seed: int) -> Any:
    """MLPClassifier (log-loss tasks) or MLPRegressor (mse) running exactly `spec.epochs` epochs."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    activation = check_spec(spec, task)
    c = 0.5 if task == "regression" else 1.0  # sklearn's objective is c times ours
    batch = min(spec.batch_size, n_train)
    common = dict(hidden_layer_sizes=tuple(layer.units for layer in spec.layers[:-1]), activation=activation,
                  alpha=2.0 * c * spec.l2 * batch, batch_size=batch, max_iter=spec.epochs, shuffle=True,
                  random_state=seed, tol=0.0, n_iter_no_change=spec.epochs + 1, early_stopping=False,
                  verbose=True)  # verbose: one line per epoch, which is how epochs are timed
    if spec.optimizer == "sgd":
        common.update(solver="sgd", learning_rate="constant", learning_rate_init=spec.learning_rate / c,
                      momentum=spec.momentum, nesterovs_momentum=False)
    else:
        common.update(solver="adam", learning_rate_init=spec.learning_rate, beta_1=0.9, beta_2=0.999,
                      epsilon=spec.adam_epsilon * c)
    return (MLPRegressor if task == "regression" else MLPClassifier)(**common)


class EpochClock:
    """A stdout stand-in that timestamps sklearn's verbose "Iteration N, loss = ..." lines (the only
    per-epoch hook MLP*.fit offers) and passes any other text through."""

    def __init__(self, on_epoch: Callable[[], None]) -> None:
        self.ends: list[float] = []
        self._on_epoch, self._out = on_epoch, sys.stdout
        self._after_iteration = False

    def write(self, text: str) -> int:
        if text.startswith("Iteration "):
            self.ends.append(time.perf_counter())
            self._on_epoch()
            self._after_iteration = True
        elif not (self._after_iteration and text == "\n"):  # print's own newline after "Iteration"
            self._out.write(text)
            self._after_iteration = False
        else:
            self._after_iteration = False
        return len(text)

    def flush(self) -> None:
        self._out.flush()


def probabilities(model: Any, x: np.ndarray, n_outputs: int, task: str) -> np.ndarray:
    """Outputs as (n, n_outputs) in the data's column order, whatever classes training saw."""
    if task == "regression":
        return np.asarray(model.predict(x)).reshape(len(x), n_outputs)
    proba = model.predict_proba(x)
    out = np.zeros((len(x), n_outputs if task == "multiclass" else 2), dtype=proba.dtype)
    out[:, np.asarray(model.classes_, dtype=int)] = proba
    return out[:, 1:2] if task == "binary" else out


def spec_loss(spec: ModelSpec, model: Any, proba: np.ndarray, y: np.ndarray) -> float:
    """The spec's loss (Keras's definitions, probabilities clipped to 1e-7) plus l2 * sum(W^2)."""
    p = np.clip(proba.astype(np.float64), _CLIP, 1 - _CLIP)
    if spec.loss == "mse":
        value = np.mean((proba - y) ** 2)
    elif spec.loss == "binary_crossentropy":
        value = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    else:
        value = -np.mean(np.sum(y * np.log(p), axis=1))
    return float(value + spec.l2 * sum(float(np.vdot(w, w)) for w in model.coefs_))


def _labels(y: np.ndarray, task: str) -> np.ndarray:
    """sklearn's targets: class labels for classification (2-D one-hot would mean multilabel)."""
    if task == "regression":
        return y.reshape(-1) if y.shape[1] == 1 else y
    return y.argmax(axis=1) if task == "multiclass" else y.reshape(-1).astype(int)


def train_and_evaluate(spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
                       progress: bool) -> dict[str, Any]:
    """Fit on ds.x_train (all epochs, no early stopping), time fit and predict, evaluate on the test set."""
    from sklearn.exceptions import ConvergenceWarning
    from .progress import EpochBar
    check_available(backend)
    check_data(spec, ds)
    model = build_model(spec, ds.task, len(ds.x_train), seed)
    x_train, x_test = ds.x_train.astype(dtype), ds.x_test.astype(dtype)
    y_train = _labels(ds.y_train.astype(dtype), ds.task)
    with PeakMemory() as mem, EpochBar(spec.epochs, enabled=progress) as bar:
        clock = EpochClock(bar.update)
        with warnings.catch_warnings(), contextlib.redirect_stdout(clock):
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached is the plan, not a problem
            fit_start = time.perf_counter()
            model.fit(x_train, y_train)
            fit_seconds = time.perf_counter() - fit_start
        start = time.perf_counter()
        proba = probabilities(model, x_test, ds.n_outputs, ds.task)
        predict_seconds = time.perf_counter() - start
    c = 0.5 if ds.task == "regression" else 1.0
    record: dict[str, Any] = {
        "backend": "sklearn", "device": cpu_model(), "threads": blas_threads(), "sampling": "shuffle",
        "initializer": INITIALIZER,
        "fit_seconds": fit_seconds, "predict_seconds": predict_seconds,
        "first_epoch_seconds": (clock.ends[0] - fit_start) if clock.ends else None,
        "epoch_losses": [float(v) / c for v in model.loss_curve_],
        "test_loss": spec_loss(spec, model, proba, ds.y_test), "peak_memory_mb": mem.mb,
    }
    record.update(classification_fields(proba.astype(np.float64), ds.y_test, ds.task))
    return record
