"""The CuPy run's peak device memory is the high-water mark of bytes in use, not the pool's size."""

from __future__ import annotations

from experiments.models.device_memory import DevicePeak


class FakePool:
    """A memory pool that keeps freed blocks (its size only grows), like CuPy's."""

    def __init__(self, in_use: int) -> None:
        self.in_use, self.reserved = in_use, in_use
        self.freed: list[int] = []

    def malloc(self, size: int) -> int:
        self.in_use += size
        self.reserved = max(self.reserved, self.in_use)
        return size

    def free(self, size: int) -> None:
        self.in_use -= size

    def used_bytes(self) -> int:
        return self.in_use


def test_peak_is_the_high_water_mark_of_bytes_in_use() -> None:
    pool = FakePool(in_use=5 * 2**20)  # held before the run: not the run's
    current = []
    with DevicePeak(pool, current.append) as peak:
        allocate = current[-1]
        a = allocate(3 * 2**20)
        b = allocate(2 * 2**20)  # 5 MB in use by the run: the peak
        pool.free(a)
        pool.free(b)
        allocate(1 * 2**20)      # reuses freed space: the peak stays 5 MB
    assert peak.mb == 5.0
    assert current[-1] == pool.malloc  # CuPy's own allocator is back
    assert pool.reserved - 5 * 2**20 == 5 * 2**20 and pool.in_use == 6 * 2**20


def test_nothing_allocated_is_zero() -> None:
    pool = FakePool(in_use=0)
    with DevicePeak(pool, lambda allocator: None) as peak:
        pass
    assert peak.mb == 0.0
