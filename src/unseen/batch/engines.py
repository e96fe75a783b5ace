"""Where items run: ``local`` worker processes, or ``ray`` tasks. Both yield ``(index, result)`` as items
end and retry failed ones themselves; a worker that dies (a crash, the out-of-memory killer) costs only
its item.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator

from unseen.errors import InputError

# Seconds a stopped worker gets to delete its temporary output before it is killed.
_STOP_GRACE_S = 10.0
# Items a local worker process runs before a fresh one takes over: what a long-lived process gathers
# (fragmented memory, cached models of other jobs) does not build up over thousands of items, for the
# price of one start-up (~0.5 s) per this many items.
ITEMS_PER_WORKER = 100


def retry(result: dict, attempt: int, retries: int) -> bool:
    """Whether a failed item gets another attempt: not for bad input, which fails the same way again."""
    return result["status"] != "done" and not result.get("permanent") and attempt <= retries


def died(exitcode: int | None, last_words: str = "") -> dict:
    """The result of a worker that ended without one."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        why = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
        error = f"worker died: killed by {name}{why}"
    else:
        error = f"worker died: exit status {exitcode}"
    return {"status": "failed", "error": error + (f"; it said: {last_words}" if last_words else ""), "permanent": False}


def run_local(tasks: list[dict], workers: int, retries: int) -> Iterator[tuple[int, dict]]:
    """Run the tasks on ``workers`` processes of ``python -m unseen.batch.worker``, one item at a time each.

    Worker processes are fresh Pythons, not forks: nothing of the caller (its main module, its threads)
    is copied into them. Each serves item after item, so imports and loaded models are paid once per
    worker; one that dies (a crash, the out-of-memory killer) fails the item it ran, and a new one
    takes its place."""
    waiting = deque((index, 1) for index in range(len(tasks)))
    idle: list[_Worker] = []
    busy: dict = {}  # stdout pipe -> (worker, index, attempt)
    try:
        while waiting or busy:
            while waiting and len(busy) < workers:
                index, attempt = waiting.popleft()
                worker = idle.pop() if idle else _Worker(tasks[index]["threads"])
                worker.send(tasks[index])
                busy[worker.process.stdout] = (worker, index, attempt)
            # A pipe is ready when its worker answered, or ended without an answer.
            for pipe in multiprocessing.connection.wait(list(busy), timeout=1.0):
                worker, index, attempt = busy.pop(pipe)
                result = worker.receive()
                if result is None:
                    result = worker.died()
                elif worker.served < ITEMS_PER_WORKER:
                    idle.append(worker)
                else:
                    worker.close()
                result["attempts"] = attempt
                if retry(result, attempt, retries):
                    waiting.append((index, attempt + 1))
                else:
                    yield index, result
    finally:
        for worker in idle:
            worker.close()
        _stop([worker for worker, *_ in busy.values()])


class _Worker:
    """A ``python -m unseen.batch.worker`` process: tasks in on stdin, results out on stdout."""

    def __init__(self, threads: int):
        self.served = 0
        # What the worker says on stderr (library messages) is kept aside: its last line explains a crash.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the worker)
        # The thread pools of OpenMP and BLAS are sized before they start.
        self.process = subprocess.Popen([sys.executable, "-m", "unseen.batch.worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr,
                                        env={**os.environ, **thread_env(threads)})

    def send(self, task: dict) -> None:
        self.served += 1
        try:
            self.process.stdin.write((json.dumps(task) + "\n").encode())
            self.process.stdin.flush()
        except OSError:  # it died since its last item: receive() finds it out
            pass

    def receive(self) -> dict | None:
        line = self.process.stdout.readline()
        try:
            return json.loads(line) if line else None
        except json.JSONDecodeError:
            return None

    def died(self) -> dict:
        try:
            self.process.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:  # alive but talking nonsense: it is of no more use
            self.process.kill()
            self.process.wait()
        self.stderr.seek(0)
        lines = self.stderr.read().decode(errors="replace").strip().splitlines()
        self.close()
        return died(self.process.returncode, lines[-1][:200] if lines else "")

    def close(self) -> None:
        """End an idle worker: its stdin closes, its loop ends."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(_STOP_GRACE_S)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.stderr.close()


def thread_env(threads: int) -> dict[str, str]:
    """The environment that sizes the thread pools of OpenMP and BLAS (torch and its kin) at their start."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _stop(workers: list[_Worker]) -> None:
    """Stop busy workers: SIGTERM lets each delete its item's temporary output, as on Ctrl-C."""
    for worker in workers:
        worker.process.terminate()
    deadline = time.monotonic() + _STOP_GRACE_S
    for worker in workers:
        try:
            worker.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.process.kill()
        worker.close()


def import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'unseen[ray]' (or pip install ray)") from None
    return ray


def run_ray(tasks: list[dict], workers: int | None, retries: int, address: str | None,
            memory_mb: list[int]) -> Iterator[tuple[int, dict]]:
    """Run each task as a Ray task: ``threads`` CPUs, a GPU where it runs on cuda, ``memory_mb[i]`` of memory
    reserved so that the scheduler does not put more items on a node than it holds. Uses the Ray this
    process already joined, or joins ``address`` (default: $RAY_ADDRESS, else a new local instance)."""
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        ray.init(address=address or os.environ.get("RAY_ADDRESS") or None, include_dashboard=False,
                 log_to_driver=False, logging_level="error")
        started = True
    from unseen.batch.worker import execute

    # Ray's own retries are off: ours know that bad input fails again, and count attempts for the report.
    remote = ray.remote(execute)

    def submit(index: int):
        task = tasks[index]
        return remote.options(num_cpus=task["threads"], num_gpus=1 if task["gpu"] else 0,
                              memory=memory_mb[index] << 20, max_retries=0).remote(task)

    waiting = deque((index, 1) for index in range(len(tasks)))
    running: dict = {}  # object ref -> (index, attempt)
    limit = workers or len(tasks)
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                index, attempt = waiting.popleft()
                running[submit(index)] = (index, attempt)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in ready:
                index, attempt = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as error:  # the worker process died, or Ray gave up on it
                    result = {"status": "failed", "error": _ray_error(error), "permanent": False}
                result["attempts"] = attempt
                if retry(result, attempt, retries):
                    waiting.append((index, attempt + 1))
                else:
                    yield index, result
    finally:
        for ref in running:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def _ray_error(error: Exception) -> str:
    name = type(error).__name__
    if "OutOfMemory" in name:
        return "worker died: out of memory (Ray's memory monitor killed it)"
    if "WorkerCrashed" in name or "ActorDied" in name or "died" in str(error).lower():
        return "worker died: its process ended unexpectedly (crash, or killed: out of memory?)"
    text = " ".join(str(error).split())
    return f"{name}: {text[:300]}"
