"""Data-parallel training steps on the CPU: one minibatch's rows split over threads.

NumPy runs each BLAS call on every core but each elementwise call (activations, the softmax,
the minibatch gather, the optimizer's dozen passes over the parameters) on one core, so a
serial step leaves cores idle for a third of its time on a network like MNIST's. A
``SplitStep`` gives each of W threads a slice of the minibatch's rows, its own ``Workspace`` and
gradient buffer, and a single-threaded BLAS (``cpu_threads``): the threads run the whole forward
and backward pass side by side. Each part's loss is averaged over the whole batch's rows, so the
parts' gradients add up to the batch gradient; the threads then sum them and apply the optimizer
on disjoint slices of the flat buffers. The step is the serial step up to the order of float
additions (deterministic for a given W).

Only the NumPy backend and ``backprop="standard"`` split: the article's order updates each layer
before the layer below is reached, which would need a barrier per layer.
"""

from __future__ import annotations

import contextlib
import functools
import os
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial
from typing import Any, Callable, Iterator

from .training import Workspace

# A split pays when each part still has this many multiply-adds per step (rows x parameters):
# below it the threads' hand-offs and the gradient sum cost more than the elementwise time they
# save. Measured on two cores, one epoch of 10,000 rows: 784-512-128-64-10 at 1,000 rows a step
# (4.8e8) 0.91x the one-thread time, 784-512-10 at 1,000 (4.1e8) 0.89x; at 1e8 (784-512-10 at
# 256 rows, 784-128-10 at 1,000, the MNIST net at 250) 1.03x to 1.12x, slower.
MIN_WORK_PER_THREAD = 1 << 27
# ...and at least this many rows, so each part's matrix products keep BLAS efficient.
MIN_ROWS_PER_THREAD = 128


@functools.lru_cache(maxsize=None)
def _blas_controller() -> Any:
    """threadpoolctl's view of the BLAS libraries loaded so far (NumPy's among them: it is
    imported first). Built once: building one scans every loaded library (a fifth of a
    millisecond), using one is ten times cheaper."""
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController().select(user_api="blas")


def blas_threads() -> int:
    """Threads NumPy's BLAS would use now (the cores it was given), else the CPUs this process may use."""
    try:
        counts = [lib.num_threads for lib in _blas_controller().lib_controllers]
        if counts:
            return max(1, max(counts))
    except Exception:  # threadpoolctl missing or unable to read a library: fall back to the CPU count
        pass
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def split_threads(requested: int | None, rows: int, n_params: int) -> int:
    """Threads a step of ``rows`` rows splits over: ``requested`` (capped by the rows), or with
    None as many as BLAS has cores, fewer when the parts would be too small to pay."""
    if requested is not None:
        return max(1, min(requested, rows))
    if rows * n_params < 2 * MIN_WORK_PER_THREAD or rows < 2 * MIN_ROWS_PER_THREAD:
        return 1
    by_size = min(rows * n_params // MIN_WORK_PER_THREAD, rows // MIN_ROWS_PER_THREAD)
    return max(1, min(blas_threads(), by_size))


@contextlib.contextmanager
def cpu_threads(threads: int) -> Iterator[ThreadPoolExecutor | None]:
    """A pool of ``threads - 1`` helper threads (the caller is the first) and BLAS limited to one
    thread for the duration; nothing changes for ``threads == 1``."""
    if threads <= 1:
        yield None
        return
    with _blas_controller().limit(limits=1), \
            ThreadPoolExecutor(threads - 1, thread_name_prefix="mlp-step") as pool:
        yield pool


def _even_cuts(total: int, parts: int, unit: int = 1) -> list[tuple[int, int]]:
    """[start, stop) ranges covering 0..total in ``parts`` near-equal pieces, inner cuts on
    multiples of ``unit``."""
    units = -(-total // unit)
    cuts = [min(total, round(k * units / parts) * unit) for k in range(parts + 1)]
    cuts[-1] = total
    return list(zip(cuts[:-1], cuts[1:]))


class SplitStep:
    """One training step of ``m`` rows split over ``threads`` threads (see the module docstring)."""

    def __init__(self, net: Any, m: int, augmented: bool, threads: int) -> None:
        xp = net.backend.xp
        self.rows = _even_cuts(m, threads)
        self.grads = net.grads
        others = [xp.zeros_like(net.grads) for _ in self.rows[1:]]  # the other parts' gradients
        self.parts = [
            Workspace(net, stop - start, augmented, grads=buffer, total_rows=m, penalty=False)
            for (start, stop), buffer in zip(self.rows, [None, *others])
        ]
        self.optimizer, self.xp = net.optimizer, xp
        self.penalty = net.penalty if net.penalty.active else None
        chunk = net.backend.elementwise_chunk or self.grads.size
        # each thread's share of the flat buffers, in cache-sized pieces:
        # (start, stop, the optimizer's views of it, the same range of every other part's gradient)
        self.shares = [
            [(i, min(i + chunk, stop), net.optimizer.pieces(i, min(i + chunk, stop)),
              [g[i : min(i + chunk, stop)] for g in others])
             for i in range(start, stop, chunk)]
            for start, stop in _even_cuts(self.grads.size, threads, chunk)
        ]

    def step(self, x: Any, y: Any, idx: Any, learning_rate: float, pool: ThreadPoolExecutor) -> Any:
        """Forward and backward on every part, then sum and update; returns the batch loss (plus
        penalty) at the weights before the update, as a 0-d value."""
        part_losses = _run([partial(part.compute, x, y, idx[start:stop])
                            for part, (start, stop) in zip(self.parts, self.rows)], pool)
        loss = part_losses[0]
        for value in part_losses[1:]:
            loss = loss + value
        self.optimizer.begin(learning_rate)
        penalties = _run([partial(self._apply, k) for k in range(len(self.shares))], pool)
        if self.penalty is not None:
            for value in penalties:
                loss = loss + value
        return loss

    def _apply(self, k: int) -> Any:
        """Thread k's share: add the other parts' gradients into the network's, add the penalty,
        step the optimizer; returns the penalty of the share (0.0 without one)."""
        xp, grads, penalty, update = self.xp, self.grads, self.penalty, self.optimizer.update
        total: Any = 0.0
        for start, stop, pieces, others in self.shares[k]:
            g = grads[start:stop]
            for other in others:
                xp.add(g, other, g)
            if penalty is not None:
                total = total + penalty.apply_range(start, stop)
            update(pieces)
        return total


def _run(calls: list[Callable[[], Any]], pool: ThreadPoolExecutor) -> list[Any]:
    """Results of ``calls``, the first run here and the others on the pool. Every call has
    finished before this returns or raises, so no thread is left writing a buffer."""
    jobs = [pool.submit(call) for call in calls[1:]]
    try:
        first = calls[0]()
    finally:
        wait(jobs)
    return [first] + [job.result() for job in jobs]
