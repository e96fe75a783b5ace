"""One item, run in the process that calls :func:`execute`: a Ray worker, or ``python -m
unseen.batch.worker`` started by the local engine (tasks as JSON lines on stdin, results on stdout).

The item goes through the single-file command's own parser and call (``cli.parse_job``,
``cli.run_job``), so its output is what ``unseen JOB INPUT -o OUTPUT OPTIONS`` writes, atomically. The
result is a dict of plain values (it crosses a pipe or Ray's object store); nothing is raised.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import warnings
from pathlib import Path

from unseen import cli
from unseen.batch.state import content_hash, stat_signature
from unseen.errors import InputError, UnseenWarning
from unseen.media import open_clip
from unseen.signals import signals_interrupt

# Test hook: a worker whose item's input name contains this text kills itself with SIGKILL, as the
# kernel's out-of-memory killer would. The driver passes it in the task (a worker started earlier, or a
# Ray worker, does not see the driver's environment). tests/test_batch.py uses it to show that a dead
# worker costs only its item.
KILL_HOOK = "UNSEEN_BATCH_TEST_KILL"
# Warnings kept per item in the report (a mask warning on each of 10,000 frames helps nobody).
_MAX_WARNINGS = 5


def set_threads(threads: int) -> None:
    """Give the libraries of this process ``threads`` threads each, so parallel items do not fight over
    cores. The environment covers OpenMP and BLAS pools started later (torch is imported only by
    segmenters); what is loaded already is told directly."""
    from unseen.batch.engines import thread_env

    os.environ.update(thread_env(threads))
    import cv2

    cv2.setNumThreads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def execute(task: dict) -> dict:
    """Run the item described by ``task`` (``input``, ``job``, ``options``, ``output``, ``cwd``,
    ``threads``) here; the report fields: status, error, seconds, frames, fps, peak memory, input hash."""
    started = time.monotonic()
    reset_peak_memory()
    set_threads(task["threads"])
    if task.get("kill") and task["kill"] in Path(task["input"]).name:
        os.kill(os.getpid(), signal.SIGKILL)
    os.chdir(task["cwd"])  # options name files relative to the manifest
    result: dict = {"status": "failed", "error": None, "permanent": False}
    try:
        result["input_stat"] = stat_signature(task["input"])
        result["input_hash"] = content_hash(task["input"])
        args = cli.parse_job(task["job"], task["input"], task["output"], list(task["options"]))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnseenWarning)
            cli.run_job(args)
        result["warnings"] = [str(w.message) for w in caught if issubclass(w.category, UnseenWarning)][:_MAX_WARNINGS]
        result["status"] = "done"
        result["frames"] = _frames(Path(task["output"]))
    except InputError as error:  # bad input stays bad: not retried
        result.update(error=one_line(error), permanent=True)
    except MemoryError:
        result["error"] = "out of memory"
    except Exception as error:  # a bug or a library's failure on this file: recorded, the batch goes on
        result["error"] = f"{type(error).__name__}: {one_line(error)}"
    result["seconds"] = time.monotonic() - started
    result["peak_mb"] = peak_memory_mb()
    return result


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _frames(output: Path) -> int | None:
    try:
        return open_clip(output, accept_truncated=True).frame_count
    except Exception:  # a count for the report only; the output is complete either way
        return None


def reset_peak_memory() -> None:
    """Start measuring this process's peak memory afresh (Linux), so that a worker that runs many items
    reports each one's own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:  # not Linux: the peak is the process's, over every item it ran
        pass


def peak_memory_mb() -> float | None:
    """Peak resident memory since :func:`reset_peak_memory` (Linux), else of the whole process (macOS;
    Windows: None)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


def main() -> int:
    """``python -m unseen.batch.worker``: a local engine's worker process. It reads one task a line on stdin
    and answers each with one result line, until stdin closes; imports (and loaded models) serve every item
    it runs, and whatever kills it costs the item it was running only."""
    # Results go to the real stdout; anything a library prints on fd 1 meanwhile goes to stderr.
    results = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    try:
        with signals_interrupt():  # SIGTERM from a stopping batch deletes the temporary output, as Ctrl-C does
            for line in sys.stdin:
                results.write(json.dumps(execute(json.loads(line))) + "\n")
                results.flush()
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
