"""Shared fixtures: where the reference data lives, a guard that nothing writes there, and an
independent count of a model's misclassified test rows."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Harness runs in tests skip the machine's matmul-rate measurement (~2 s before and after each);
# the tests of harness.machine and one end-to-end run switch it back on.
os.environ.setdefault("MLP_BENCH_MEASURE_RATE", "0")

# A suite started in the background by a shell without job control (a script's `make test &`, a CI runner's
# step) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler: the Ctrl-C tests that
# raise SIGINT in this process (tests/test_mlp_api.py) would see nothing. Python's own handler is put back, as
# in a terminal; such a suite shares its script's process group, and a Ctrl-C sent to that group stops it too.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# submitit configures logging as it is first imported (logging.config.dictConfig), which closes every logging
# handler of the process. absl's (made as a test module imports TensorFlow) holds pytest's capture of stderr
# and closes it when sys.stderr is something else then, a test's capsys: every later test of the process
# errors ("I/O operation on closed file"). Imported here, before any test module, it configures logging
# before that handler exists (tests/test_conftest_capture.py).
with contextlib.suppress(ImportError):  # the `cluster` extra
    import submitit  # noqa: F401


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


@pytest.fixture(params=["numpy", "fused", "fused-steps"])
def kernels(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways the MLP runs its elementwise work (mlp_impl.network.KERNELS), the fused one twice:
    small networks train an epoch per compiled call (fused.WholeEpoch), "fused-steps" switches
    that off so the step-by-step fused path is checked too."""
    if request.param == "numpy":
        return "numpy"
    require_numba()
    from mlp_impl import fused
    if request.param == "fused-steps":
        monkeypatch.setattr(fused, "WHOLE_EPOCH_MAX", 0)
    return "fused"


@pytest.fixture
def count_misclassified(monkeypatch: pytest.MonkeyPatch):
    """``install()`` makes the harness's ``classification_fields`` keep the test-set
    probabilities it is given and returns ``count(y_test)``: the misclassified rows of the last
    prediction counted one by one here, to check a record's count against (not its accuracy,
    which comes from the same count)."""
    import harness.measure as module
    seen: list = []

    def install() -> Callable[[Any], int]:
        original = module.classification_fields

        def keep(proba: Any, y_true: Any, task: str) -> dict:
            seen.append(np.array(proba, dtype=np.float64, copy=True))
            return original(proba, y_true, task)

        monkeypatch.setattr(module, "classification_fields", keep)
        return lambda y_test: _count_wrong(seen[-1], np.asarray(y_test))

    return install


def _count_wrong(proba: np.ndarray, y: np.ndarray) -> int:
    """Row by row: one output column is class 1 when above 0.5, several the column of the maximum."""
    wrong = 0
    for p, label in zip(proba.reshape(len(y), -1), y.reshape(len(y), -1)):
        if p.size == 1:
            wrong += int((p[0] > 0.5) != (label[0] == 1))
        else:
            wrong += int(max(range(p.size), key=lambda k: p[k]) != max(range(label.size), key=lambda k: label[k]))
    return wrong


def run_impl(name: str, spec: Any, ds: Any, *, seed: int = 0, dtype: str = "float32", sampling: str = "shuffle",
             backend: str | None = None, **options: Any) -> dict:
    """One run of the registered implementation `name`, measured by the harness as a sweep measures it
    (backend: the implementation's own default unless given)."""
    from experiments.models import registry
    from harness.measure import measure_run
    impl = registry.get(name)
    return measure_run(impl, spec, ds, seed=seed, dtype=dtype, sampling=sampling,
                       backend=backend or impl.backends[0], progress=False, options=options)


def refuse_to_list(monkeypatch: pytest.MonkeyPatch, folder: Path, call: str = "listdir") -> None:
    """`folder` one the OS will not list (EACCES), as it refuses another user's: tests run as root, who
    may list anything, so os.`call` (listdir or scandir, whichever the code under test lists with) is
    made to refuse it."""
    import errno
    real = getattr(os, call)

    def refusing(path: Any = ".") -> Any:
        if isinstance(path, (str, os.PathLike)) and Path(path).resolve() == folder.resolve():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real(path)
    monkeypatch.setattr(os, call, refusing)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: a worker more than the cores this process may run on. Many tests wait on the command
    they start (its sweeps' workers, SLURM, a sleeping run), so as many workers as cores leave the cores
    idle part of the time (CI-like runs on two cores: 17.2 minutes with two workers, 15.3 with three,
    16.1 with four). PYTEST_XDIST_AUTO_NUM_WORKERS and `-n logical` keep their own meaning."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or config.option.numprocesses == "logical":
        return None
    return len(os.sched_getaffinity(0)) + 1


# Files that take minutes run first, so that `make test`'s workers (a file each) do not end with
# one of them left alone; order within a file is kept. (All the longest files, longest first, measured
# no better: 16.5 minutes on two cores against 15.3.)
SLOW_FILES = ("test_scale_slurm.py", "test_harness_disk_full.py", "test_harness_resume.py", "test_perf_gpu_check.py",
              "test_scale_sweeps.py", "test_harness_faults.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FILES)))
