"""Regression benchmarks of the from-scratch MLP: forward pass, one training step, one epoch, and
the step's matrix products alone (what NumPy's BLAS gives at the step's shapes).

NumPy always, with NumPy's kernels and the fused ones (Numba; compiled before the clock runs);
CuPy when a GPU is usable (skipped with the reason otherwise), with the device synchronized
inside the timed function so the clock sees the GPU's work. Each benchmark also
checks its result: output shape and agreement with a float64 reference, a lower loss after training.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from conftest import require_numba

from experiments.models.mlp_model import build_network
from experiments.models.spec import matmul_flops
from harness.machine import product_flops
from mlp_impl.backend import gpu_status

from .conftest import CHECK_LEARNING_RATE, Case, reference_forward, timed

_USABLE, _REASON = gpu_status()
# backend/kernels: fused kernels run on the CPU only
BACKENDS = ["numpy", "numpy/fused",
            pytest.param("cupy", marks=[pytest.mark.gpu, pytest.mark.skipif(not _USABLE, reason=_REASON)])]


def _net(case: Case, backend: str) -> Any:
    backend, _, kernels = backend.partition("/")
    if kernels == "fused":
        require_numba()
    spec = dataclasses.replace(case.spec, kernels=kernels or "numpy")
    return build_network(spec, case.x.shape[1], seed=0, dtype="float32", backend=backend, sampling="shuffle")


def _synchronized(net: Any, function: Any) -> Any:
    """`function` followed by a device synchronization (a no-op on NumPy)."""
    def call() -> Any:
        result = function()
        net.backend.synchronize()
        return result
    return call


@pytest.mark.parametrize("backend", BACKENDS)
def test_mlp_forward(benchmark: Any, case: Case, backend: str) -> None:
    net = _net(case, backend)
    x = net.backend.asarray(case.x_batch)
    proba = timed(benchmark, _synchronized(net, lambda: net.predict(x)), f"{case.name}-forward")
    assert proba.shape == (case.spec.batch_size, case.spec.layers[-1].units)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba, reference_forward(net.get_weights(), case.spec, case.x_batch),
                               rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mlp_step(benchmark: Any, case: Case, backend: str) -> None:
    """One optimizer step through the public API: fit on exactly one minibatch for one epoch."""
    net = _net(case, backend)
    x, y = net.backend.asarray(case.x_batch), net.backend.asarray(case.y_batch)
    before = net.evaluate(x, y)["loss"]
    weights = net.get_weights()
    history = timed(benchmark, _synchronized(net, lambda: net.fit(x, y, epochs=1, learning_rate=CHECK_LEARNING_RATE,
                                                                   sample_size=case.spec.batch_size)), f"{case.name}-step")
    assert len(history) == 1 and math.isfinite(history[0])
    if benchmark.disabled:  # called once: fit reports the batch loss at the starting weights
        assert history[0] == pytest.approx(before, rel=1e-4)
    assert net.evaluate(x, y)["loss"] < before
    assert all(not np.array_equal(a, b) for a, b in zip(net.get_weights()[::2], weights[::2]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_mlp_epoch(benchmark: Any, case: Case, backend: str) -> None:
    net = _net(case, backend)
    x, y = net.backend.asarray(case.x), net.backend.asarray(case.y)
    before = net.evaluate(x, y)["loss"]
    benchmark.extra_info["flops"] = case.epoch_flops()
    history = timed(benchmark, _synchronized(net, lambda: net.fit(x, y, epochs=1, learning_rate=CHECK_LEARNING_RATE,
                                                                   sample_size=case.spec.batch_size)), f"{case.name}-epoch")
    assert len(history) == 1 and math.isfinite(history[0])
    assert net.evaluate(x, y)["loss"] < before


def step_products(widths: list[int], rows: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The operands of one training step's matrix products at its shapes: per layer the forward
    product, the weight gradient and, below the first layer, the input gradient."""
    rng = np.random.default_rng(0)
    products = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        a, w, delta = (rng.standard_normal(shape, dtype=np.float32) for shape in ((rows, n_in), (n_in, n_out),
                                                                                  (rows, n_out)))
        products += [(a, w), (a.T, delta)] + ([(delta, w.T)] if i > 0 else [])
    return products


def test_mlp_step_products(benchmark: Any, case: Case) -> None:
    """The step's products alone on NumPy's BLAS (float32, its default threads, fresh outputs,
    no bias column): with the step's FLOPs in extra_info, their GFLOP/s is about the highest share
    of the matmul rate a BLAS-based step could reach at these shapes."""
    spec = case.spec
    products = step_products(spec.widths(case.x.shape[1]), spec.batch_size)
    flops = sum(product_flops(left.shape[0], left.shape[1], right.shape[1]) for left, right in products)
    one_step = dataclasses.replace(spec, epochs=1)
    assert flops == matmul_flops(one_step, case.x.shape[1], spec.batch_size)  # the record's count, one step
    benchmark.extra_info["flops"] = flops
    results = timed(benchmark, lambda: [left @ right for left, right in products], f"{case.name}-step-products")
    assert [r.shape for r in results[:2]] == [(spec.batch_size, spec.layers[0].units),
                                              (case.x.shape[1], spec.layers[0].units)]
    assert all(np.isfinite(r).all() for r in results)
