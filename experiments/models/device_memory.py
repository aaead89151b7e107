"""Peak device memory of a CuPy run: the high-water mark of the bytes in use, not the pool's size.

CuPy's memory pool keeps freed blocks for reuse, so its size after a run says how much it reserved
(rounded up to its chunks, and including blocks freed and never reused), not the most the run held
at once. While a run lasts, every allocation goes through `DevicePeak._malloc`, which asks the pool
and then notes how many bytes are in use; the most seen, less what was in use at the start, is the
run's peak. The MLP allocates its buffers once, so the extra work is a few calls per fit.
"""

from __future__ import annotations

from typing import Any, Callable


class DevicePeak:
    """Context manager: `mb` is the peak of device bytes in use during the block, in MB.

    `pool` is a CuPy MemoryPool (malloc, used_bytes); `set_allocator` is cupy.cuda.set_allocator.
    Both default to CuPy's and are parameters so the accounting can be tested without a GPU."""

    def __init__(self, pool: Any = None, set_allocator: Callable[[Any], None] | None = None) -> None:
        if pool is None or set_allocator is None:
            import cupy
            pool = pool if pool is not None else cupy.get_default_memory_pool()
            set_allocator = set_allocator or cupy.cuda.set_allocator
        self._pool, self._set_allocator = pool, set_allocator
        self.mb: float | None = None

    def _malloc(self, size: int) -> Any:
        memory = self._pool.malloc(size)
        self._peak = max(self._peak, self._pool.used_bytes())
        return memory

    def __enter__(self) -> "DevicePeak":
        self._start = self._peak = self._pool.used_bytes()
        self._set_allocator(self._malloc)
        return self

    def __exit__(self, *exc: object) -> None:
        self._set_allocator(self._pool.malloc)
        self.mb = round((self._peak - self._start) / 2**20, 3)
