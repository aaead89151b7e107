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
import warnings
from typing import Any, Callable

import numpy as np

from mlp_impl.parallel import blas_threads

from mlp_impl.backend import cpu_model

from .adapter import Adapter, Session
from .spec import ModelSpec, check_standard_algorithm

INITIALIZER = "sklearn_glorot_uniform"
ACTIVATIONS = {"linear": "identity", "sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}
OUTPUTS = {"binary": ("sigmoid", "binary_crossentropy"), "multiclass": ("softmax", "categorical_crossentropy"),
           "regression": ("linear", "mse")}
_CLIP = 1e-7


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
    """A stdout stand-in that calls `on_epoch` at sklearn's verbose "Iteration N, loss = ..." lines
    (the only per-epoch hook MLP*.fit offers) and passes any other text through."""

    def __init__(self, on_epoch: Callable[[], None]) -> None:
        self._on_epoch, self._out = on_epoch, sys.stdout
        self._after_iteration = False

    def write(self, text: str) -> int:
        if text.startswith("Iteration "):
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


class Sklearn(Adapter):
    """MLPClassifier / MLPRegressor running exactly the spec's epochs."""

    def check_available(self, backend: str) -> None:
        """scikit-learn installed (checked without importing it)."""
        if importlib.util.find_spec("sklearn") is None:
            raise ValueError("impls=[sklearn] needs scikit-learn, which is not installed: pip install -e '.[peers]' "
                             "(pins scikit-learn==1.9.1) or drop sklearn from impls")

    def check_plan(self, spec: ModelSpec, ds: Any, backend: str) -> None:
        """What sklearn cannot build (check_spec), the article's algorithm, or training rows that lack
        a class (check_data)."""
        check_spec(spec, ds.task)
        check_standard_algorithm(spec, self.name)
        check_data(spec, ds)

    def start(self, spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
              **options: Any) -> "SklearnSession":
        return SklearnSession(spec, ds, seed=seed, dtype=dtype)


class SklearnSession(Session):
    """An unfitted estimator and its float data (all epochs, no early stopping)."""

    def __init__(self, spec: ModelSpec, ds: Any, *, seed: int, dtype: str) -> None:
        check_data(spec, ds)  # each run's own rows: with data.seed=null a later seed's may lack a class
        self.spec, self.ds = spec, ds
        self.model = build_model(spec, ds.task, len(ds.x_train), seed)
        self.x_train, self.x_test = ds.x_train.astype(dtype), ds.x_test.astype(dtype)
        self.y_train = _labels(ds.y_train.astype(dtype), ds.task)

    def fit(self, on_epoch: Callable[[], None]) -> list[float]:
        from sklearn.exceptions import ConvergenceWarning
        with warnings.catch_warnings(), contextlib.redirect_stdout(EpochClock(on_epoch)):
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached is the plan, not a problem
            self.model.fit(self.x_train, self.y_train)
        c = 0.5 if self.ds.task == "regression" else 1.0
        return [float(v) / c for v in self.model.loss_curve_]

    def predict(self) -> np.ndarray:
        return probabilities(self.model, self.x_test, self.ds.n_outputs, self.ds.task)

    def fields(self, predicted: np.ndarray) -> dict[str, Any]:
        return {"backend": "sklearn", "device": cpu_model(), "threads": blas_threads(), "sampling": "shuffle",
                "initializer": INITIALIZER, "test_loss": spec_loss(self.spec, self.model, predicted, self.ds.y_test)}
