"""Regression benchmarks of the equivalent Keras model (the harness's own build): forward pass, one
training step, one epoch, each with the same result checks as the MLP's, on the same data."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from experiments.models.keras_model import LOSSES, build_model
from experiments.models.spec import ModelSpec

from .conftest import CHECK_LEARNING_RATE, Case, import_keras, reference_forward, timed


@pytest.fixture(scope="module")
def keras() -> Any:
    return import_keras()


def _model(keras: Any, case: Case, learning_rate: float | None = None) -> Any:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    spec = case.spec if learning_rate is None else ModelSpec(**{**vars(case.spec), "learning_rate": learning_rate})
    return build_model(keras, spec, case.x.shape[1], "float32")


def _loss(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float(model.evaluate(x, y, batch_size=len(x), verbose=0))


def test_keras_forward(benchmark: Any, case: Case, keras: Any) -> None:
    model = _model(keras, case)
    proba = np.asarray(timed(benchmark, lambda: model.predict_on_batch(case.x_batch), f"{case.name}-forward"))
    assert proba.shape == (case.spec.batch_size, case.spec.layers[-1].units)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba, reference_forward(model.get_weights(), case.spec, case.x_batch),
                               rtol=2e-4, atol=1e-6)


def test_keras_step(benchmark: Any, case: Case, keras: Any) -> None:
    model = _model(keras, case, CHECK_LEARNING_RATE)
    assert model.loss == LOSSES[case.spec.loss]
    before = _loss(model, case.x_batch, case.y_batch)
    loss = timed(benchmark, lambda: model.train_on_batch(case.x_batch, case.y_batch), f"{case.name}-step")
    assert math.isfinite(float(loss))
    assert _loss(model, case.x_batch, case.y_batch) < before


def test_keras_epoch(benchmark: Any, case: Case, keras: Any) -> None:
    model = _model(keras, case, CHECK_LEARNING_RATE)
    before = _loss(model, case.x, case.y)
    benchmark.extra_info["flops"] = case.epoch_flops()
    history = timed(benchmark, lambda: model.fit(case.x, case.y, epochs=1, batch_size=case.spec.batch_size,
                                                 shuffle=True, verbose=0), f"{case.name}-epoch")
    assert math.isfinite(history.history["loss"][-1])
    assert _loss(model, case.x, case.y) < before
