"""A job's plan is built and checked once: the pre-check's plan is the one the job runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir

import harness.config  # noqa: F401  (registers the schema)
from experiments.models import registry
from experiments.models.implementation import Implementation
from experiments.models.mlp_model import MLP
from harness.precheck import CONF_DIR
from harness.validate import job_plan, make_plan, precheck_plan


class CountingMLP(MLP):
    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def check_plan(self, spec: Any, ds: Any, backend: str) -> None:
        self.checks += 1
        super().check_plan(spec, ds, backend)


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=["+experiment=titanic_adam", *overrides])


def test_the_job_takes_the_plan_its_precheck_built(monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    adapter = CountingMLP()
    monkeypatch.setitem(registry.IMPLEMENTATIONS, "mlp", Implementation("mlp", ("numpy", "cupy"), adapter))
    checked = precheck_plan(config("learning_rate=0.03"))
    job_cfg = config("learning_rate=0.03")  # what Hydra hands the job: the same config, composed again
    assert job_plan(job_cfg) is checked and adapter.checks == 1
    assert job_cfg.model.learning_rate == 0.03  # the shortcut applied, as make_plan applies it
    assert job_plan(config("learning_rate=0.03")) is not checked and adapter.checks == 2  # taken once
    job_plan(config("learning_rate=0.04"))  # another config: its own plan
    assert adapter.checks == 3
    make_plan(config("learning_rate=0.03"))  # make_plan itself keeps nothing
    assert job_plan(config("learning_rate=0.03")) is not checked and adapter.checks == 5
