"""Which kernels NumPy's OpenBLAS runs, and whether the environment chose them.

OpenBLAS picks its kernels for the CPU once, when it loads, unless OPENBLAS_CORETYPE names them
(some machines set it, with OPENBLAS_L2_SIZE, because older OpenBLAS builds crash or compute wrong
results on their processors). A forced choice can halve NumPy's speed: on a two-core AMD EPYC
(Zen 5, AVX-512) with OPENBLAS_CORETYPE=Haswell, NumPy's float32 matmul ran at 227 GFLOP/s against
432 with OpenBLAS's own choice (SkylakeX), while PyTorch and TensorFlow bring their own libraries
and are untouched. So every record says which kernels ran its products and the matmul rate, and,
where the environment named them, which OpenBLAS picks by itself, asked of a fresh interpreter
without those variables (about a third of a second, once per process, only where they are set).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from typing import Any, Mapping

SET_BY = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # read by OpenBLAS as it loads
FORCES_KERNELS = SET_BY[0]
ASK_TIMEOUT_S = 60  # a fresh interpreter importing NumPy: well under a second on an idle machine
_ASK = "from harness.blas_kernels import loaded_kernels; print(loaded_kernels() or '')"


def loaded_kernels() -> str | None:
    """The kernels ('Haswell', 'SkylakeX', ...) of the OpenBLAS this process loaded through NumPy;
    None when NumPy's BLAS is not OpenBLAS or threadpoolctl cannot say."""
    try:
        from threadpoolctl import threadpool_info
        import numpy  # noqa: F401  (load its BLAS so it is listed)
        return next((info.get("architecture") or None for info in threadpool_info()
                     if info.get("internal_api") == "openblas"), None)
    except Exception:  # never fail a run over a diagnostic
        return None


def set_by(environ: Mapping[str, str] = os.environ) -> str | None:
    """'OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512': the variables set to choose the kernels (a name
    OpenBLAS does not know is ignored by it: `slowed` compares what loaded), or None when OpenBLAS
    chose them itself (OPENBLAS_CORETYPE unset or empty)."""
    if not environ.get(FORCES_KERNELS):
        return None
    return " ".join(f"{name}={environ[name]}" for name in SET_BY if environ.get(name))


@functools.lru_cache(maxsize=1)
def by_itself(timeout: float = ASK_TIMEOUT_S) -> str | None:
    """The kernels OpenBLAS picks on this CPU with none of SET_BY set, asked of a fresh interpreter
    (the choice is made at load) once per process; None when it cannot say."""
    environ = {name: value for name, value in os.environ.items() if name not in SET_BY}
    try:
        done = subprocess.run([sys.executable, "-c", _ASK], env=environ, capture_output=True, text=True,
                              timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def kernels() -> dict[str, Any]:
    """What a record carries: the kernels that ran ("blas_kernels"), the variables set to choose them
    ("blas_kernels_set_by", None when OpenBLAS chose) and, when they are set, OpenBLAS's own choice
    ("blas_kernels_by_itself"; None when it could not be found)."""
    forced = set_by()
    return {"blas_kernels": loaded_kernels(), "blas_kernels_set_by": forced,
            "blas_kernels_by_itself": by_itself() if forced else None}


def slowed(facts: dict[str, Any]) -> bool:
    """Whether `kernels()`'s facts show kernels forced on NumPy that OpenBLAS would not pick by itself
    (or whose own choice is unknown): the page and the suite say so."""
    if not facts.get("blas_kernels_set_by") or not facts.get("blas_kernels"):
        return False
    return facts.get("blas_kernels_by_itself") != facts["blas_kernels"]


def forced_text(facts: dict[str, Any], verb: str = "ran") -> str:
    """'NumPy's OpenBLAS ran its Haswell kernels, set by OPENBLAS_CORETYPE=Haswell in the environment
    (by itself it picks SkylakeX on that CPU)' for facts that `slowed` ("runs" before the runs, on
    "this" CPU)."""
    own = facts.get("blas_kernels_by_itself")
    cpu = "this" if verb == "runs" else "that"
    itself = f"by itself it picks {own} on {cpu} CPU" if own else "what it picks by itself could not be found"
    return (f"NumPy's OpenBLAS {verb} its {facts['blas_kernels']} kernels, set by {facts['blas_kernels_set_by']} "
            f"in the environment ({itself})")


def unset_command(facts: dict[str, Any]) -> str:
    """The prefix that runs a command with OpenBLAS's own choice: 'env -u OPENBLAS_CORETYPE -u ...'."""
    names = [part.split("=", 1)[0] for part in str(facts.get("blas_kernels_set_by") or "").split()]
    return "env " + " ".join(f"-u {name}" for name in names)


def other_kernels(recorded: dict[str, Any]) -> str | None:
    """A rerun's warning when the original environment's NumPy products ran on other OpenBLAS kernels
    than this process loads: float products round differently there, so losses and weights may
    differ for that reason alone; None when they are the same or the original did not record them."""
    then, now = recorded.get("blas_kernels"), loaded_kernels()
    if not isinstance(then, str) or not now or then == now:
        return None
    chosen = recorded.get("blas_kernels_set_by") or "OpenBLAS's own choice"
    here = set_by() or "OpenBLAS's own choice"
    return (f"the original's NumPy products ran on OpenBLAS's {then} kernels ({chosen}), this process's run on "
            f"{now} ({here}): their float products round differently, so the results may differ for that alone")
