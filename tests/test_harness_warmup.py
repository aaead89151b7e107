"""A GPU implementation's timed runs follow one untimed warm-up fit, recorded as such."""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import harness.config  # noqa: F401  (registers the schema)
from experiments.models.implementation import Implementation
from harness.precheck import CONF_DIR
from harness.records import read_records
from harness.sweep import run_plan
from harness.validate import make_plan


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """An implementation whose only backend is cupy; it notes the epochs of every fit it is asked for."""
    fits: list[int] = []

    def train_and_evaluate(spec, ds, *, seed, dtype, sampling, backend, progress):
        fits.append(spec.epochs)
        return {"fit_seconds": 0.5, "epoch_losses": [0.1] * spec.epochs, "test_loss": 0.1}

    module = types.ModuleType("fake_gpu_impl")
    module.train_and_evaluate = train_and_evaluate
    monkeypatch.setitem(sys.modules, "fake_gpu_impl", module)
    return fits


def _plan(data_root: Path, backends: tuple[str, ...]):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+experiment=titanic_adam", "runs=2", "model.epochs=3"])
    plan = make_plan(cfg)
    return dataclasses.replace(plan, impls=[Implementation("fake", backends, "fake_gpu_impl")], backend=backends[0])


def test_gpu_runs_follow_one_untimed_warm_up(tmp_path: Path, data_root: Path, fake_gpu: list[int]) -> None:
    outcome = run_plan(_plan(data_root, ("cupy",)), tmp_path, resume=False, quiet=True, epoch_bar=False,
                       launcher="basic")
    assert fake_gpu == [1, 3, 3]  # one epoch of warm-up, then the two timed fits
    records = read_records(tmp_path)
    assert len(records) == 2 == len(outcome.done)
    assert all(r["warmup_seconds"] is not None and r["warmup_seconds"] >= 0 for r in records)
    assert {r["fit_seconds"] for r in records} == {0.5}


@pytest.mark.parametrize("backends, setting, fits", [(("numpy",), None, [3, 3]), (("cupy",), False, [3, 3]),
                                                     (("numpy",), True, [1, 3, 3])])
def test_warm_up_only_where_asked(tmp_path: Path, data_root: Path, fake_gpu: list[int], backends, setting, fits) -> None:
    run_plan(_plan(data_root, backends), tmp_path, resume=False, quiet=True, epoch_bar=False, launcher="basic",
             warmup=setting)
    assert fake_gpu == fits
    assert all((r["warmup_seconds"] is None) == (fits[0] != 1) for r in read_records(tmp_path))


def test_keras_warms_up_when_tensorflow_sees_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import warmup
    monkeypatch.setattr(warmup, "_tensorflow_sees_a_gpu", lambda: True)
    assert warmup.wanted(None, "tensorflow") and not warmup.wanted(False, "tensorflow")
    monkeypatch.setattr(warmup, "_tensorflow_sees_a_gpu", lambda: False)
    assert not warmup.wanted(None, "tensorflow") and warmup.wanted(None, "cupy")
