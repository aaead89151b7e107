"""A headless Chromium renders the report, and the screenshot is not blank.

Without Chromium the test fails under CI (CI=true; `.ci/run` installs Debian's `chromium`) and
is skipped elsewhere with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from harness.reporting import build_report
from harness.reporting.synthetic import write_synthetic_results

WIDTH, HEIGHT = 1280, 2000


def chromium() -> str:
    """Path of the Chromium binary, or fail (CI) / skip (elsewhere) saying why."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    reason = "chromium is not installed (apt-get install chromium; .ci/run does this)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def test_headless_chromium_renders_the_report(tmp_path: Path) -> None:
    binary = chromium()
    write_synthetic_results(tmp_path / "results")
    index = build_report([tmp_path / "results"])
    shot = tmp_path / "screenshot.png"
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
               f"--window-size={WIDTH},{HEIGHT}", index.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert shot.is_file(), f"no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    image = imread(shot)
    assert image.shape[:2] == (HEIGHT, WIDTH)
    pixels = (image[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours = np.unique(pixels, axis=0).shape[0]
    assert colours > 200, f"screenshot has only {colours} colours: the page looks blank"
    not_background = np.any(pixels < 240, axis=1).mean()
    assert not_background > 0.03, f"only {not_background:.1%} of the screenshot is not background"
