"""``pcg64.permute``, compiled as the whole-epoch kernel compiles it, against NumPy's own
``Generator.permutation``: the same orders, and the generator left in the same state."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_numba

from mlp_impl import pcg64


@pytest.fixture(scope="module")
def permute():
    require_numba()
    import numba
    return numba.njit(pcg64.permute)


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3])
def test_orders_and_the_state_after_them_are_numpys(permute, seed: int) -> None:
    """Sizes 0 to 70,000 in turn, so odd counts of 32-bit draws leave half a 64-bit output
    kept (has_uint32) for the next permutation, as in NumPy."""
    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    words = pcg64.state_of(ours)
    for n in [600, 0, 1, 2, 3, 600, 70000, 5, 2, 600] * 3:
        order = np.empty(n, dtype=np.int64)
        permute(order, words)
        np.testing.assert_array_equal(order, numpys.permutation(n))
    pcg64.restore(ours, words)
    assert ours.bit_generator.state == numpys.bit_generator.state
    assert ours.integers(0, 2**63, 4).tolist() == numpys.integers(0, 2**63, 4).tolist()


def test_state_words_round_trip_with_a_kept_half() -> None:
    rng = np.random.default_rng(11)
    rng.integers(0, 10, dtype=np.uint32)  # one 32-bit draw: the high half kept
    state = rng.bit_generator.state
    assert state["has_uint32"] == 1
    words = pcg64.state_of(rng)
    assert words.dtype == np.uint64 and words.size == len(pcg64.STATE_WORDS)
    other = np.random.default_rng(0)
    pcg64.restore(other, words)
    assert other.bit_generator.state == state


def test_only_pcg64_and_32_bit_indices_are_followed() -> None:
    assert pcg64.supports(np.random.default_rng(0), 600)
    assert pcg64.supports(np.random.default_rng(0), pcg64.MAX_ROWS)
    assert not pcg64.supports(np.random.default_rng(0), pcg64.MAX_ROWS + 1)
    assert not pcg64.supports(np.random.Generator(np.random.MT19937(0)), 600)
    assert not pcg64.supports(np.random.Generator(np.random.PCG64DXSM(0)), 600)


def test_a_held_state_is_written_back_once_on_release_to_its_own_generator(permute) -> None:
    """``hold`` notes that words carry a generator's state (``holds``); ``release`` writes them (as
    they are then, not as when held) into that generator alone, once; releasing what was never
    held, or again, changes nothing."""
    ours, other, numpys = (np.random.default_rng(3) for _ in range(3))
    words = pcg64.state_of(ours)
    permute(np.empty(600, dtype=np.int64), words)
    pcg64.hold(ours, words)
    assert pcg64.holds(ours, words) and not pcg64.holds(other, words) and not pcg64.holds(ours, words.copy())
    permute(np.empty(600, dtype=np.int64), words)  # drawn after hold, still written back
    numpys.permutation(600), numpys.permutation(600)
    untouched = other.bit_generator.state
    pcg64.release(other)
    assert other.bit_generator.state == untouched
    pcg64.release(ours)
    assert ours.bit_generator.state == numpys.bit_generator.state and not pcg64.holds(ours, words)
    ours.random(3)  # draws after the release are kept: nothing is held any more
    after = ours.bit_generator.state
    pcg64.release(ours)
    assert ours.bit_generator.state == after


def test_a_write_back_that_fails_keeps_the_state_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted inside NumPy's state setter, ``release`` leaves the words held, so the next
    release still writes them back instead of losing the draws."""
    rng, ahead = np.random.default_rng(5), np.random.default_rng(5)
    ahead.permutation(7)  # the state a kernel's draws would leave
    words = pcg64.state_of(ahead)
    pcg64.hold(rng, words)

    def interrupted(*arguments):
        raise KeyboardInterrupt

    monkeypatch.setattr(pcg64, "restore", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pcg64.release(rng)
    assert pcg64.holds(rng, words)
    monkeypatch.undo()
    pcg64.release(rng)
    assert not pcg64.holds(rng, words) and rng.bit_generator.state == ahead.bit_generator.state
