"""Ctrl-C between training steps, never inside one.

A NumPy step is a few dozen calls, and Python raises KeyboardInterrupt between any two of them:
an interrupt inside the optimizer's update would leave some pieces of the parameters updated and
the others not, with the update already counted. During a fit, SIGINT is therefore held until
the step ends, then handed to whatever handler was there before (Python's raises
KeyboardInterrupt). Only the main thread may set a signal handler, so a fit in another thread
keeps Python's behaviour.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator


@contextlib.contextmanager
def held_until_step_ends() -> Iterator[Callable[[], None]]:
    """A function to call after each step: it passes on a SIGINT that arrived during the step (one
    during the last step is passed on when the fit ends). Held only where a Python handler is in
    place (Python's own by default) and in the main thread; elsewhere nothing changes."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield lambda: None
        return
    pending: list[tuple[int, Any]] = []

    def pass_on() -> None:
        if pending:
            signum, frame = pending[-1]
            pending.clear()
            previous(signum, frame)  # Python's own raises KeyboardInterrupt

    signal.signal(signal.SIGINT, lambda signum, frame: pending.append((signum, frame)))
    try:
        yield pass_on
    finally:
        signal.signal(signal.SIGINT, previous)
    pass_on()
