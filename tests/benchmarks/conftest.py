"""Shared cases for the regression benchmarks: the article's Titanic and MNIST networks and data.

The networks come from conf/model/*.yaml through the harness's own `spec_from_config`, so a
benchmark times exactly what an experiment trains. In the default test run (`--benchmark-disable`)
each benchmark runs once as a plain test, and the MNIST epoch uses a few batches of the real data
instead of all 60,000 rows; `make perf` (benchmarks enabled) times the full epoch.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from omegaconf import OmegaConf

from experiments.models.spec import ModelSpec, matmul_flops, spec_from_config

CONF = Path(__file__).resolve().parents[2] / "conf" / "model"
SIZES = ("titanic", "mnist")
QUICK_MNIST_ROWS = 3000  # three batches of 1000: the MNIST epoch when benchmarks are disabled
# The benchmarks train at this rate, not the experiments' 0.01 (time does not depend on it): their checks
# need the loss to fall within one step or three MNIST batches, and Adam at 0.01 overshoots at first.
CHECK_LEARNING_RATE = 1e-3


@dataclass(frozen=True)
class Case:
    """One benchmark size: the network spec, training rows and one minibatch of them."""

    name: str
    spec: ModelSpec
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)

    @property
    def x_batch(self) -> np.ndarray:
        return self.x[: self.spec.batch_size]

    @property
    def y_batch(self) -> np.ndarray:
        return self.y[: self.spec.batch_size]

    def epoch_flops(self) -> int:
        """Matmul FLOPs of one epoch over `x` (as the run record counts them)."""
        one_epoch = ModelSpec(**{**vars(self.spec), "epochs": 1})
        return matmul_flops(one_epoch, self.x.shape[1], self.x.shape[0])


def model_spec(name: str) -> ModelSpec:
    """The experiment's network and hyperparameters for `name` (titanic or mnist)."""
    node = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}_net.yaml"), resolve=True)
    return spec_from_config(node)


@functools.lru_cache(maxsize=4)
def _load(name: str, root: str, rows: int | None) -> tuple[np.ndarray, np.ndarray]:
    from experiments.data import load_dataset
    if name == "titanic":
        ds = load_dataset("titanic", variant="article", root=root, dtype="float32")
    else:
        ds = load_dataset("mnist", variant="mnist", root=root, limit_train=rows, limit_test=100)
    return np.ascontiguousarray(ds.x_train, dtype=np.float32), np.ascontiguousarray(ds.y_train, dtype=np.float32)


@pytest.fixture(params=SIZES)
def case(request: pytest.FixtureRequest, benchmark: Any, data_root: Path) -> Case:
    """Titanic (600 rows, 7-15-1) or MNIST (784-512-128-64-10; all rows only when timing)."""
    name = request.param
    rows = QUICK_MNIST_ROWS if (name == "mnist" and benchmark.disabled) else None
    x, y = _load(name, str(data_root), rows)
    benchmark.extra_info.update({"rows": int(x.shape[0]), "batch_size": model_spec(name).batch_size})
    return Case(name, model_spec(name), x, y)


def timed(benchmark: Any, function: Callable[[], Any], group: str) -> Any:
    """Benchmark `function` under `group` (so peers line up in one table); when timing, call it
    once before the clock runs (tracing, first-touch allocation) so no round pays for it."""
    benchmark.group = group
    if not benchmark.disabled:
        function()
    return benchmark(function)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "softmax": lambda z: np.exp(z - z.max(axis=1, keepdims=True)) / np.exp(z - z.max(axis=1, keepdims=True)).sum(
        axis=1, keepdims=True),
    "linear": lambda z: z,
    "tanh": np.tanh,
}


def reference_forward(weights: list[np.ndarray], spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """The network's output computed plainly in float64 from [W1, b1, W2, b2, ...]."""
    a = x.astype(np.float64)
    for layer, kernel, bias in zip(spec.layers, weights[::2], weights[1::2]):
        a = ACTIVATIONS[layer.activation](a @ kernel.astype(np.float64) + bias.astype(np.float64))
    return a


def import_keras() -> Any:
    """Keras on TensorFlow, quiet (as the harness imports it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    return keras
