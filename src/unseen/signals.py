"""Stopping the command: Ctrl-C, SIGTERM and SIGHUP end it alike, with one line and the shell's exit status.

While the command runs, TERM and HUP raise :class:`Interrupted` (a ``KeyboardInterrupt``) where Ctrl-C
raises ``KeyboardInterrupt``, so the same clean-up runs for all three: temporary outputs are deleted, a
training run keeps ``last.pt``. Before that, while the heavy modules load (a few tenths of a second),
there is nothing to clean up and a traceback from the middle of an import helps nobody:
:func:`exit_quietly_on_signals` ends the process at once with one line.

This module imports nothing heavy, so that it can be installed first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

# The signals that stop the command, and what they are called in its message.
_NAMES = {signal.SIGINT: "interrupted"}
_NAMES.update({getattr(signal, name): "terminated" if name == "SIGTERM" else "hung up"
               for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)})


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: handled wherever Ctrl-C is."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def exit_status(error: KeyboardInterrupt) -> int:
    """The status a shell gives a process stopped by the signal behind ``error``: 128 + its number."""
    return 128 + (error.signum if isinstance(error, Interrupted) else signal.SIGINT)


def describe(error: KeyboardInterrupt) -> str:
    """``interrupted``, ``terminated`` or ``hung up``: what stopped the command, for its last line."""
    return _NAMES.get(error.signum if isinstance(error, Interrupted) else signal.SIGINT, "interrupted")


@contextlib.contextmanager
def _handlers(handler) -> Iterator[None]:
    """Install ``handler`` for every stopping signal in the block, then put back what was there. Only the
    main thread may set handlers: elsewhere (the command run from a thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in _NAMES}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def exit_quietly_on_signals() -> Iterator[None]:
    """In the block (imports), a stopping signal ends the process with one line and status 128 + signal."""

    def stop(signum: int, _frame) -> None:
        with contextlib.suppress(OSError):  # no stderr left to say it on
            os.write(2, f"unseen: {_NAMES[signum]}\n".encode())
        os._exit(128 + signum)

    with _handlers(stop):
        yield


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """In the block, SIGTERM and SIGHUP raise :class:`Interrupted` and Ctrl-C ``KeyboardInterrupt``.

    Once stopping, a repeated TERM or HUP (a service manager's, a closing terminal's) is ignored so that the
    clean-up finishes; a second Ctrl-C still interrupts it, as a user pressing it twice means.
    """
    stopping = False

    def stop(signum: int, _frame) -> None:
        nonlocal stopping
        if signum == signal.SIGINT:
            stopping = True
            raise KeyboardInterrupt
        if not stopping:
            stopping = True
            raise Interrupted(signum)

    with _handlers(stop):
        yield
