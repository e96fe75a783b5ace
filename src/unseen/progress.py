"""Progress bars for long work: shown on stderr only when a job takes more than a second."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

# Seconds between redraws while no item arrives: the video engine emits nothing until its first window
# of frames is filled (tens of seconds on a large video), and a bar that does not move looks hung.
_TICK = 1.0


def progress(items: Iterable[T], total: int | None, desc: str, enabled: bool) -> Iterator[T]:
    """Iterate over ``items`` with a bar (rate and ETA) when ``enabled``; silent otherwise.

    The bar appears after a second and its elapsed time keeps counting between items, however long they
    take to come.
    """
    if not enabled:
        yield from items
        return
    bar = tqdm(items, total=total, desc=desc, unit="frame", delay=1.0, dynamic_ncols=True, leave=False)
    stop = threading.Event()
    ticker = threading.Thread(target=_tick, args=(bar, stop), daemon=True)
    ticker.start()
    try:
        yield from bar
    finally:
        stop.set()
        ticker.join()
        bar.close()


def _tick(bar: tqdm, stop: threading.Event) -> None:
    # The first wait also stands for tqdm's own ``delay``, which only counts when an item arrives.
    while not stop.wait(_TICK):
        bar.refresh()
