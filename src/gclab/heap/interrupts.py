"""Ctrl-C never lands half way through an engine step.

CPython checks for signals between bytecodes, never inside C code: a ``KeyboardInterrupt``
arriving during a deallocation or a collection surfaces when the C call returns, or inside
Python code that the call runs (a ``__del__``, where it is reported as unraisable and
swallowed). gclab's engine is Python code, so a signal could otherwise interrupt it between
two writes of one step (half a list link, a count without its slot) and leave the heap
broken. So, while engine code runs on the main thread, gclab's SIGINT handler only notes the
signal; when the outermost entry point returns, the signal is raised again and Python's own
handler raises ``KeyboardInterrupt`` in the caller's code, after the operation completed. User
code that the engine runs meanwhile is not engine code: a signal pending when a finalizer or
callback starts is delivered inside it, where it is reported like any exception of user code.

The handler is installed when a heap is made on the main thread and SIGINT still has Python's
default handler; a program that installs its own SIGINT handler keeps it, and gets no
deferral. A KeyboardInterrupt that lands on the first bytecodes of an entry point, before it
takes the heap, changes nothing; one that lands there in a dying proxy's release callback
would lose the release, so heaps give such releases back at their next entry point.

>>> INTERRUPTS.busy
0
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class Interrupts:
    """The deferral state: engine depth on the main thread, and a SIGINT that waits."""

    __slots__ = ("busy", "installed", "main", "pending", "raised")

    def __init__(self) -> None:
        self.busy = 0  # entry points and operations in progress on the main thread
        self.pending = False  # a SIGINT arrived while busy
        self.installed = False
        self.main = threading.main_thread().ident
        # KeyboardInterrupts raised outside engine code: one may have cut a proxy's release
        # callback short before it took the heap; heaps recover at their next entry point
        self.raised = 0

    def handler(self, signum: int, frame: FrameType | None) -> None:
        """gclab's SIGINT handler: Python's own, unless engine code is running."""
        if self.busy:
            self.pending = True
            return
        self.raised += 1
        signal.default_int_handler(signum, frame)

    def enter(self) -> bool:
        """An entry point or operation starts; True if it is counted (main thread)."""
        if self.installed and threading.get_ident() == self.main:
            self.busy += 1
            return True
        return False

    def leave(self) -> None:
        """A counted entry point or operation ends: at the outermost, a waiting SIGINT is
        raised again, to be handled at the caller's next bytecode."""
        self.busy -= 1
        if not self.busy and self.pending:
            self.pending = False
            raise KeyboardInterrupt  # the operation is complete: the caller gets it now

    def user_code(self) -> None:
        """User code starts: it is not engine code, so the depth goes to 0 (the caller gives
        it back afterwards). A waiting SIGINT is raised here, at the start of the user code
        (the caller reports it as the user code's exception, as CPython would)."""
        self.busy = 0
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


INTERRUPTS = Interrupts()


def install() -> None:
    """Install the handler (once, from the main thread, over Python's default handler)."""
    if INTERRUPTS.installed or threading.get_ident() != INTERRUPTS.main:
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, INTERRUPTS.handler)
        INTERRUPTS.installed = True


__all__ = ["INTERRUPTS", "Interrupts", "install"]
