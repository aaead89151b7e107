"""harness.measure.measure_run: what it times, in which order it asks the session, and that it
always closes the session."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from experiments.models.adapter import Adapter, Session
from experiments.models.implementation import Implementation
from harness.measure import measure_run

DS = SimpleNamespace(y_test=np.array([[1.0], [0.0]]), task="binary")
SPEC = SimpleNamespace(epochs=2)


class Noting(Session):
    def __init__(self, calls: list[str], fail_in: str | None) -> None:
        self.calls, self.fail_in = calls, fail_in

    def _note(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_in:
            raise RuntimeError(f"{name} failed")

    def synchronize(self) -> None:
        self.calls.append("sync")

    def fit(self, on_epoch: Any) -> list[float]:
        self._note("fit")
        for _ in range(SPEC.epochs):
            on_epoch()
        time.sleep(0.05)
        return np.array([0.5, 0.25])

    def predict(self) -> np.ndarray:
        self._note("predict")
        return np.array([[0.9], [0.2]], dtype=np.float32)

    def fields(self, predicted: np.ndarray) -> dict[str, Any]:
        self._note("fields")
        return {"device": "test", "fit_seconds": -1.0}  # a measured field is the harness's, not the session's

    def close(self) -> None:
        self.calls.append("close")


class SlowStart(Adapter):
    def __init__(self, fail_in: str | None = None) -> None:
        self.calls: list[str] = []
        self.fail_in = fail_in

    def start(self, spec: Any, ds: Any, **run: Any) -> Session:
        time.sleep(0.3)  # building the model is not fit time
        self.calls.append("start")
        return Noting(self.calls, self.fail_in)


def measure(adapter: Adapter) -> dict[str, Any]:
    return measure_run(Implementation("test", ("numpy",), adapter), SPEC, DS, seed=0, dtype="float32",
                       sampling="shuffle", backend="numpy", progress=False)


def test_only_fit_and_predict_are_timed_each_after_the_device_is_synchronized() -> None:
    adapter = SlowStart()
    record = measure(adapter)
    assert adapter.calls == ["start", "sync", "fit", "sync", "predict", "sync", "fields", "close"]
    assert 0.05 <= record["fit_seconds"] < 0.3 and record["first_epoch_seconds"] <= record["fit_seconds"]
    assert record["epoch_losses"] == [0.5, 0.25] and all(type(v) is float for v in record["epoch_losses"])
    assert record["device"] == "test" and record["test_misclassified"] == 0 and record["test_accuracy"] == 1.0
    assert record["compile_seconds"] is None and record["peak_memory_mb"] is not None


@pytest.mark.parametrize("fail_in", ["fit", "predict", "fields"])
def test_the_session_is_closed_when_a_step_fails(fail_in: str) -> None:
    adapter = SlowStart(fail_in)
    with pytest.raises(RuntimeError, match=f"{fail_in} failed"):
        measure(adapter)
    assert adapter.calls[-1] == "close" and adapter.calls.count("close") == 1


def test_torch_compiled_leaves_torch_s_thread_count_as_it_found_it(data_root: Any) -> None:
    torch = pytest.importorskip("torch")
    from conftest import run_impl
    from experiments.models import registry
    from experiments.models.spec import spec_from_config
    from harness.validate import load_cached
    try:
        registry.get("torch_compiled").adapter.check_available("torch-cpu")
    except ValueError as ex:
        pytest.skip(str(ex))
    ds = load_cached({"name": "titanic", "variant": "article", "limit_train": 100}, 0)
    spec = spec_from_config({"layers": [{"units": 4, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
                             "loss": "binary_crossentropy", "optimizer": "adam", "learning_rate": 0.01,
                             "batch_size": 50, "epochs": 1})
    before = torch.get_num_threads()
    torch.set_num_threads(before + 1)
    try:
        record = run_impl("torch_compiled", spec, ds)
        assert torch.get_num_threads() == before + 1 and record["threads"] == 1  # 50-row steps: one thread
    finally:
        torch.set_num_threads(before)

