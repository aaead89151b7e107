"""The example adapter of docs/adding_an_implementation.md runs through the harness as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir

import harness.config  # noqa: F401  (registers the schema)
from experiments.models import registry
from experiments.models.implementation import Implementation
from harness.precheck import CONF_DIR
from harness.records import read_records
from harness.sweep import run_plan
from harness.validate import make_plan
from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "adding_an_implementation.md"


def _documented_adapter(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The doc's adapter module and its registry line, registered as the doc says."""
    adapter_code, registry_line = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)[:2]
    module = types.ModuleType("experiments.models.majority_model")
    module.__package__ = "experiments.models"
    exec(compile(adapter_code, str(DOC), "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "experiments.models.majority_model", module)
    impl = eval(registry_line.strip().rstrip(","), {"Implementation": Implementation, "Majority": module.Majority})
    assert impl.how  # what the report says of it
    monkeypatch.setitem(registry.IMPLEMENTATIONS, impl.name, impl)
    return module


def _plan(*overrides: str) -> Any:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return make_plan(compose(config_name="config", overrides=list(overrides)))


def test_the_documented_adapter_runs_and_is_recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     data_root: Path) -> None:
    """The doc's command (`impls=[mlp,majority]`) through the plan, with its registry line."""
    _documented_adapter(monkeypatch)
    plan = _plan("+experiment=titanic_vs_tf", "+vs_tf_case=keras", "impls=[mlp,majority]", "runs=2",
                 "model.epochs=2")
    run_plan(plan, tmp_path, resume=False, quiet=True, epoch_bar=False, launcher="basic")
    records = read_records(tmp_path)
    ds = plan.dataset(0)
    died = int((ds.y_test.reshape(-1) == 0).sum())  # the majority class of Titanic's training rows: died
    assert [(r["impl"], r["status"]) for r in records] == [("majority", "ok")] * 2 + [("mlp", "ok")] * 2
    majority = [r for r in records if r["impl"] == "majority"]
    assert all(r["test_misclassified"] == len(ds.y_test) - died for r in majority)
    assert all(r["predicted_positives"] == 0 for r in majority)


def test_the_documented_adapter_refuses_a_regression_data_set(monkeypatch: pytest.MonkeyPatch,
                                                                data_root: Path) -> None:
    """Its check_plan runs in the plan, before any work, as the doc says adapters' refusals do."""
    _documented_adapter(monkeypatch)
    with pytest.raises(ValueError, match=r"impls=\[majority\] needs a classification data set"):
        _plan("+experiment=drujba_linreg", "impls=[majority]")
