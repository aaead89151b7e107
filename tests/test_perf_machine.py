"""The machine's matmul rate: counted FLOPs, best-of timing, and its place in environment.json.

Timing itself is never asserted against a number (it depends on the machine and its load);
the clock is replaced where the arithmetic has to be exact.
"""

from __future__ import annotations

import itertools

import pytest

from harness import environment, machine


def test_product_flops_counts_one_multiply_and_one_add_per_term() -> None:
    assert machine.product_flops(1000, 784, 512) == 2 * 1000 * 784 * 512 == 802_816_000


def test_best_seconds_takes_the_fastest_call_and_respects_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # perf_counter pairs: calls of 0.3, 0.1, 0.2 s; the budget (0.55 s) is spent after the third.
    clock = iter([0.0, 0.3, 1.0, 1.1, 2.0, 2.2, 3.0, 3.05])
    monkeypatch.setattr(machine.time, "perf_counter", lambda: next(clock))
    calls = itertools.count()
    best = machine.best_seconds(lambda: next(calls), lambda: None, repeats=4, budget=0.55)
    assert best == pytest.approx(0.1)
    assert next(calls) == 4  # one warm-up and three timed calls; the fourth was not needed


def test_measure_reports_each_shape_and_the_best(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "best_seconds", lambda call, sync, **_: (call(), 0.001)[1])
    rates = machine.measure(shapes=((10, 20, 30), (40, 50, 60)))
    assert rates["per_shape_gflops"] == {"10x20@20x30": round(2 * 10 * 20 * 30 / 0.001 / 1e9, 2),
                                         "40x50@50x60": round(2 * 40 * 50 * 60 / 0.001 / 1e9, 2)}
    assert rates["matmul_gflops_float32"] == rates["per_shape_gflops"]["40x50@50x60"]


def test_real_measurement_is_positive_and_quick() -> None:
    rates = machine.measure(shapes=((64, 64, 64),), repeats=2)
    assert rates["matmul_gflops_float32"] > 0


def test_gpu_rate_says_why_it_is_missing() -> None:
    from mlp_impl.backend import gpu_status
    usable, reason = gpu_status()
    gpu = machine.gpu_rate()
    if usable:
        assert gpu["matmul_gflops_float32"] > 0
    else:
        assert gpu == {"matmul_gflops_float32": None, "reason": reason}


def test_environment_records_the_rate() -> None:
    env = environment.capture({}, "python -m harness", argv=[])
    assert env["matmul_gflops_float32"] > 0
    assert env["matmul_rate"]["blas_threads"] is None or env["matmul_rate"]["blas_threads"] >= 1
    assert set(env["matmul_rate"]["per_shape_gflops"]) == {f"{m}x{k}@{k}x{n}" for m, k, n in machine.SHAPES}
    assert "gpu_matmul_gflops_float32" in env
    assert env["load_average"] is None or (len(env["load_average"]) == 3 and min(env["load_average"]) >= 0)
