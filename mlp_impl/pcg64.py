"""NumPy's ``Generator.permutation`` under PCG64, as a loop Numba can compile into a kernel.

A Titanic epoch's work is a few tens of microseconds, and ``rng.permutation(600)`` called from
Python each epoch is a fifth of it (docs/fused_kernels.md). The fused whole-epoch kernel
(``fused.WholeEpoch``) therefore draws each epoch's order itself, with the same generator and
the same algorithm, so its batches stay those of NumPy's kernels from the same seed:

- PCG64 (O'Neill's PCG XSL RR 128/64, NumPy's default bit generator): a 128-bit LCG whose
  output is the xor of the state's halves rotated by its top six bits. 32-bit draws take the
  low half of a 64-bit output and keep the high half for the next one.
- ``Generator.shuffle``: Fisher-Yates from the last element down; the index for position i is
  uniform on 0..i, a 32-bit draw masked by the smallest all-ones mask covering i, drawn again
  while it exceeds i.

The state travels as six unsigned 64-bit words (``STATE_WORDS``): read from the generator before
the kernel runs (``state_of``) and written back after (``restore``), so the generator is where
NumPy's own draws would have left it. Between kernel calls the write-back waits until someone
reads the generator (``hold``, ``release``): NumPy's state setter costs a few microseconds, a
tenth of a small epoch; the next call then takes the generator's state afresh (``take``).

Written from the algorithms' descriptions: M. E. O'Neill, "PCG: A Family of Simple Fast
Space-Efficient Statistically Good Algorithms for Random Number Generation" (2014), and NumPy's
documented PCG64 and ``Generator.shuffle``; ``tests/test_mlp_pcg64.py`` holds it to NumPy's own
output. NumPy does not promise a generator's stream across versions: the pinned NumPy is the one
these tests check.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STATE_WORDS = ("state_high", "state_low", "increment_high", "increment_low", "has_uint32", "uinteger")
MAX_ROWS = 1 << 32  # every index below it is a 32-bit draw
_WORD = (1 << 64) - 1
_LOW32 = np.uint64(0xFFFFFFFF)
_32, _58, _63, _64 = (np.uint64(v) for v in (32, 58, 63, 64))
_ZERO, _ONE = np.uint64(0), np.uint64(1)
_MULTIPLIER_HIGH, _MULTIPLIER_LOW = np.uint64(0x2360ED051FC65DA4), np.uint64(0x4385DF649FCCF645)


def supports(rng: np.random.Generator, n: int) -> bool:
    """Whether ``permute`` follows ``rng.permutation(n)``: PCG64 (``np.random.default_rng``'s
    generator) and n up to ``MAX_ROWS`` (NumPy draws 64-bit indices beyond)."""
    return type(rng.bit_generator) is np.random.PCG64 and n <= MAX_ROWS


def state_of(rng: np.random.Generator) -> np.ndarray:
    """The generator's state as the words of ``STATE_WORDS`` (uint64)."""
    state = rng.bit_generator.state
    lcg = state["state"]
    return np.array([lcg["state"] >> 64, lcg["state"] & _WORD, lcg["inc"] >> 64, lcg["inc"] & _WORD,
                     state["has_uint32"], state["uinteger"]], dtype=np.uint64)


def restore(rng: np.random.Generator, words: np.ndarray) -> None:
    """Set the generator to the state ``words`` (as ``state_of`` gives it)."""
    high, low, inc_high, inc_low, has_uint32, uinteger = words.tolist()
    rng.bit_generator.state = {"bit_generator": "PCG64",
                               "state": {"state": (high << 64) | low, "inc": (inc_high << 64) | inc_low},
                               "has_uint32": has_uint32, "uinteger": uinteger}


# generators a kernel draws from, by id: the generator (kept alive, so the id stays its own) and
# the words holding its state (``hold``)
_HELD: dict[int, tuple[np.random.Generator, np.ndarray]] = {}


def hold(rng: np.random.Generator, words: np.ndarray) -> None:
    """Note that ``words`` (from ``state_of(rng)``) now carry ``rng``'s state: a kernel draws from
    them, and ``release`` writes them back. Not thread-safe: one thread draws and reads."""
    _HELD[id(rng)] = (rng, words)


def take(rng: np.random.Generator, words: np.ndarray) -> None:
    """Load ``rng``'s state into ``words`` and hold it there (``hold``); words held for ``rng``
    before are written back first, so their draws count."""
    release(rng)
    words[:] = state_of(rng)
    hold(rng, words)


def holds(rng: np.random.Generator, words: np.ndarray) -> bool:
    """Whether ``words`` (this very array) still carry ``rng``'s state: held, not released since."""
    held = _HELD.get(id(rng))
    return held is not None and held[1] is words


def release(rng: np.random.Generator) -> None:
    """Write back the words ``hold`` noted for ``rng``, if any, and let go of them: before anything
    reads ``rng`` (every network sharing it, ``NN._rng``) and when the drawing ends."""
    held = _HELD.get(id(rng))
    if held is not None:
        restore(*held)
        del _HELD[id(rng)]


def permute(order: Any, words: Any) -> None:
    """Write into ``order`` (int64, n elements, n <= ``MAX_ROWS``) what ``rng.permutation(n)``
    returns, advancing the state ``words`` as that call advances the generator. Written for
    Numba (``fused`` compiles it into its kernel): unsigned 64-bit arithmetic that wraps, the
    state held in locals."""
    high, low, inc_high, inc_low, has_uint32, uinteger = words[0], words[1], words[2], words[3], words[4], words[5]
    n = order.size
    for i in range(n):
        order[i] = i
    for i in range(n - 1, 0, -1):
        bound = np.uint64(i)
        mask = bound
        for shift in (1, 2, 4, 8, 16):
            mask |= mask >> np.uint64(shift)
        while True:
            if has_uint32:
                has_uint32, value = _ZERO, uinteger
            else:
                # state = state * multiplier + increment (mod 2**128); the high word of low x the
                # multiplier's low word comes from 32-bit halves
                a0, a1 = low & _LOW32, low >> _32
                b0, b1 = _MULTIPLIER_LOW & _LOW32, _MULTIPLIER_LOW >> _32
                middle = ((a0 * b0) >> _32) + ((a0 * b1) & _LOW32) + ((a1 * b0) & _LOW32)
                high = (a1 * b1 + ((a0 * b1) >> _32) + ((a1 * b0) >> _32) + (middle >> _32)
                        + low * _MULTIPLIER_HIGH + high * _MULTIPLIER_LOW + inc_high)
                product_low = low * _MULTIPLIER_LOW
                low = product_low + inc_low
                high += _ONE if low < product_low else _ZERO
                mixed = high ^ low
                turn = high >> _58
                output = (mixed >> turn) | (mixed << ((_64 - turn) & _63))
                has_uint32, uinteger, value = _ONE, output >> _32, output & _LOW32
            value &= mask
            if value <= bound:
                break
        j = np.int64(value)
        order[i], order[j] = order[j], order[i]
    words[0], words[1], words[4], words[5] = high, low, has_uint32, uinteger
