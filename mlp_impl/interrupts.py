"""Ctrl-C between training steps, never inside one.

A NumPy step is a few dozen calls, and Python raises KeyboardInterrupt between any two of them:
an interrupt inside the optimizer's update would leave some pieces of the parameters updated and
the others not, with the update already counted. During a fit, a SIGINT that lands inside a step
is therefore held until the step ends, then handed to the handler that was there before (Python's
raises KeyboardInterrupt). Outside a step (the callback, the epoch's bookkeeping), a second press
inside the same step, or a fit that ends with an error while one is held: at once. Only the main
thread may set a signal handler, so a fit in another thread keeps Python's behaviour; a fit
inside another's callback (a copy's) shares the outer fit's hold.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator


class Steps:
    """``begin()`` and ``end()`` around each step; a SIGINT between them waits for ``end()``."""

    def __init__(self, previous: Callable[[int, Any], Any] | None = None) -> None:
        self.previous, self.in_step, self.pending = previous, False, None

    def handle(self, signum: int, frame: Any) -> None:
        if self.in_step and self.pending is None:
            self.pending = (signum, frame)
        else:  # between steps, or pressed again during one: at once
            self.pending = None
            self.previous(signum, frame)

    def begin(self) -> None:
        self.in_step = True

    def end(self) -> None:
        self.in_step = False
        self.pass_on()

    def pass_on(self) -> None:
        if self.pending is not None:
            signum, frame = self.pending
            self.pending = None
            self.previous(signum, frame)  # Python's own raises KeyboardInterrupt


_ACTIVE: list[Steps] = []  # the main thread's hold while a fit runs (a nested fit shares it)


def held() -> bool:
    """Whether a SIGINT waits for the step it landed in to end: a stop asked for another way then
    (a launcher's SIGTERM) must not be passed on as a second press, which would not wait."""
    return any(steps.pending is not None for steps in _ACTIVE)


@contextlib.contextmanager
def held_during_steps() -> Iterator[Steps]:
    """The fit's ``Steps``: SIGINT held inside steps where a Python handler is in place and this is
    the main thread; elsewhere its calls change nothing."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield Steps()
        return
    if _ACTIVE and previous == _ACTIVE[-1].handle:  # a fit inside another fit's callback
        yield _ACTIVE[-1]
        return
    steps = Steps(previous)
    _ACTIVE.append(steps)
    signal.signal(signal.SIGINT, steps.handle)
    try:
        yield steps
    finally:
        _ACTIVE.remove(steps)
        if signal.getsignal(signal.SIGINT) == steps.handle:  # one a callback set stays
            signal.signal(signal.SIGINT, previous)
        steps.in_step = False
        steps.pass_on()  # one held when the fit ended, normally or by an error: Ctrl-C wins
