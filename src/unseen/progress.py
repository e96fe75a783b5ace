"""Progress bars for long work: shown on stderr only when a job takes more than a second."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], total: int | None, desc: str, enabled: bool) -> Iterator[T]:
    """Iterate over ``items`` with a bar (rate and ETA) when ``enabled``; silent otherwise."""
    if not enabled:
        yield from items
        return
    bar = tqdm(items, total=total, desc=desc, unit="frame", delay=1.0, dynamic_ncols=True, leave=False)
    try:
        yield from bar
    finally:
        bar.close()
