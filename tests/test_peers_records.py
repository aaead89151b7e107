"""The peers (torch, sklearn) return the same record shape as the from-scratch MLP, with sane values."""

from __future__ import annotations

import dataclasses
import math

import pytest

from conftest import run_impl
from experiments.models import registry
from experiments.models.spec import spec_from_config
from harness.records import RECORD_FIELDS

TITANIC = {"layers": [{"units": 15, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
           "loss": "binary_crossentropy", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 100,
           "epochs": 3, "initializer": "xavier"}
# What a run of the mlp implementation gives the record for a binary task (checked against a live run below).
MLP_FIELDS = {"backend", "device", "threads", "fit_seconds", "predict_seconds", "first_epoch_seconds", "epoch_losses",
              "compile_seconds", "test_loss", "peak_memory_mb", "test_misclassified", "test_accuracy",
              "predicted_positives", "actual_positives", "article_error"}
# ...and what only the from-scratch MLP has: its kernels, and whether a fused fit ran whole epochs per call
MLP_ONLY_FIELDS = {"kernels", "whole_epoch_kernel"}


@pytest.fixture(scope="module")
def titanic(data_root):
    from experiments.data import load_dataset
    return load_dataset("titanic", variant="article", root=data_root)


def check_record(record: dict, backend: str, epochs: int, n_test: int, misclassified: int) -> None:
    """Every field the mlp implementation fills, with values a report can use; ``misclassified``
    is counted by the test from the model's own test-set probabilities."""
    assert MLP_FIELDS <= set(record) <= set(RECORD_FIELDS)
    assert record["backend"] == backend and isinstance(record["device"], str) and record["device"]
    assert isinstance(record["threads"], int) and record["threads"] >= 1
    assert 0 < record["first_epoch_seconds"] <= record["fit_seconds"]
    assert record["predict_seconds"] > 0 and record["peak_memory_mb"] >= 0
    losses = record["epoch_losses"]
    assert len(losses) == epochs and all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in losses)
    assert math.isfinite(record["test_loss"]) and record["test_loss"] > 0
    assert 0 <= record["test_accuracy"] <= 1
    assert record["test_misclassified"] == misclassified
    assert record["test_accuracy"] == pytest.approx(1 - misclassified / n_test)
    assert 0 <= record["predicted_positives"] <= n_test
    assert record["article_error"] == record["actual_positives"] - record["predicted_positives"]


@pytest.mark.parametrize("impl,backend", [("torch", "torch-cpu"), ("sklearn", "sklearn")])
def test_peer_record_has_every_mlp_field(titanic, impl: str, backend: str, count_misclassified) -> None:
    registry.get(impl).adapter.check_available(backend)
    count = count_misclassified()
    record = run_impl(impl, spec_from_config(TITANIC), titanic, backend=backend)
    check_record(record, backend, 3, len(titanic.x_test), count(titanic.y_test))


def test_mlp_fields_list_is_current(titanic) -> None:
    """MLP_FIELDS above is what the mlp implementation really returns (so the peers match it)."""
    record = run_impl("mlp", spec_from_config({**TITANIC, "epochs": 1}), titanic)
    assert set(record) == MLP_FIELDS | MLP_ONLY_FIELDS
    assert record["kernels"] == "numpy" and record["compile_seconds"] is None
    assert record["whole_epoch_kernel"] is False


def test_fused_mlp_record(titanic, count_misclassified) -> None:
    """With model.kernels=fused the record says so and times compilation apart from the fit."""
    from conftest import require_numba
    require_numba()
    count = count_misclassified()
    spec = spec_from_config({**TITANIC, "kernels": "fused"})
    record = run_impl("mlp", spec, titanic)
    check_record(record, "numpy", 3, len(titanic.x_test), count(titanic.y_test))
    assert record["kernels"] == "fused" and record["compile_seconds"] > 0
    assert record["whole_epoch_kernel"] is True  # Titanic's small network: one compiled call an epoch
    wide = run_impl("mlp", dataclasses.replace(spec, batch_size=712), titanic)
    assert wide["whole_epoch_kernel"] is False  # 712 rows x 136 parameters: over WHOLE_EPOCH_MAX, step by step


def test_keras_records_the_gpu_tensorflow_runs_on() -> None:
    """With TensorFlow's CUDA build and a GPU, Keras's record names the GPU, not the CPU."""
    import types

    from experiments.models import keras_model
    from mlp_impl.backend import cpu_model
    gpu = types.SimpleNamespace(name="/physical_device:GPU:0")
    config = types.SimpleNamespace(list_physical_devices=lambda kind: [gpu] if kind == "GPU" else [],
                                   experimental=types.SimpleNamespace(
                                       get_device_details=lambda d: {"device_name": "NVIDIA H200"}))
    assert keras_model.device_name(types.SimpleNamespace(config=config)) == "NVIDIA H200 (TensorFlow GPU)"
    no_gpu = types.SimpleNamespace(config=types.SimpleNamespace(list_physical_devices=lambda kind: []))
    assert keras_model.device_name(no_gpu) == cpu_model()
