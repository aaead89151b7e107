"""Peak resident memory of one run, measured by the harness around every CPU implementation's fit and predict."""

from __future__ import annotations

import ctypes
import gc
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak resident memory a run adds to the process, in MB.

    Why not tracemalloc: it slows NumPy-heavy loops several-fold and misses BLAS and TensorFlow
    buffers. On Linux we reset the kernel's high-water mark (`/proc/self/clear_refs` = 5) at the
    start and read `VmHWM` at the end: exact, free, covers every allocator. The figure is
    VmHWM(end) - VmRSS(start). Memory freed by an earlier run but still held by the C allocator
    would be reused without raising the mark, so the allocator is first asked to hand it back
    (`gc.collect`, glibc's `malloc_trim`). Elsewhere it falls back to `resource.getrusage`
    ru_maxrss deltas, which only see a run that raises the process's lifetime peak (0 otherwise).
    """

    def __enter__(self) -> "PeakMemory":
        self.mb: float | None = None
        self._reset = False
        _release_freed_memory()
        try:
            _CLEAR_REFS.write_text("5")
            self._reset = True
        except OSError:
            pass
        self._start_kb = _status_kb("VmRSS") if self._reset else _maxrss_kb()
        return self

    def __exit__(self, *exc: object) -> None:
        end_kb = _status_kb("VmHWM") if self._reset else _maxrss_kb()
        if end_kb is not None and self._start_kb is not None:
            self.mb = round(max(end_kb - self._start_kb, 0) / 1024, 3)


def _release_freed_memory() -> None:
    """Return memory that Python and the C allocator hold but no longer use to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _maxrss_kb() -> int | None:
    try:
        import resource
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except (ImportError, OSError):
        return None
