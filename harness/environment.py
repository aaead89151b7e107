"""What produced a result: library versions, BLAS and threads, CPU/GPU, git state, command line.

Versions are read from package metadata, never by importing the package, so recording the
environment does not load TensorFlow or CuPy (and stays fast on the bad-input path). The
machine's float32 matmul rate (harness.machine, about half a second, once per process) is
recorded too: the report divides each run's FLOP rate by it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlp_impl.backend import cpu_model
from harness import blas_kernels
from harness.machine import machine_rates

PACKAGES = {"numpy": ("numpy",), "cupy": ("cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x", "cupy"),
            "tensorflow": ("tensorflow-cpu", "tensorflow"), "keras": ("keras",), "torch": ("torch",),
            "sklearn": ("scikit-learn",), "hydra": ("hydra-core",), "pandas": ("pandas",),
            "numba": ("numba",)}
REPO = Path(__file__).resolve().parents[1]


def versions() -> dict[str, str | None]:
    """Installed version of each library a record may depend on (None when absent)."""
    found: dict[str, str | None] = {}
    for name, dists in PACKAGES.items():
        found[name] = None
        for dist in dists:
            try:
                found[name] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return found


def blas() -> list[dict[str, Any]]:
    """BLAS/OpenMP libraries loaded by NumPy and their thread counts (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
        import numpy  # noqa: F401  (load its BLAS so it is listed)
        keys = ("internal_api", "version", "num_threads", "threading_layer", "architecture", "filepath")
        return [{k: info.get(k) for k in keys} for info in threadpool_info()]
    except Exception as ex:  # never fail a run over a diagnostic
        return [{"error": repr(ex)}]


def gpu() -> dict[str, Any]:
    """GPU name via mlp_impl's backend check (only when CuPy is installed)."""
    if importlib.util.find_spec("cupy") is None:
        return {"usable": False, "reason": "CuPy is not installed", "name": None}
    try:
        from mlp_impl.backend import get_backend, gpu_status
        usable, reason = gpu_status()
        name = get_backend("cupy").device_name() if usable else None
        return {"usable": usable, "reason": reason, "name": name}
    except Exception as ex:
        return {"usable": False, "reason": repr(ex), "name": None}


GENERATED = ("results/", "outputs/")  # what runs write: changes there do not make a run dirty


def git_state(repo: Path = REPO) -> dict[str, Any]:
    """Commit and dirty flag of the code that ran (with a warning when uncommitted changes exist)."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=repo, capture_output=True, timeout=10)
            return os.fsdecode(out.stdout) if out.returncode == 0 else None  # any byte of a file name
        except (OSError, subprocess.SubprocessError):
            return None
    commit = (git("rev-parse", "HEAD") or "").strip() or None
    # untracked files count too (every one, whatever the user's git config): new code changes results
    status = git("status", "--porcelain=v1", "-z", "--untracked-files=all")
    changed = changed_paths(status or "")
    dirty = bool(changed) if status is not None else None
    files = f"{len(changed)} file{'s' if len(changed) != 1 else ''}"
    warning = (f"the working tree had uncommitted changes ({files}): the commit alone does not "
               f"reproduce these results" if dirty else None)
    return {"commit": commit, "dirty": dirty, "changed_files": changed[:50], "warning": warning}


def changed_paths(status: str) -> list[str]:
    """The paths of ``git status --porcelain=v1 -z`` entries that make a run dirty: outside
    GENERATED. A rename or copy carries its source as the next field; it counts, by the path
    outside, when either is (code moved out of results/ is code)."""
    fields, changed, i = status.split("\0"), [], 0
    while i < len(fields):
        entry, i = fields[i], i + 1
        if len(entry) < 4:
            continue
        paths = [entry[3:]]
        if "R" in entry[:2] or "C" in entry[:2]:
            paths.append(fields[i] if i < len(fields) else "")
            i += 1
        outside = [path for path in paths if not path.startswith(GENERATED)]
        if outside:
            changed.append(outside[0])
    return changed


def data_root(root: str | None) -> str | None:
    """The data folder a run reads (config data.root, else $MLP_BENCH_DATA_DIR, else the cache)."""
    try:
        from experiments.data import resolve_data_root
        return str(resolve_data_root(root))
    except Exception:  # a data set without files (drujba) needs no folder
        return None


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages when the run started: on a shared machine, timings taken
    under load (more runnable processes than cores) are not comparable with quiet ones."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def command_line(module: str, args: list[str]) -> str:
    """The command that runs this job again, into a new folder (its own overrides; `argv`, recorded
    beside it, is the original command line as typed)."""
    return " ".join(shlex.quote(a) for a in [sys.executable, "-m", module, *args])


def capture(config: dict[str, Any], command: str, argv: list[str] | None = None,
            **extra: Any) -> dict[str, Any]:
    """The environment record written once per invocation as environment.json."""
    argv = sys.argv if argv is None else argv
    return {
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "platform": platform.platform(), "hostname": socket.gethostname(),
        "cpu": cpu_model(), "cpu_count": cpu_count(), "versions": versions(), "blas": blas(), "gpu": gpu(),
        "git": git_state(), "command": command, "argv": list(argv),
        "data_root": data_root((config.get("data") or {}).get("root")), "load_average": load_average(),
        **machine_rates(bool(config.get("measure_rate", True))), **blas_kernels.kernels(),
        "config": config, **extra,
    }


def cpu_count() -> int:
    """CPUs this process may use (affinity-aware), for the environment record."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
