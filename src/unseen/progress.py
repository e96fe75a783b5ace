"""Progress bars for long work: shown on stderr only when a job takes more than a second."""

from __future__ import annotations

import contextlib
import contextvars
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

# Seconds between redraws while no item arrives: the video engine emits nothing until its first window
# of frames is filled (tens of seconds on a large video), and a bar that does not move looks hung.
_TICK = 1.0
# Seconds before the bar appears: quick jobs print nothing.
_DELAY = 1.0
# Seconds between redraws when stderr is not a terminal: a log (CI, a pipe, a file) keeps every redraw as
# a line of its own (a 530-photo `unseen cutout` wrote thousands).
_LOG_INTERVAL = 30.0


def say(line: str) -> None:
    """Print ``line`` on stderr, above the bar if one is on screen (a plain print would land on the bar's own line,
    after its text). Only then through ``tqdm.write``: it draws every bar again, also one still in its delay,
    which tqdm then never clears."""
    on_screen = any(not bar.disable and bar.last_print_t >= bar.start_t + bar.delay for bar in list(tqdm._instances))
    if on_screen:
        tqdm.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr)


def redraw_interval() -> float:
    """Seconds between a bar's redraws: a terminal's redraw in place; a log gets a line every half minute."""
    return 0.1 if sys.stderr.isatty() else _LOG_INTERVAL

# What work inside a batch of items reports to (the bar being shown, if any).
_ahead: contextvars.ContextVar[Callable[[float], None] | None] = contextvars.ContextVar("ahead", default=None)
# Whether the bar of the work under way is shown: passes within that work then show bars of their own.
_shown: contextvars.ContextVar[bool] = contextvars.ContextVar("shown", default=False)
# Who else hears of the progress (done, total), with or without a bar: the web app's jobs.
_listener: contextvars.ContextVar[Callable[[int, int | None], None] | None] = contextvars.ContextVar(
    "listener", default=None)


@contextlib.contextmanager
def listening(callback: Callable[[int, int | None], None]) -> Iterator[None]:
    """Within the block, every :func:`progress` also calls ``callback(done, total)`` as its count moves
    (whether or not a bar is shown)."""
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


def progress(items: Iterable[T], total: int | None, desc: str, enabled: bool) -> Iterator[T]:
    """Iterate over ``items`` with a bar (rate and ETA) when ``enabled``; silent otherwise.

    The bar appears after a second and its elapsed time keeps counting between items, however long they
    take to come. Work that makes items in batches (the video engine's windows) moves it within a batch
    through :func:`report_ahead`.
    """
    listener = _listener.get()
    if not enabled and listener is None:
        yield from items
        return
    bar = tqdm(total=total, desc=desc, unit="frame", delay=_DELAY, dynamic_ncols=True, leave=False,
               disable=not enabled, mininterval=redraw_interval())
    started = time.monotonic()
    done = 0
    # Whole items shown: items out, or more while a batch reports its work ahead of them.
    shown = 0

    def show(count: float) -> None:
        nonlocal shown
        count = min(math.floor(count), total) if total is not None else math.floor(count)
        if count > shown:
            bar.update(count - shown)
            shown = count
            if listener is not None:
                listener(shown, total)

    def ahead(items_worth: float) -> None:
        show(done + items_worth)

    stop = threading.Event()
    ticker = threading.Thread(target=_tick, args=(bar, stop), daemon=True)
    ticker.start()
    token, shown_token = _ahead.set(ahead), _shown.set(enabled)
    try:
        for item in items:
            done += 1
            show(done)
            yield item
        # tqdm redraws at most every 0.1 s, so the last items often go uncounted on screen; a log (where
        # the bar's lines stay) would end at 99/100. The bar is drawn once more with all of them.
        if enabled and time.monotonic() - started >= _DELAY:
            _draw(bar)
    finally:
        try:
            _ahead.reset(token)
            _shown.reset(shown_token)
        except ValueError:  # closed from another context (abandoned, then collected)
            _ahead.set(None)
            _shown.set(False)
        stop.set()
        ticker.join()
        bar.close()


def first_pass(items: Iterable[T], total: int | None, desc: str) -> Iterator[T]:
    """Iterate over ``items``, a pass that must end before the work under way gives its first item (the
    first reading of a video that follows prompted objects), with a bar of its own under the work's bar
    when that one is shown; silent otherwise."""
    return progress(items, total, desc, _shown.get())


def report_ahead(items_worth: float) -> None:
    """Say that work towards the next items is ``items_worth`` of them done, so that the bar moves before
    a batch of items comes out. Does nothing when no bar is shown."""
    ahead = _ahead.get()
    if ahead is not None:
        ahead(items_worth)


def _tick(bar: tqdm, stop: threading.Event) -> None:
    # The first wait also stands for tqdm's own ``delay``, which only counts when an item arrives.
    while not stop.wait(max(_TICK, redraw_interval())):
        _draw(bar)


def _draw(bar: tqdm) -> None:
    """Redraw ``bar`` now, as drawn: tqdm clears at its close only a bar it knows it printed, and it counts
    only its own timed prints; in a log (one print every 30 s) the message after the job would otherwise
    follow the bar on its line."""
    bar.refresh()
    bar.last_print_t = time.time()  # tqdm's clock (``start_t`` is on it too)
