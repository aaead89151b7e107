"""A GPU implementation's timed runs follow one untimed warm-up fit, recorded as such."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import harness.config  # noqa: F401  (registers the schema)
from experiments.models.adapter import Adapter, Session
from experiments.models.implementation import Implementation
from harness.precheck import CONF_DIR
from harness.records import read_records
from harness.sweep import run_plan
from harness.validate import make_plan


class NotingAdapter(Adapter):
    """Notes the epochs of every fit it is asked for; each fit trains nothing."""

    def __init__(self) -> None:
        self.fits: list[int] = []

    def start(self, spec, ds, **_) -> Session:
        fits, y_test = self.fits, ds.y_test

        class Noted(Session):
            def fit(self, on_epoch):
                fits.append(spec.epochs)
                return [0.1] * spec.epochs

            def predict(self):
                return y_test.astype(float)

            def fields(self, predicted):
                return {"test_loss": 0.1}
        return Noted()


@pytest.fixture
def fake_gpu() -> NotingAdapter:
    return NotingAdapter()


def _plan(data_root: Path, backends: tuple[str, ...], adapter: NotingAdapter):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+experiment=titanic_adam", "runs=2", "model.epochs=3"])
    plan = make_plan(cfg)
    return dataclasses.replace(plan, impls=[Implementation("fake", backends, adapter)], backend=backends[0])


def test_gpu_runs_follow_one_untimed_warm_up(tmp_path: Path, data_root: Path, fake_gpu: NotingAdapter) -> None:
    outcome = run_plan(_plan(data_root, ("cupy",), fake_gpu), tmp_path, resume=False, quiet=True, epoch_bar=False,
                       launcher="basic")
    assert fake_gpu.fits == [1, 3, 3]  # one epoch of warm-up, then the two timed fits
    records = read_records(tmp_path)
    assert len(records) == 2 == len(outcome.done)
    assert all(r["warmup_seconds"] is not None and r["warmup_seconds"] >= 0 for r in records)
    assert all(r["fit_seconds"] >= 0 and r["test_accuracy"] == 1.0 for r in records)


@pytest.mark.parametrize("backends, setting, fits", [(("numpy",), None, [3, 3]), (("cupy",), False, [3, 3]),
                                                     (("numpy",), True, [1, 3, 3])])
def test_warm_up_only_where_asked(tmp_path: Path, data_root: Path, fake_gpu: NotingAdapter, backends, setting, fits) -> None:
    run_plan(_plan(data_root, backends, fake_gpu), tmp_path, resume=False, quiet=True, epoch_bar=False, launcher="basic",
             warmup=setting)
    assert fake_gpu.fits == fits
    assert all((r["warmup_seconds"] is None) == (fits[0] != 1) for r in read_records(tmp_path))


def test_keras_warms_up_when_tensorflow_sees_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import warmup
    monkeypatch.setattr(warmup, "_tensorflow_sees_a_gpu", lambda: True)
    assert warmup.wanted(None, "tensorflow") and not warmup.wanted(False, "tensorflow")
    monkeypatch.setattr(warmup, "_tensorflow_sees_a_gpu", lambda: False)
    assert not warmup.wanted(None, "tensorflow") and warmup.wanted(None, "cupy")
