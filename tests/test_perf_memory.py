"""The from-scratch MLP allocates nothing that survives a step, and an MNIST run reports its peak memory.

tracemalloc sees every NumPy buffer (NumPy reports its allocations to it). Training N and then 2N
epochs from the same state must reach the same peak: a buffer or object allocated per step and
kept would grow it by (steps) x (its size). The only growth allowed is the returned loss history
(one float per epoch). What a fit leaves behind must not grow with its length either; it varies
by a few KB with the helper threads' timing, so it is bounded loosely and its growth by that noise.
Buffer identities (data pointers of the weights, gradients, optimizer state and step buffers)
must not change either: updates are in place.
"""

from __future__ import annotations

import gc
import math
import tracemalloc
from typing import Any

import numpy as np
import pytest

from mlp_impl import NN, Adam, Dense

HISTORY_BYTES_PER_EPOCH = 64  # a list slot and a float object per epoch, with room for list over-allocation
SLACK_BYTES = 2048  # first-call caches inside NumPy; far below one small object per step
# With a step split over threads, the helper threads' hand-offs move the peak by up to ~13 KB under
# load; the split case takes 240 more steps, so one kept array header per step (27 KB) still shows.
SPLIT_SLACK_BYTES = 16 * 1024
LEFTOVER_NOISE_BYTES = 4096  # how much a fit's leftovers vary with the helper threads' timing
LEFT_BEHIND_BYTES = 16 * 1024  # a fit's constant leftovers: first-call caches, the helper threads' bookkeeping


def _data(rows: int, features: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features), dtype=np.float32)
    if classes == 1:
        return x, (rng.random((rows, 1)) > 0.5).astype(np.float32)
    return x, np.eye(classes, dtype=np.float32)[rng.integers(0, classes, rows)]


def _net(features: int, hidden: int, classes: int, sampling: str, threads: int | None = None) -> NN:
    out = Dense(1, activation="sigmoid") if classes == 1 else Dense(classes, activation="softmax")
    loss = "binary_crossentropy" if classes == 1 else "categorical_crossentropy"
    return NN([Dense(hidden, activation="relu", input_dim=features), out], loss=loss, optimizer=Adam(),
              seed=0, sampling=sampling, threads=threads)


def _traced_fit(net: NN, x: np.ndarray, y: np.ndarray, epochs: int, batch: int) -> tuple[int, int]:
    """(peak above the start, bytes still held after the history is dropped) of one fit."""
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    history = net.fit(x, y, epochs=epochs, sample_size=batch)
    peak = tracemalloc.get_traced_memory()[1]
    assert len(history) == epochs and all(math.isfinite(v) for v in history)
    del history
    gc.collect()
    return peak - base, tracemalloc.get_traced_memory()[0] - base


def _pointers(net: NN) -> dict[str, int]:
    """Data addresses of every long-lived buffer: weights, gradients, optimizer state, step buffers."""
    arrays: dict[str, Any] = {"params": net.params, "grads": net.grads}
    arrays.update({f"optimizer.{k}": v for k, v in vars(net.optimizer).items() if isinstance(v, np.ndarray)})
    workspaces = {str(key): ws for key, ws in net._workspaces.items()}  # the step buffers, where the library keeps them
    for key, split in net._split_steps.items():  # and the parts of split steps
        workspaces.update({f"{key}.part{i}": part for i, part in enumerate(split.parts)})
    for key, ws in workspaces.items():
        arrays.update({f"ws{key}.{k}": v for k, v in vars(ws).items() if isinstance(v, np.ndarray)})
    return {name: a.__array_interface__["data"][0] for name, a in arrays.items()}


# Titanic-sized rows (copied once per fit with a ones column) and MNIST-wide rows (used in place),
# the latter also with each step split over two threads (smaller steps, so more of them):
# (rows, features, hidden, classes, batch, threads).
CASES = {"titanic-size": (600, 7, 15, 1, 20, 1), "mnist-wide": (3000, 784, 32, 10, 250, 1),
         "mnist-wide-split": (3000, 784, 32, 10, 50, 2)}


@pytest.mark.parametrize("sampling", ["shuffle", "article"])
@pytest.mark.parametrize("case", list(CASES))
def test_no_per_step_allocation_growth(case: str, sampling: str) -> None:
    rows, features, hidden, classes, batch, threads = CASES[case]
    x, y = _data(rows, features, classes)
    net = _net(features, hidden, classes, sampling, threads)
    net.fit(x, y, epochs=1, sample_size=batch)  # builds the step buffers (one set per batch size)
    assert net.fit_threads == threads
    before = _pointers(net)
    epochs = 4
    steps_per_epoch = math.ceil(rows / batch)
    tracemalloc.start()
    try:
        peak_n, left_n = _traced_fit(net, x, y, epochs, batch)
        peak_2n, left_2n = _traced_fit(net, x, y, 2 * epochs, batch)
    finally:
        tracemalloc.stop()
    growth = peak_2n - peak_n
    slack = SLACK_BYTES if threads == 1 else SPLIT_SLACK_BYTES
    assert growth <= HISTORY_BYTES_PER_EPOCH * epochs + slack, (
        f"peak grew by {growth} bytes over {epochs * steps_per_epoch} more steps")
    assert left_2n - left_n <= LEFTOVER_NOISE_BYTES, (
        f"a fit left {left_n} bytes behind, twice as long a fit {left_2n}: something survives each step")
    assert max(left_n, left_2n) <= LEFT_BEHIND_BYTES, f"a fit left {left_n}/{left_2n} bytes behind"
    assert _pointers(net) == before, "a long-lived buffer was reallocated instead of updated in place"


def test_peak_stays_near_one_step_of_buffers() -> None:
    """The peak of a fit is a fixed multiple of one minibatch's buffers plus the data copy, not more:
    a per-step temporary as large as a layer's activations would show here even when freed."""
    rows, features, hidden, classes, batch, _ = CASES["mnist-wide"]
    x, y = _data(rows, features, classes)
    net = _net(features, hidden, classes, "shuffle")
    net.fit(x, y, epochs=1, sample_size=batch)
    tracemalloc.start()
    try:
        peak, _ = _traced_fit(net, x, y, 2, batch)
    finally:
        tracemalloc.stop()
    # Allowed per fit: the epoch's index permutation (8 bytes per row) and small objects.
    assert peak <= 8 * rows + 64 * 1024, f"fit peaked {peak} bytes above its start"


def test_mnist_run_reports_peak_memory(data_root: Any) -> None:
    """The harness's MNIST record carries a peak_memory_mb figure (a few batches of the real data)."""
    from experiments.data import load_dataset
    from conftest import run_impl
    from experiments.models.spec import LayerSpec, ModelSpec
    ds = load_dataset("mnist", variant="mnist", root=data_root, limit_train=2000, limit_test=200)
    spec = ModelSpec(layers=[LayerSpec(512, "relu"), LayerSpec(128, "relu"), LayerSpec(64, "relu"),
                             LayerSpec(10, "softmax")], loss="categorical_crossentropy", optimizer="adam",
                     learning_rate=0.01, batch_size=1000, epochs=1)
    record = run_impl("mlp", spec, ds, sampling="article")
    assert isinstance(record["peak_memory_mb"], float)
    assert 0.0 <= record["peak_memory_mb"] < 2048.0
