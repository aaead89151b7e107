"""Which kernels NumPy's OpenBLAS runs, and whether the environment chose them.

OpenBLAS picks its kernels for the CPU once, when it loads, unless OPENBLAS_CORETYPE names them
(some machines set it, with OPENBLAS_L2_SIZE, because older OpenBLAS builds crash or compute wrong
results on their processors). A forced choice can halve NumPy's speed: on a two-core AMD EPYC
(Zen 5, AVX-512) with OPENBLAS_CORETYPE=Haswell, NumPy's float32 matmul ran at 227 GFLOP/s against
432 with OpenBLAS's own choice (SkylakeX), while PyTorch and TensorFlow bring their own libraries
and are untouched. So every record says which kernels ran its products and the matmul rate, and,
where the environment forced them, which OpenBLAS picks by itself, asked of a fresh interpreter
without those variables.
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
_ASK = ("import numpy, threadpoolctl; "
        "print(next((i.get('architecture') or '' for i in threadpoolctl.threadpool_info() "
        "if i.get('internal_api') == 'openblas'), ''))")


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
    """'OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512': the variables that chose the kernels, or None
    when OpenBLAS chose them itself (OPENBLAS_CORETYPE unset or empty)."""
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


def kernels(ask: bool = True) -> dict[str, Any]:
    """What a record carries: the kernels that ran ("blas_kernels"), the variables that forced them
    ("blas_kernels_set_by", None when OpenBLAS chose) and, when forced and `ask`, OpenBLAS's own
    choice ("blas_kernels_by_itself"; None when not asked or not found)."""
    forced = set_by()
    return {"blas_kernels": loaded_kernels(), "blas_kernels_set_by": forced,
            "blas_kernels_by_itself": by_itself() if forced and ask else None}


def slowed(facts: dict[str, Any]) -> bool:
    """Whether `kernels()`'s facts show kernels forced on NumPy that OpenBLAS would not pick by itself
    (or whose own choice is unknown): the page and the suite say so."""
    if not facts.get("blas_kernels_set_by") or not facts.get("blas_kernels"):
        return False
    return facts.get("blas_kernels_by_itself") != facts["blas_kernels"]


def forced_text(facts: dict[str, Any], verb: str = "ran") -> str:
    """'NumPy's OpenBLAS ran its Haswell kernels, set by OPENBLAS_CORETYPE=Haswell in the environment
    (by itself it picks SkylakeX on this CPU)' for facts that `slowed` ("runs" before the runs)."""
    own = facts.get("blas_kernels_by_itself")
    itself = f"by itself it picks {own} on this CPU" if own else "what it picks by itself was not found"
    return (f"NumPy's OpenBLAS {verb} its {facts['blas_kernels']} kernels, set by {facts['blas_kernels_set_by']} "
            f"in the environment ({itself})")


def unset_command(facts: dict[str, Any]) -> str:
    """The prefix that runs a command with OpenBLAS's own choice: 'env -u OPENBLAS_CORETYPE -u ...'."""
    names = [part.split("=", 1)[0] for part in str(facts.get("blas_kernels_set_by") or "").split()]
    return "env " + " ".join(f"-u {name}" for name in names)
