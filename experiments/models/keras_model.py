"""The equivalent Keras model (keras.Sequential of Dense), built from the same ModelSpec as the MLP.

TensorFlow is imported only when a run starts, so a config that names `keras` but is
rejected for a bad input fails fast without loading TensorFlow. Seeding: `keras.utils.set_random_seed`
per run; when the config's `keras.deterministic` (the default) `tf.config.experimental.enable_op_determinism()` too,
which makes CPU runs repeat bitwise. Keras shuffles the rows every epoch (its `sampling` is
"shuffle" whatever the config says) and keeps the last partial batch.

Two forms. `keras`: plain `model.fit` on arrays, one step per call, as the article ran it.
`keras_tuned` (`tuned=True`): as Keras's documentation advises for small models, a shuffled,
batched, repeated `tf.data` pipeline fitted as one long epoch with `steps_per_execution` = one
epoch's steps, XLA (`jit_compile=True`) and op determinism off (Keras turns XLA off under op
determinism). Same sampling (a fresh shuffle per epoch, last partial batch kept), loss and
optimizer. Measured on two shared cores (load 3-8), 200 Titanic epochs of the same pipeline:
12-18 s fitted epoch by epoch, 3.5-5.7 s as one long epoch; on 300 epochs (load 14) XLA cut the
long epoch from 30.7 to 20.4 s, its compilation (~14 s) included. Per-epoch losses
are read once per execution (= per epoch) and the loss tracker is then reset (`reset_metrics`),
so each is that epoch's row-weighted mean, as `fit` reports it. Its pipelines run with tf.data's
autotuning off (`without_autotune`) and a fixed prefetch: with it on, some fits returned 2-3 s
after their last epoch, shortly after the autotuning thread's wake times (docs/peers.md).

Compilation: the tuned form is traced and XLA-compiled before the clock starts (`compile_tuned`:
one untimed execution over the training rows in order, then the initial weights and optimizer
state put back; its predict function on zeros of the test rows' shape), recorded as
`compile_seconds`, the rule torch_compiled and the fused MLP follow.
`keras`, as the article ran it, keeps its tracing inside `fit_seconds` (its first epoch shows it):
the article's timing of `fit` included it.
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
from typing import Any, Callable

import numpy as np

from mlp_impl.backend import cpu_model

from .adapter import Adapter, Session
from .spec import ModelSpec, check_standard_algorithm

TUNED_JIT = True  # XLA in the tuned form: it paid on Titanic (see above)
# Batches prepared ahead, fixed (autotuning is off): in 20 MNIST seeds no slower than prefetch(AUTOTUNE) with
# autotuning off, which grows its own buffer (docs/peers.md).
TUNED_PREFETCH = 2
LOSSES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
          "binary_crossentropy": "binary_crossentropy", "categorical_crossentropy": "categorical_crossentropy"}


def gpus(tf: Any) -> list[Any]:
    """The GPUs TensorFlow's CUDA build sees (Keras places its ops on the first by default)."""
    return tf.config.list_physical_devices("GPU")


def device_name(tf: Any) -> str:
    """Where TensorFlow runs Keras's ops: its first GPU when it sees one, else the CPU."""
    gpus_seen = gpus(tf)
    if not gpus_seen:
        return cpu_model()
    details = tf.config.experimental.get_device_details(gpus_seen[0]) or {}
    return f"{details.get('device_name') or gpus_seen[0].name} (TensorFlow GPU)"


def _set_determinism(tf: Any, enabled: bool) -> None:
    """Op determinism on or off (process-wide, so each run sets it: the two forms alternate)."""
    if enabled:
        tf.config.experimental.enable_op_determinism()
        return
    from tensorflow.python.framework import config as tf_config  # the public API has no "off"
    tf_config.disable_op_determinism()


def _import_keras() -> tuple[Any, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")  # retracing notices: each run builds a new model on purpose
    return keras, tf


def kernel_initializer(keras: Any, name: str, n_in: int, n_out: int) -> Any:
    """Keras initializer matching mlp_impl's by name. The article's Xavier is a plain normal with
    std sqrt(2/(in+out)) (Keras's GlorotNormal truncates, so RandomNormal is the faithful match)."""
    init = keras.initializers
    return {"xavier": lambda: init.RandomNormal(stddev=math.sqrt(2.0 / (n_in + n_out))),
            "glorot_uniform": lambda: init.GlorotUniform(),
            "he": lambda: init.RandomNormal(stddev=math.sqrt(2.0 / n_in)),
            "uniform": lambda: init.RandomUniform(-0.05, 0.05),
            "zeros": lambda: init.Zeros()}[name]()


def build_model(keras: Any, spec: ModelSpec, n_features: int, dtype: str, **compile_options: Any) -> Any:
    """keras.Sequential with the spec's widths, activations, initializer, regularization and optimizer
    (`compile_options` go to `model.compile`, e.g. steps_per_execution)."""
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)  # the global policy caches the floatx of its first use otherwise
    widths = spec.widths(n_features)
    regularizer = keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2) if (spec.l1 or spec.l2) else None
    layers = [keras.Input(shape=(n_features,), dtype=dtype)]
    for layer, n_in in zip(spec.layers, widths[:-1]):
        layers.append(keras.layers.Dense(layer.units, activation=layer.activation, bias_initializer="zeros",
                                         kernel_initializer=kernel_initializer(keras, spec.initializer, n_in, layer.units),
                                         kernel_regularizer=regularizer))
    model = keras.Sequential(layers)
    optimizers = keras.optimizers
    optimizer = {"sgd": lambda: optimizers.SGD(learning_rate=spec.learning_rate, momentum=spec.momentum),
                 "adam": lambda: optimizers.Adam(learning_rate=spec.learning_rate, epsilon=spec.adam_epsilon),
                 "amsgrad": lambda: optimizers.Adam(learning_rate=spec.learning_rate, epsilon=spec.adam_epsilon,
                                                    amsgrad=True)}[spec.optimizer]()
    model.compile(optimizer=optimizer, loss=LOSSES[spec.loss], **compile_options)
    return model


def _epoch_ends(keras: Any, on_epoch: Callable[[], None]) -> Any:
    class EpochEnds(keras.callbacks.Callback):
        """Tells the harness when each epoch ends (it times the first from the start of `fit`)."""

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            on_epoch()

    return EpochEnds()


def _execution_losses(keras: Any, on_epoch: Callable[[], None]) -> Any:
    class ExecutionLosses(keras.callbacks.Callback):
        """After each execution (one epoch's steps): its mean loss, then a fresh loss tracker, so
        the next reading is the next epoch's mean rather than a running mean."""

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.losses.append(float(logs["loss"]))
            self.model.reset_metrics()
            on_epoch()

    losses = ExecutionLosses()
    losses.losses = []
    return losses


def epoch_steps(n: int, spec: ModelSpec) -> int:
    """Steps of one epoch (the last partial batch kept): the tuned form's steps_per_execution."""
    return math.ceil(n / spec.batch_size)


def tuned_options(n: int, spec: ModelSpec) -> dict[str, Any]:
    """model.compile settings of the tuned form."""
    return {"jit_compile": TUNED_JIT, "steps_per_execution": epoch_steps(n, spec)}


def without_autotune(tf: Any, data: Any) -> Any:
    """``data`` with tf.data's autotuning off: with it on, some fits returned 2-3 s after their
    last epoch, shortly after the autotuning thread's wake times; with it off none did
    (docs/peers.md, keras_tuned)."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return data.with_options(options)


def epoch_in_order(tf: Any, x: np.ndarray, y: np.ndarray, spec: ModelSpec) -> Any:
    """One epoch's batches over the rows in order, the partial last one kept: every batch shape
    the timed fit meets."""
    return without_autotune(tf, tf.data.Dataset.from_tensor_slices((x, y)).batch(spec.batch_size))


def tuned_pipeline(tf: Any, x: np.ndarray, y: np.ndarray, spec: ModelSpec, seed: int) -> Any:
    """The timed fit's batches: a fresh shuffle every epoch, the partial last batch kept, repeated
    without end (fit stops after its steps)."""
    data = (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)  # a new order every epoch, as fit's
            .batch(spec.batch_size).repeat().prefetch(TUNED_PREFETCH))
    return without_autotune(tf, data)


def predict_batch_size(spec: ModelSpec) -> int:
    """The batch size of predict and evaluate: large, as inference needs no minibatches."""
    return max(spec.batch_size, 1024)


def compile_tuned(tf: Any, model: Any, x: np.ndarray, y: np.ndarray, spec: ModelSpec, predict_rows: int) -> float:
    """Trace and XLA-compile the tuned form's train function (every batch shape of an epoch) with
    one execution over the rows in order, then restore the initial weights and optimizer variables
    (fit resets the metrics itself), so the timed fit starts where it would have; and its predict
    function, on zeros shaped as the `predict_rows` rows it will predict (XLA compiles it too, so
    predict_seconds would hold a compilation); its seconds (the compilations and that one epoch's
    steps)."""
    start = time.perf_counter()
    model.predict(np.zeros((predict_rows, x.shape[1]), dtype=x.dtype), batch_size=predict_batch_size(spec), verbose=0)
    weights = model.get_weights()
    model.optimizer.build(model.trainable_variables)
    optimizer_state = [variable.numpy() for variable in model.optimizer.variables]
    model.fit(epoch_in_order(tf, x, y, spec).repeat(), epochs=1, steps_per_epoch=epoch_steps(len(x), spec), verbose=0,
              shuffle=False)
    model.set_weights(weights)
    for variable, value in zip(model.optimizer.variables, optimizer_state):
        variable.assign(value)
    return time.perf_counter() - start


def fit_tuned(keras: Any, tf: Any, model: Any, x: np.ndarray, y: np.ndarray, spec: ModelSpec, seed: int,
              losses: Any) -> list[float]:
    """Fit as one long epoch of a shuffled, batched, repeated tf.data pipeline; per-epoch losses."""
    steps = epoch_steps(len(x), spec)
    model.fit(tuned_pipeline(tf, x, y, spec, seed), epochs=1, steps_per_epoch=steps * spec.epochs, verbose=0,
              callbacks=[losses], shuffle=False)  # the pipeline shuffles; fit cannot shuffle a tf.data.Dataset
    return list(losses.losses)


class Keras(Adapter):
    """keras.Sequential; `tuned`: the form Keras's documentation advises for small models (fit_tuned)."""

    def __init__(self, tuned: bool = False) -> None:
        self.tuned = tuned

    def check_available(self, backend: str) -> None:
        """TensorFlow and Keras installed (checked without importing them)."""
        for package in ("tensorflow", "keras"):
            if importlib.util.find_spec(package) is None:
                raise ValueError(f"impls=[{self.name}] needs {package}, which is not installed; "
                                 f"run make install (tensorflow-cpu, keras) or drop {self.name} from impls")

    def check_plan(self, spec: ModelSpec, ds: Any, backend: str) -> None:
        """What Keras cannot follow: the article's Adam (Keras adds epsilon to the uncorrected
        sqrt(v)), backprop order and loss gradient."""
        if spec.optimizer in ("adam", "amsgrad") and spec.adam_variant != "keras":
            raise ValueError(f"Keras's Adam adds epsilon to the uncorrected sqrt(v) and has no adam_variant="
                             f"{spec.adam_variant}; use model.adam_variant=keras or drop {self.name} from impls")
        check_standard_algorithm(spec, self.name)

    def start(self, spec: ModelSpec, ds: Any, *, seed: int, dtype: str, sampling: str, backend: str,
              deterministic: bool = True, **options: Any) -> "KerasSession":
        """`deterministic`: the config's keras.deterministic (op determinism; the tuned form runs without)."""
        return KerasSession(spec, ds, seed=seed, dtype=dtype, tuned=self.tuned, deterministic=deterministic)


class KerasSession(Session):
    """A compiled, seeded model (Keras shuffles the rows every epoch whatever the config's sampling)."""

    def __init__(self, spec: ModelSpec, ds: Any, *, seed: int, dtype: str, tuned: bool, deterministic: bool) -> None:
        self.keras, self.tf = keras, tf = _import_keras()
        keras.backend.clear_session()  # no state (graphs, name counters) carried over from the previous run
        keras.utils.set_random_seed(seed)
        _set_determinism(tf, deterministic and not tuned)
        self.spec, self.seed, self.tuned, self.task = spec, seed, tuned, ds.task
        self.x_train, self.y_train = ds.x_train.astype(dtype), ds.y_train.astype(dtype)
        self.x_test, self.y_test = ds.x_test.astype(dtype), ds.y_test.astype(dtype)
        options = tuned_options(len(self.x_train), spec) if tuned else {}
        self.model = build_model(keras, spec, ds.n_features, dtype, **options)
        if tuned:
            self.compile_seconds = compile_tuned(tf, self.model, self.x_train, self.y_train, spec, len(self.x_test))

    def fit(self, on_epoch: Callable[[], None]) -> list[float]:
        """Plain fit (its first epoch timed from the start, tracing included), or fit_tuned
        (compiled before the clock by compile_tuned)."""
        if self.tuned:
            return fit_tuned(self.keras, self.tf, self.model, self.x_train, self.y_train, self.spec, self.seed,
                             _execution_losses(self.keras, on_epoch))
        history = self.model.fit(self.x_train, self.y_train, epochs=self.spec.epochs, batch_size=self.spec.batch_size,
                                 shuffle=True, verbose=0, callbacks=[_epoch_ends(self.keras, on_epoch)])
        return history.history["loss"]

    def predict(self) -> np.ndarray:
        return np.asarray(self.model.predict(self.x_test, batch_size=predict_batch_size(self.spec), verbose=0))

    def fields(self, predicted: np.ndarray) -> dict[str, Any]:
        test_loss = self.model.evaluate(self.x_test, self.y_test, batch_size=predict_batch_size(self.spec), verbose=0)
        return {"backend": "tensorflow", "device": device_name(self.tf), "sampling": "shuffle",
                "threads": self.tf.config.threading.get_intra_op_parallelism_threads() or None,  # None: every core
                "test_loss": float(test_loss)}
