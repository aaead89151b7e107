"""Minibatch schedules: which rows of the training set each update of an epoch sees.

- ``shuffle`` (default): one permutation per epoch; every example once; the last partial batch
  is kept (as Keras's ``fit(shuffle=True)``).
- ``article``: the article's scheme: ceil(N / J) updates per epoch, each minibatch of J rows
  drawn independently at random without replacement, so an epoch may repeat or miss examples.
- ``sequential``: batches in order, no shuffling (as Keras's ``fit(shuffle=False)``).

Index draws come from the network's own generator on the CPU (one permutation per epoch, never a
per-batch shuffle of the whole set); one host-to-device copy per epoch moves them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import validation
from .backend import Backend

NAMES = ("shuffle", "article", "sequential")
SMALL_DRAW = 1 << 17  # batches x rows up to which article draws are made in one vectorised call


def get(name: str) -> str:
    """The canonical sampling name; ValueError lists the valid names."""
    return validation.known_name("sampling", name, NAMES)


class Sampler:
    """Per-epoch lists of device index arrays for one data size, batch size and scheme."""

    def __init__(self, name: str, n: int, batch_size: int, rng: np.random.Generator, bk: Backend) -> None:
        self.name = get(name)
        self.n, self.rng, self.bk = n, rng, bk
        self.batch_size = min(batch_size, n)
        if self.name == "article":
            count = math.ceil(n / self.batch_size)
            self.bounds = [(j * self.batch_size, (j + 1) * self.batch_size) for j in range(count)]
        else:
            starts = range(0, n, self.batch_size)
            self.bounds = [(s, min(s + self.batch_size, n)) for s in starts]
        self.sizes = [stop - start for start, stop in self.bounds]
        self.examples_per_epoch = sum(self.sizes)
        # minibatch s is order[starts[s]:starts[s + 1]] (the bounds are contiguous)
        self.starts = np.asarray([start for start, _ in self.bounds] + [self.bounds[-1][1]], dtype=np.int64)
        if self.name == "sequential":
            order = bk.asarray(np.arange(n))
            self._fixed = [order[start:stop] for start, stop in self.bounds]

    def epoch(self) -> list[Any]:
        """The index arrays (on the device) of the next epoch's minibatches, in order."""
        if self.name == "sequential":
            return self._fixed
        order = self.bk.asarray(self.epoch_order())
        return [order[start:stop] for start, stop in self.bounds]

    def epoch_order(self) -> np.ndarray:
        """The next epoch's row indices on the host, minibatch after minibatch (see ``starts``);
        draws as ``epoch`` does, so either gives the same batches from the same generator."""
        if self.name == "sequential":
            return np.arange(self.n, dtype=np.int64)
        if self.permutes():
            return self.rng.permutation(self.n)
        return self._article_draws()

    def permutes(self) -> bool:
        """Whether an epoch's order is ``rng.permutation(n)`` and nothing else: then the fused
        whole-epoch kernel may draw it itself (``pcg64.permute``), a change here must go there."""
        return self.name == "shuffle"

    def _article_draws(self) -> np.ndarray:
        """ceil(N/J) independent draws of J distinct rows, concatenated.

        Small sets: the J smallest of N uniform keys per batch, all batches in two calls (a
        minibatch is a set, so the order inside it does not matter). Large sets: NumPy's
        choice without replacement per batch, which then costs O(J), not O(N).
        """
        count, size = len(self.bounds), self.batch_size
        if count * self.n <= SMALL_DRAW or size == self.n:
            keys = self.rng.random((count, self.n))
            if size == self.n:
                return np.argsort(keys, axis=1).ravel()
            return np.argpartition(keys, size, axis=1)[:, :size].ravel()
        return np.concatenate([self.rng.choice(self.n, size, replace=False) for _ in range(count)])
