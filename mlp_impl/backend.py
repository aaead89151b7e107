"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU, behind one small object.

The maths in this package never branches on the backend: it calls ``bk.xp`` (the array module)
and the few special functions collected here. CuPy is imported lazily, so the package works
where it is not installed, and asking for it there fails with one clear reason.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import validation

BACKEND_NAMES = ("numpy", "cupy")


class GPUUnavailableError(ValueError):
    """CuPy was asked for but cannot run here; the message says why (no CuPy, driver or device)."""


class Backend:
    """One array backend: the array module ``xp`` plus conversions at the edges.

    Attributes
    ----------
    name : "numpy" or "cupy".
    xp : the array module (``numpy`` or ``cupy``).
    expit : logistic sigmoid ufunc of that module (supports ``out=``).
    take_rows : ``take_rows(a, idx, out)`` gathers rows ``idx`` of ``a`` into ``out``.
    """

    def __init__(self, name: str, xp: Any, expit: Callable[..., Any]) -> None:
        self.name = name
        self.xp = xp
        self.expit = expit
        # elements per piece for whole-buffer updates: pieces that stay in a CPU core's cache;
        # one piece (0) on the GPU, where each extra piece is one more kernel launch
        self.elementwise_chunk = 1 << 16 if name == "numpy" else 0
        if name == "numpy":
            # mode="clip" skips NumPy's buffered bounds check (indices come from our samplers)
            self.take_rows: Callable[[Any, Any, Any], Any] = lambda a, idx, out: np.take(a, idx, 0, out, "clip")
        else:
            self.take_rows = lambda a, idx, out: xp.take(a, idx, 0, out)

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """Move ``a`` onto this backend's device (no copy when it is already there)."""
        return self.xp.asarray(a, dtype=dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        """A host NumPy copy (or the array itself on the NumPy backend)."""
        if self.name == "cupy":
            return self.xp.asnumpy(a)
        return np.asarray(a)

    def synchronize(self) -> None:
        """Wait for queued device work, so a clock stopped afterwards measures it."""
        if self.name == "cupy":
            self.xp.cuda.get_current_stream().synchronize()

    def device_name(self) -> str:
        """A human-readable name of the device that runs the arrays."""
        if self.name == "cupy":
            device = self.xp.cuda.Device()
            props = self.xp.cuda.runtime.getDeviceProperties(device.id)
            name = props["name"]
            return name.decode() if isinstance(name, bytes) else str(name)
        return cpu_model()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled and deep-copied by name: the backend of that name where it is loaded (its array
        module cannot be pickled)."""
        return get_backend, (self.name,)

    def __copy__(self) -> "Backend":
        """A shallow copy of its own, as Python's (say to change its settings for a test)."""
        twin = object.__new__(Backend)
        twin.__dict__.update(self.__dict__)
        return twin

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def gpu_status() -> tuple[bool, str]:
    """Whether CuPy can run here, and why not: (usable, reason).

    Checks, in order, that CuPy imports, that the CUDA driver answers, that a device exists and
    that it runs a compiled kernel and a matrix product (NVRTC and cuBLAS load only then), so the
    reason names the first missing piece.
    """
    try:
        import cupy
    except ImportError as exc:
        return False, f"CuPy not installed ({exc}); install the extra: pip install 'mlp-bench[gpu]'"
    except Exception as exc:  # a broken CuPy install raises other errors at import
        return False, f"CuPy not installed correctly: {type(exc).__name__}: {exc}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError when the driver is missing or too old
        return False, f"no CUDA driver: {type(exc).__name__}: {exc}"
    if count < 1:
        return False, "no CUDA device: the driver reports 0 GPUs"
    try:
        if not cupy.is_available():
            return False, "no CUDA device: cupy.is_available() is False"
    except Exception as exc:
        return False, f"no CUDA device: {type(exc).__name__}: {exc}"
    try:
        probe = cupy.arange(4, dtype=cupy.float32)
        float(((probe * 2 + 1) @ probe).item())
    except Exception as exc:  # missing or mismatched CUDA libraries (libnvrtc, libcublas)
        return False, f"CuPy cannot run kernels: {type(exc).__name__}: {exc}; {CUDA_LIBRARIES_HINT}"
    return True, f"CuPy {cupy.__version__} with {count} CUDA device(s)"


# What to install when CuPy imports but its CUDA libraries are missing or do not match the driver.
CUDA_LIBRARIES_HINT = ("install CuPy with its CUDA libraries for this machine's CUDA major version (nvidia-smi's "
                       "'CUDA Version'): pip install 'cupy-cuda12x[ctk]==14.2.0' for CUDA 12, "
                       "pip install 'cupy-cuda13x[ctk]==14.2.0' for CUDA 13 (uninstall the other first)")


_CACHE: dict[str, Backend] = {}


def get_backend(name: str = "numpy") -> Backend:
    """The backend called ``name`` ("numpy" or "cupy").

    Raises ValueError for an unknown name and GPUUnavailableError (a ValueError) when CuPy
    cannot run here, saying why.
    """
    if isinstance(name, Backend):
        return name
    name = validation.known_name("backend", name, BACKEND_NAMES)
    if name in _CACHE:
        return _CACHE[name]
    if name == "numpy":
        from scipy.special import expit

        backend = Backend("numpy", np, expit)
    else:
        usable, reason = gpu_status()
        if not usable:
            raise GPUUnavailableError(f"backend 'cupy' is unusable: {reason}; use backend='numpy'")
        import cupy
        from cupyx.scipy.special import expit as cupy_expit

        backend = Backend("cupy", cupy, cupy_expit)
    _CACHE[name] = backend
    return backend
