"""A batch from start to end: read and check the items, skip the finished, run the rest, report."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from tqdm import tqdm

from unseen.batch import engines
from unseen.batch.manifest import Item, read_items
from unseen.batch.report import build_report, write_report
from unseen.batch.state import State, options_key
from unseen.batch.worker import KILL_HOOK
from unseen.errors import InputError
from unseen.media.atomic import remove_stale_parts
from unseen.progress import redraw_interval

ENGINES = ("local", "ray")
# Memory reserved for a Ray item when its frame size cannot be read: the libraries and a window of frames.
_BASE_MB = 500
# The video engine holds a window of 56 frames, and its flows and masks cost about 4 frames' bytes more
# per frame (docs/benchmarks.md: 864 MiB peak at 854x480, whatever the length).
_WINDOW_BYTES_PER_PIXEL = 56 * 3 * 5


def run_batch(items: str | os.PathLike | Iterable[Mapping | str], out: str | os.PathLike, *, job: str | None = None,
              options: Iterable[str] = (), engine: str = "local", workers: int | None = None,
              threads: int | None = None, memory_mb: int | None = None, address: str | None = None,
              retries: int = 1, resume: bool = True, show_progress: bool = False) -> dict:
    """See :func:`unseen.batch` (the API): returns the report, also written to ``out/report.json``."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    for name, value in (("workers", workers), ("threads", threads), ("memory", memory_mb)):
        if value is not None and value < 1:
            raise InputError(f"--{name} must be 1 or more, got {value}")
    if retries < 0:
        raise InputError(f"--retries must be 0 or more, got {retries}")
    if engine == "ray":
        engines.import_ray()  # a missing Ray is said before any work
    out = Path(os.path.abspath(out))
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: OUT must be a folder")
    batch = read_items(items, out, job, options)
    cores = os.cpu_count() or 1
    if engine == "local":
        workers = workers or max(1, cores // 2)
        threads = threads or max(1, cores // workers)
    else:
        threads = threads or 1
    out.mkdir(parents=True, exist_ok=True)
    state = State(out)
    started = time.monotonic()
    entries: list[dict | None] = [None] * len(batch)
    keys = [options_key(item) for item in batch]
    todo = []
    for index, item in enumerate(batch):
        earlier = state.finished(item, keys[index]) if resume else None
        if earlier is not None:
            entries[index] = {**earlier, "status": "skipped", "where": item.where}
        else:
            todo.append(index)
    tasks = [_task(batch[i], threads) for i in todo]
    if engine == "local":
        results = engines.run_local(tasks, workers, retries)
    else:
        memory = [memory_mb or _memory_hint(batch[i]) for i in todo]
        results = engines.run_ray(tasks, workers, retries, address, memory)
    bar = tqdm(total=len(tasks), desc="batch", unit="item", delay=1.0, dynamic_ncols=True, leave=False,
               disable=not show_progress or not tasks, mininterval=redraw_interval())
    frames = failed = 0
    try:
        with contextlib.closing(results), bar:
            for position, result in results:
                index = todo[position]
                entry = _entry(batch[index], keys[index], result)
                state.record([entry])  # at once: a batch killed later keeps what it finished
                entries[index] = entry
                frames += entry.get("frames") or 0
                failed += entry["status"] == "failed"
                bar.set_postfix_str(f"{frames} frames, {frames / (time.monotonic() - started):.1f}/s"
                                    + (f", {failed} failed" if failed else ""), refresh=False)
                bar.update()
    finally:
        # Stopped or not, the report says where things stand; items not reached say so.
        for index, item in enumerate(batch):
            if entries[index] is None:
                entries[index] = {**_describe(item, keys[index]), "status": "not run"}
        report = build_report(entries, out, engine, workers, threads, time.monotonic() - started)
        write_report(report)
        # A worker killed while writing (out of memory) left its temporary output; its pid is gone now.
        for folder in {batch[index].output.parent for index in todo}:
            remove_stale_parts(folder)
    return report


def _task(item: Item, threads: int) -> dict:
    device = next((b for a, b in zip(item.options, item.options[1:], strict=False) if a == "--device"), "")
    return {"input": str(item.input), "job": item.job, "options": list(item.options), "output": str(item.output),
            "cwd": str(item.cwd), "threads": threads, "gpu": device.startswith("cuda"),
            "kill": os.environ.get(KILL_HOOK)}


def _describe(item: Item, key: str) -> dict:
    return {"output": str(item.output), "input": str(item.input), "where": item.where, "job": item.job,
            "options": list(item.options), "options_key": key}


def _entry(item: Item, key: str, result: dict) -> dict:
    entry = {**_describe(item, key), **result}
    frames, seconds = entry.get("frames"), entry.get("seconds")
    entry["fps"] = round(frames / seconds, 3) if frames and seconds else None
    if entry.get("seconds") is not None:
        entry["seconds"] = round(entry["seconds"], 3)
    return entry


def _memory_hint(item: Item) -> int:
    """MB a Ray item reserves: the libraries plus the video engine's window at the input's frame size."""
    from unseen.media import open_clip

    try:
        width, height = open_clip(item.input).size
    except Exception:  # unreadable here: the worker will say why; reserve a typical amount meanwhile
        return 2 * _BASE_MB
    return _BASE_MB + (width * height * _WINDOW_BYTES_PER_PIXEL >> 20)
