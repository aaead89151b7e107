"""L1 and L2 weight penalties on every layer's kernel (not on biases), as Keras's
``kernel_regularizer=L1L2(l1, l2)``: penalty = l1 * sum|W| + l2 * sum(W^2), added to the loss;
gradient l1 * sign(W) + 2 * l2 * W, added to the kernel gradients before the optimizer step.

A 0/1 mask over the flat parameter buffer marks the kernel entries, so the penalty is a few
whole-buffer calls however many layers there are.
"""

from __future__ import annotations

from typing import Any

from .backend import Backend
from .validation import non_negative_float


class Penalty:
    """The L1/L2 kernel penalty of one network, bound to its flat buffers."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = non_negative_float("l1", l1)
        self.l2 = non_negative_float("l2", l2)

    @property
    def active(self) -> bool:
        """Whether there is anything to add (a zero penalty costs nothing per step)."""
        return bool(self.l1 or self.l2)

    def build(self, bk: Backend, params: Any, grads: Any, kernel_mask: Any) -> None:
        """Bind the flat buffers; ``kernel_mask`` is 1 on kernel entries and 0 on biases."""
        # the backend, not its module: a module cannot be pickled
        self._bk, self.params, self.grads = bk, params, grads
        self.mask = kernel_mask
        self.tmp = bk.xp.empty_like(params)

    def loss(self) -> Any:
        """The penalty at the current weights, as a 0-d device value."""
        xp, tmp = self._bk.xp, self.tmp
        total = 0.0
        if self.l2:
            xp.multiply(self.params, self.mask, tmp)
            total = total + xp.vdot(tmp, tmp) * self.l2
        if self.l1:
            xp.abs(self.params, tmp)
            total = total + xp.vdot(tmp, self.mask) * self.l1
        return total

    def apply(self) -> Any:
        """One training step's share: add the gradient in place, return the penalty (taken
        at the weights the step's loss used, before the update)."""
        return self._apply(self.params, self.grads, self.mask, self.tmp)

    def apply_range(self, start: int, stop: int) -> Any:
        """``apply`` on the flat range [start, stop) only: one layer's block, for the article's
        backprop, where each layer is updated before the layer below is reached."""
        views = (a[start:stop] for a in (self.params, self.grads, self.mask, self.tmp))
        return self._apply(*views)

    def _apply(self, params: Any, grads: Any, mask: Any, tmp: Any) -> Any:
        xp = self._bk.xp
        total = 0.0
        if self.l2:
            xp.multiply(params, mask, tmp)
            total = total + xp.vdot(tmp, tmp) * self.l2
            xp.multiply(tmp, 2.0 * self.l2, tmp)
            xp.add(grads, tmp, grads)
        if self.l1:
            xp.abs(params, tmp)
            total = total + xp.vdot(tmp, mask) * self.l1
            xp.sign(params, tmp)
            xp.multiply(tmp, mask, tmp)
            xp.multiply(tmp, self.l1, tmp)
            xp.add(grads, tmp, grads)
        return total
