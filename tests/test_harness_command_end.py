"""How the command ends when a sweep's runs fail or Ctrl-C comes outside a run: one line naming what
happened and how to continue, the documented exit status, no traceback, and the sweep's tables
merged while its folder is still locked. Faults come from tests/run_fault_hook (in the command
and in a launcher's workers alike); the single run's Ctrl-C after its runs is produced in-process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import harness.machine
import harness.reporting
from harness.run import finish, run_config
from test_harness_faults import config, fake_mlp  # noqa: F401  (fake_mlp: a fixture)

@pytest.mark.parametrize("where", ["rate after the runs", "report"])
def test_ctrl_c_after_a_runs_last_record_says_what_was_not_done(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                 data_root: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture, where: str) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    if where == "report":
        monkeypatch.setattr(harness.reporting, "update_report", interrupt)
    else:
        monkeypatch.setattr(harness.machine, "after_measurements", interrupt)
    fake_mlp({})
    outcome = run_config(config("runs=2", "report=true"), tmp_path, launcher="basic", command="test")
    assert outcome.interrupted and len(outcome.done) == 2
    with pytest.raises(SystemExit) as stop:
        finish(outcome, tmp_path, multirun=False)
    assert stop.value.code == 130
    rate = "the matmul rate after the runs was not measured; " if where != "report" else ""
    assert capsys.readouterr().err == (
        f"interrupted: 2 runs finished (0 failed, 0 diverged), 0 kept from before, in {tmp_path}; {rate}"
        f"the report was not rebuilt (python -m harness.report {tmp_path} rebuilds it); "
        f"finish with resume=true hydra.run.dir={tmp_path}\n")
