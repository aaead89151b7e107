"""One training step on preallocated buffers: the hot loop of ``NN.fit``.

A ``Workspace`` holds every array one minibatch size needs and, once, turns the network into
two flat lists of zero-argument in-place calls (forward and backward), so a step is: gather the
batch, run the lists, add the penalty, step the optimizer. Nothing is allocated per step and the
loss stays on the device (a 0-d value) until the epoch ends.

Layout trick: each layer's kernel and bias are one contiguous (in + 1, out) block [W; b] of the
flat parameter buffer, and the activation buffers of hidden layers carry a trailing column of
ones (and so do the data rows when the training set is small enough to copy once per fit:
``NN.AUGMENT_MAX_BYTES``; a large set is read as is and layer 1 adds its bias separately).
Then the forward pass is one matrix product per layer (no separate bias add) and the kernel and
bias gradients come out of one product too: [a, 1]^T delta = [a^T delta; sum(delta)].
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from . import activations, losses

Op = Callable[[], Any]


class Workspace:
    """Buffers and call lists for minibatches of ``m`` rows.

    Parameters
    ----------
    net : the built ``NN`` (provides backend, widths, activations, parameter and gradient blocks).
    m : rows per minibatch.
    augmented : whether the data rows carry a trailing ones column (see ``NN``).
    grads : flat gradient buffer to write (default the network's own); a part of a split
        minibatch (``parallel``) writes its own and they are summed.
    total_rows : rows the loss is averaged over (default ``m``; a part's batch is larger).
    penalty : whether ``compute`` adds the L1/L2 penalty (a split step adds it once, after the sum).
    """

    def __init__(self, net: Any, m: int, augmented: bool = False, *, grads: Any = None,
                 total_rows: int | None = None, penalty: bool = True) -> None:
        self.bk, self.m, self.augmented = net.backend, m, augmented
        self.acts = [layer.activation for layer in net.layers]
        self.blocks = net.param_blocks
        self.grad_blocks = net.grad_blocks if grads is None else net.blocks_of(grads)
        self._allocate(net.widths, net.dtype)
        self._activation, make_head = activations.get, losses.make_head
        if net.kernels == "fused":
            from . import fused

            self._activation, make_head = fused.activation, fused.make_head
        self.head = make_head(
            self.bk, net.loss, self.acts[-1], self.zs[-1], self.p, self.yb, self.deltas[-1], self.tmps[-1],
            rows=total_rows, gradient=net.loss_gradient,
        )
        self.forward = self._forward_ops() + self.head.forward
        self.grad_ops, self.prop_ops = self._layer_backward_ops()
        self.backward = list(self.head.delta) + self._backward_ops()
        self._take = self.bk.take_rows
        self._loss = self.head.loss
        self._penalty = net.penalty.apply if penalty and net.penalty.active else None
        self._optimizer_step = net.optimizer.step
        self.article = net.backprop == "article"
        if self.article:  # per-layer updates: each block's optimizer pieces and penalty range
            self._optimizer = net.optimizer
            self.ranges = net.block_ranges
            self.block_pieces = [net.optimizer.pieces(start, stop) for start, stop in self.ranges]
            self._penalty_range = net.penalty.apply_range if net.penalty.active else None

    def _allocate(self, widths: list[int], dtype: Any) -> None:
        """Batch, pre-activation, delta and scratch buffers; hidden outputs with a ones column."""
        xp, m = self.bk.xp, self.m
        self.xb = xp.empty((m, widths[0] + self.augmented), dtype=dtype)
        self.yb = xp.empty((m, widths[-1]), dtype=dtype)
        self.p = xp.empty((m, widths[-1]), dtype=dtype)
        self.zs = [xp.empty((m, units), dtype=dtype) for units in widths[1:]]
        self.deltas = [xp.empty((m, units), dtype=dtype) for units in widths[1:]]
        self.tmps = [xp.empty((m, units), dtype=dtype) for units in widths[1:]]
        self.inputs = [self.xb]  # input of layer l
        for units in widths[1:-1]:
            buf = xp.empty((m, units + 1), dtype=dtype)
            buf[:, units] = 1
            self.inputs.append(buf)
        self.ones = xp.ones(m, dtype=dtype)

    def _outputs(self, l: int) -> Any:
        """Where hidden layer l writes its activation: its successor's input, ones excluded."""
        return self.inputs[l + 1][:, : self.zs[l].shape[1]]

    def _forward_ops(self) -> list[Op]:
        xp, blocks, zs = self.bk.xp, self.blocks, self.zs
        if self.augmented:  # the data rows carry the ones column: layer 1 is like the others
            ops: list[Op] = [partial(xp.dot, self.xb, blocks[0], zs[0])]
        else:  # plain rows: layer 1 adds its bias
            ops = [partial(xp.dot, self.xb, blocks[0][:-1], zs[0]), partial(xp.add, zs[0], blocks[0][-1], zs[0])]
        for l in range(len(zs) - 1):
            ops += self._activation(self.acts[l]).forward_ops(self.bk, zs[l], self._outputs(l))
            ops.append(partial(xp.dot, self.inputs[l + 1], blocks[l + 1], zs[l + 1]))
        return ops

    def _layer_backward_ops(self) -> tuple[list[list[Op]], list[list[Op]]]:
        """Per layer l: the calls that write its gradient block from its delta, and the calls that
        send the delta to layer l - 1 through its kernel (none for layer 1: no gradient for the
        network's input)."""
        xp, deltas, grads = self.bk.xp, self.deltas, self.grad_blocks
        grad_ops = [[partial(xp.dot, self.inputs[l].T, deltas[l], grads[l])] for l in range(len(self.zs))]
        if not self.augmented:  # plain rows: bias gradient as ones^T delta
            grad_ops[0] = [partial(xp.dot, self.xb.T, deltas[0], grads[0][:-1]),
                           partial(xp.dot, self.ones, deltas[0], grads[0][-1])]
        prop_ops: list[list[Op]] = [[]]
        for l in range(1, len(self.zs)):
            act = self._activation(self.acts[l - 1])
            back = act.backward_ops(self.bk, self.zs[l - 1], self._outputs(l - 1), deltas[l - 1], self.tmps[l - 1])
            prop_ops.append([partial(xp.dot, deltas[l], self.blocks[l][:-1].T, deltas[l - 1])] + back)
        return grad_ops, prop_ops

    def _backward_ops(self) -> list[Op]:
        """From the output delta back to layer 1's gradients, all from the step's starting weights."""
        ops: list[Op] = []
        for l in range(len(self.zs) - 1, -1, -1):
            ops += self.grad_ops[l] + self.prop_ops[l]
        return ops

    def _gather(self, x: Any, y: Any, idx: Any) -> None:
        self._take(x, idx, self.xb)
        self._take(y, idx, self.yb)

    def compute(self, x: Any, y: Any, idx: Any) -> Any:
        """Forward and backward on rows ``idx`` of ``x`` and ``y``: fills the
        network's gradient buffer and returns the batch loss (plus penalty) as a 0-d device value."""
        self._gather(x, y, idx)
        for op in self.forward:
            op()
        loss = self._loss()
        for op in self.backward:
            op()
        if self._penalty is not None:
            loss = loss + self._penalty()
        return loss

    def step(self, x: Any, y: Any, idx: Any, learning_rate: float) -> Any:
        """``compute`` then one optimizer update; returns the loss at the weights before it.
        With ``backprop="article"`` the update is interleaved instead (``article_step``)."""
        if self.article:
            return self.article_step(x, y, idx, learning_rate)
        loss = self.compute(x, y, idx)
        self._optimizer_step(learning_rate)
        return loss

    def article_step(self, x: Any, y: Any, idx: Any, learning_rate: float) -> Any:
        """The article's order: from the top layer down, each layer's gradient is taken, its block
        updated at once, and the delta for the layer below sent through the UPDATED kernel. Layer
        gradients are those of the standard step only for the top layer; lower layers see deltas
        propagated with weights that have already moved (the article's ``Layer.backward``)."""
        self._gather(x, y, idx)
        for op in self.forward:
            op()
        loss = self._loss()
        for op in self.head.delta:
            op()
        optimizer, penalty = self._optimizer, self._penalty_range
        optimizer.begin(learning_rate)
        for l in range(len(self.zs) - 1, -1, -1):
            for op in self.grad_ops[l]:
                op()
            if penalty is not None:
                loss = loss + penalty(*self.ranges[l])
            optimizer.update(self.block_pieces[l])
            for op in self.prop_ops[l]:
                op()
        return loss
