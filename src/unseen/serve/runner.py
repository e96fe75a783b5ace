"""The web app's queue: one job at a time, each in a child process (so that cancelling is a clean stop, and
a crash or a memory blow-up takes the job down, not the server)."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from typing import Any

from unseen.serve import jobs
from unseen.serve.store import ACTIVE, CANCELLED, DONE, FAILED, QUEUED, RUNNING, NotFound, Workspace

_POLL_S = 0.2
_CLEAN_EVERY_S = 600.0
_STOP_WAIT_S = 10.0  # after SIGTERM (which cleans up partial outputs), before SIGKILL


class Runner:
    """Runs the queued jobs of a :class:`Workspace` in order, in a background thread."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._cancel: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # "spawn": a fresh interpreter, not a fork of a server with threads running.
        self._context = multiprocessing.get_context("spawn")

    def start(self) -> None:
        """Requeue what a previous server left running, then start working through the queue."""
        for job in self.workspace.all_jobs():
            if job["state"] == RUNNING:
                self.workspace.update_job(job["id"], state=QUEUED, done=0, started=None)
        self._thread = threading.Thread(target=self._loop, name="unseen-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(_STOP_WAIT_S + 5)

    def submit(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            job = self.workspace.new_job(spec)
        self._wake.set()
        return job

    def cancel(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self.workspace.job(job_id)
            if job["state"] == QUEUED:
                return self.workspace.update_job(job_id, state=CANCELLED, finished=time.time())
            if job["state"] == RUNNING:
                self._cancel.add(job_id)
        return job

    def status(self, job_id: str) -> dict[str, Any]:
        """The job as the page sees it: its state, progress, ETA and place in the queue."""
        job = self.workspace.job(job_id)
        if job["state"] == RUNNING:
            job.update(_progress(self.workspace, job_id))
            if job["done"] and job["total"] and job["started"]:
                spent = time.time() - job["started"]
                job["eta_s"] = spent / job["done"] * (job["total"] - job["done"])
        if job["state"] == QUEUED:
            queued = [other["id"] for other in self.workspace.all_jobs() if other["state"] in ACTIVE]
            job["ahead"] = queued.index(job_id) if job_id in queued else 0
        job["cancelling"] = job_id in self._cancel
        return job

    def _loop(self) -> None:
        cleaned = 0.0
        while not self._stopping.is_set():
            if time.monotonic() - cleaned > _CLEAN_EVERY_S:
                self.workspace.clean_up()
                cleaned = time.monotonic()
            job = next((job for job in self.workspace.all_jobs() if job["state"] == QUEUED), None)
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._run(job["id"])

    def _run(self, job_id: str) -> None:
        with self._lock:
            if self.workspace.job(job_id)["state"] != QUEUED:  # cancelled meanwhile
                return
            self.workspace.update_job(job_id, state=RUNNING, started=time.time(), done=0, total=None)
        folder = self.workspace.job_folder(job_id)
        (folder / "result.json").unlink(missing_ok=True)
        process = self._context.Process(target=jobs.run, args=(str(self.workspace.root), job_id), daemon=True)
        process.start()
        while process.is_alive():
            process.join(_POLL_S)
            if job_id in self._cancel or self._stopping.is_set():
                process.terminate()  # SIGTERM: unseen removes its partial output and exits
                process.join(_STOP_WAIT_S)
                if process.is_alive():
                    process.kill()
                    process.join()
        self._finish(job_id, process.exitcode)

    def _finish(self, job_id: str, exitcode: int | None) -> None:
        folder = self.workspace.job_folder(job_id)
        with self._lock:
            cancelled = job_id in self._cancel
            self._cancel.discard(job_id)
            if self._stopping.is_set() and not cancelled:
                self.workspace.update_job(job_id, state=QUEUED, done=0, started=None)  # again after a restart
                return
            try:
                outcome = json.loads((folder / "result.json").read_text())
            except (OSError, ValueError):
                outcome = {"error": f"the job stopped unexpectedly (exit status {exitcode})"}
            fields: dict[str, Any] = {"finished": time.time(), **_progress(self.workspace, job_id)}
            if cancelled:
                fields.update(state=CANCELLED, error=None)
            elif "error" in outcome:
                fields.update(state=FAILED, error=outcome["error"])
            else:
                fields.update(state=DONE, result=outcome.get("result"), download=outcome.get("download"),
                              previews=outcome.get("previews", []))
                if fields.get("total"):
                    fields["done"] = fields["total"]
            self.workspace.update_job(job_id, **fields)


def _progress(workspace: Workspace, job_id: str) -> dict[str, Any]:
    try:
        progress = json.loads((workspace.job_folder(job_id) / "progress.json").read_text())
        return {"done": int(progress["done"]), "total": progress["total"]}
    except (OSError, ValueError, KeyError, NotFound):
        return {}


__all__ = ["DONE", "FAILED", "Runner"]
