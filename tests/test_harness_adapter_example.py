"""The example adapter of docs/adding_an_implementation.md runs through the harness as written."""

from __future__ import annotations

import dataclasses
import re
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
from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "adding_an_implementation.md"


def test_the_documented_adapter_runs_and_is_recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     data_root: Path) -> None:
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)[0]
    module = types.ModuleType("experiments.models.majority_model")
    module.__package__ = "experiments.models"
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "experiments.models.majority_model", module)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+experiment=titanic_adam", "runs=2", "model.epochs=2"])
    plan = make_plan(cfg)
    impl = Implementation("majority", ("numpy",), module.Majority(), fixed_sampling="none")
    plan = dataclasses.replace(plan, impls=[impl])
    run_plan(plan, tmp_path, resume=False, quiet=True, epoch_bar=False, launcher="basic")
    records = read_records(tmp_path)
    ds = plan.dataset(0)
    died = int((ds.y_test.reshape(-1) == 0).sum())  # the majority class of Titanic's training rows: died
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert all(r["impl"] == "majority" and r["test_misclassified"] == len(ds.y_test) - died for r in records)
    assert all(r["predicted_positives"] == 0 for r in records)
