"""A job's plan is built and checked once: the pre-check's plan is the one the job runs."""

from __future__ import annotations

import dataclasses
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


class RefusingMLP(MLP):
    def check_plan(self, spec: Any, ds: Any, backend: str) -> None:
        raise ValueError("refused by the adapter registered now")


def test_a_refused_command_leaves_no_plan_for_a_later_job(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          data_root: Path) -> None:
    from harness import precheck
    (tmp_path / "file").write_text("")
    with pytest.raises(precheck.BadInput, match="is a file"):
        precheck.check(["+experiment=titanic_adam", "learning_rate=0.03", f"hydra.run.dir={tmp_path / 'file'}"])
    monkeypatch.setitem(registry.IMPLEMENTATIONS, "mlp", Implementation("mlp", ("numpy", "cupy"), RefusingMLP()))
    with pytest.raises(ValueError, match="refused by the adapter registered now"):
        job_plan(config("learning_rate=0.03"))


def test_a_tuned_form_left_out_is_said_in_the_job_s_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       data_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The pre-check builds the plan before Hydra's logging exists: the job itself warns."""
    from harness.run import run_config
    from test_peers_tuned import WIDE_TITANIC_OVERRIDES  # steps torch_compiled compiles (eager ones need no compiler)
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    overrides = ["impls=[mlp,torch_compiled]", "algorithm=keras", "model.epochs=1", "runs=1", "quiet=true",
                 "report=false", *(f"model.{key}={value}" for key, value in WIDE_TITANIC_OVERRIDES.items())]
    precheck_plan(config(*overrides))
    caplog.clear()
    with caplog.at_level("WARNING", logger="harness.validate"):
        run_config(config(*overrides), tmp_path / "run", launcher="basic", command="test")
    assert caplog.text.count("torch_compiled left out of this run") == 1 and "no-such-compiler" in caplog.text


def test_the_keras_node_reaches_keras_s_start(monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    """keras.deterministic=false: the plan carries the node to the adapter of every Keras form."""
    from experiments.models import keras_model
    plan = make_plan(config("impls=[mlp,keras,keras_tuned]", "algorithm=keras", "keras.deterministic=false"))
    assert plan.options_for(registry.get("keras")) == plan.options_for(registry.get("keras_tuned")) == \
        {"deterministic": False}
    assert plan.options_for(registry.get("mlp")) == {}
    seen: list[bool] = []
    monkeypatch.setattr(keras_model, "_set_determinism", lambda tf, enabled: seen.append(enabled))
    ds = plan.dataset(0)
    for deterministic in (False, True):
        registry.get("keras").adapter.start(plan.spec, ds, seed=0, dtype="float32", sampling="shuffle",
                                            backend="tensorflow", deterministic=deterministic)
    assert seen == [False, True]


class MissingLibrary(MLP):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.library = name

    def check_available(self, backend: str) -> None:
        raise ValueError(f"impls=[{self.library}] needs a library that is not installed here")


def test_tuned_forms_none_of_which_can_run_are_refused_not_left_with_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                          data_root: Path) -> None:
    """A tuned form is left out only while something else runs: named alone together, all
    unavailable, the first refusal is said (an empty plan would run nothing)."""
    for name in ("keras_tuned", "torch_compiled"):
        impl = registry.get(name)
        monkeypatch.setitem(registry.IMPLEMENTATIONS, name,
                            dataclasses.replace(impl, adapter=MissingLibrary(name)))
    with pytest.raises(ValueError, match=r"impls=\[keras_tuned\] needs a library"):
        make_plan(config("impls=[keras_tuned,torch_compiled]", "algorithm=keras"))
