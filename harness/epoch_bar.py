"""A progress bar over epochs for long runs, driven by harness.measure for every implementation (tqdm on stderr)."""

from __future__ import annotations

from typing import Any


class EpochBar:
    """`with EpochBar(epochs, enabled=...) as bar: ... bar.update()`; a no-op when disabled."""

    def __init__(self, epochs: int, *, enabled: bool, desc: str = "epochs") -> None:
        self.epochs, self.enabled, self.desc = epochs, enabled, desc
        self._bar: Any = None

    def __enter__(self) -> "EpochBar":
        if self.enabled:
            from tqdm.auto import tqdm
            self._bar = tqdm(total=self.epochs, desc=self.desc, unit="epoch", leave=False, position=1)
        return self

    def update(self, n: int = 1) -> None:
        """Advance by `n` epochs."""
        if self._bar is not None:
            self._bar.update(n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
