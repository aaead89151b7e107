"""Shared fixtures: where the reference data lives, and a guard that nothing writes there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data folder named by MLP_BENCH_DATA_DIR; a test that needs data fails without it."""
    value = os.environ.get("MLP_BENCH_DATA_DIR")
    if not value:
        pytest.fail("MLP_BENCH_DATA_DIR is not set: point it at the folder holding mnist/ and titanic/")
    root = Path(value)
    if not (root / "mnist").is_dir() or not (root / "titanic").is_dir():
        pytest.fail(f"data folder {root} lacks mnist/ or titanic/: set MLP_BENCH_DATA_DIR to the data folder")
    return root


@pytest.fixture
def no_downloads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never reach the network and never share a download cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def offline(url: str, out: Path, timeout: float = 0) -> None:
        raise OSError(f"network disabled in tests ({url})")

    monkeypatch.setattr("experiments.data.download.fetch_url", offline)


def require_numba() -> None:
    """Fused-kernel tests need Numba: they fail in CI (CI=true), where make install installs the
    `fused` extra, and elsewhere are skipped saying how to install it."""
    from mlp_impl import fused
    if fused.numba is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Numba is missing: {fused.MISSING}")
        pytest.skip(fused.MISSING)


@pytest.fixture(params=["numpy", "fused"])
def kernels(request: pytest.FixtureRequest) -> str:
    """Both ways the MLP runs its elementwise work (mlp_impl.network.KERNELS)."""
    if request.param == "fused":
        require_numba()
    return request.param
