"""The web app's uploads and jobs, kept on disk under one folder so that they survive a restart.

Every name on disk is made here (random ids, fixed file names, the input's extension from a fixed list):
nothing a client sends ever becomes a path.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unseen.errors import InputError
from unseen.media import open_clip
from unseen.media.atomic import atomic_file
from unseen.media.clip import Clip
from unseen.media.image import IMAGE_SUFFIXES, encode_image
from unseen.media.video import VIDEO_SUFFIXES

_ID = re.compile(r"[0-9a-f]{16}")
# Frames of a video shown on the scrubber at most (evenly spread), and their longer side at most.
PREVIEW_FRAMES = 120
PREVIEW_SIDE = 1280
# Job states; a job is "active" while queued or running.
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING)


class NotFound(LookupError):
    """No upload or job of that id (or a malformed id)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """What the server accepts and how long it keeps things."""

    max_upload_mb: float = 2048.0
    max_seconds: float = 600.0  # of video
    keep_hours: float = 24.0


class Workspace:
    """``ROOT/uploads/ID/`` (the input, its previews, ``meta.json``) and ``ROOT/jobs/ID/`` (``job.json``, the
    result, preview frames, a log)."""

    def __init__(self, root: str | os.PathLike, limits: Limits | None = None):
        self.root, self.limits = Path(root), limits or Limits()
        self.uploads, self.jobs = self.root / "uploads", self.root / "jobs"
        for folder in (self.uploads, self.jobs):
            folder.mkdir(parents=True, exist_ok=True)

    # --- uploads -------------------------------------------------------------------------------------------

    def new_upload(self, name: str) -> tuple[str, Path]:
        """A new upload's id and the path its bytes go to; ``name`` only lends its extension (checked)."""
        suffix = Path(name).suffix.lower()
        if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            raise InputError(f"{Path(name).name or 'the file'}: not a photo or video unseen reads "
                             f"({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})")
        upload_id = secrets.token_hex(8)
        folder = self.uploads / upload_id
        folder.mkdir()
        return upload_id, folder / f"input{suffix}"

    def finish_upload(self, upload_id: str, name: str) -> dict[str, Any]:
        """Check the stored file as unseen would read it, make its previews and record what it is; the
        upload is removed again (and the error raised) when unseen cannot read it or it is over the limits."""
        folder = self._folder(self.uploads, upload_id)
        path = next(folder.glob("input.*"))
        try:
            meta = self._describe(path, name)
        except InputError as error:  # named by the file the user sent, not where it is kept
            shutil.rmtree(folder, ignore_errors=True)
            raise InputError(str(error).replace(str(path), Path(name).name)) from None
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        write_json(folder / "meta.json", meta)
        return meta

    def _describe(self, path: Path, name: str) -> dict[str, Any]:
        clip = open_clip(path, accept_truncated=False)
        seconds = None
        if clip.kind == "video":
            seconds = float(clip.frame_count / clip.fps) if clip.frame_count and clip.fps else None
            if seconds is not None and seconds > self.limits.max_seconds:
                raise InputError(f"{Path(name).name}: {seconds:.0f} s of video; this server takes up to "
                                 f"{self.limits.max_seconds:.0f} s")
        shown = _write_previews(clip, path.parent)
        kind = "video" if clip.kind == "video" else "photo"
        return {"id": path.parent.name, "name": Path(name).name[:200], "kind": kind,
                "suffix": path.suffix, "width": clip.size[0], "height": clip.size[1],
                "frames": clip.frame_count or len(shown), "fps": float(clip.fps) if clip.fps else None,
                "seconds": seconds, "audio": bool(clip.video and clip.video.has_audio), "previews": shown,
                "created": time.time()}

    def upload(self, upload_id: str) -> dict[str, Any]:
        return _read_json(self._folder(self.uploads, upload_id) / "meta.json")

    def upload_file(self, upload_id: str) -> Path:
        self.upload(upload_id)
        return next(self._folder(self.uploads, upload_id).glob("input.*"))

    def preview(self, upload_id: str, frame: int) -> Path:
        """The preview picture of frame ``frame`` (one of the upload's ``previews``)."""
        path = self._folder(self.uploads, upload_id) / f"frame{int(frame):06d}.jpg"
        if not path.is_file():
            raise NotFound(f"no preview of frame {frame}")
        return path

    # --- jobs ----------------------------------------------------------------------------------------------

    def new_job(self, spec: dict[str, Any]) -> dict[str, Any]:
        upload = self.upload(spec["upload"])
        if any(job["upload"] == upload["id"] and job["state"] in ACTIVE for job in self.all_jobs()):
            raise InputError("this upload already has a job queued or running: wait for it, or cancel it")
        job = {"id": secrets.token_hex(8), "upload": upload["id"], "spec": spec, "state": QUEUED,
               "done": 0, "total": None, "error": None, "created": time.time(), "started": None,
               "finished": None, "result": None, "previews": []}
        (self.jobs / job["id"]).mkdir()
        self.save_job(job)
        return job

    def job(self, job_id: str) -> dict[str, Any]:
        return _read_json(self._folder(self.jobs, job_id) / "job.json")

    def job_folder(self, job_id: str) -> Path:
        return self._folder(self.jobs, job_id)

    def save_job(self, job: dict[str, Any]) -> None:
        write_json(self.jobs / job["id"] / "job.json", job)

    def update_job(self, job_id: str, **fields: Any) -> dict[str, Any]:
        job = self.job(job_id)
        job.update(fields)
        self.save_job(job)
        return job

    def all_jobs(self) -> list[dict[str, Any]]:
        jobs = []
        for folder in self.jobs.iterdir():
            try:
                jobs.append(self.job(folder.name))
            except NotFound:
                continue
        return sorted(jobs, key=lambda job: job["created"])

    # --- housekeeping --------------------------------------------------------------------------------------

    def clean_up(self) -> int:
        """Remove uploads and finished jobs older than ``keep_hours``; how many were removed."""
        limit = time.time() - self.limits.keep_hours * 3600
        removed = 0
        active = {job["upload"] for job in self.all_jobs() if job["state"] in ACTIVE}
        for folder in (*self.jobs.iterdir(), *self.uploads.iterdir()):
            if folder.name in active or not folder.is_dir():
                continue
            record = folder / ("job.json" if folder.parent == self.jobs else "meta.json")
            stamp = record.stat().st_mtime if record.exists() else folder.stat().st_mtime
            if stamp < limit:
                if folder.parent == self.jobs and self.job(folder.name)["state"] in ACTIVE:
                    continue
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    def _folder(self, parent: Path, item_id: str) -> Path:
        if not isinstance(item_id, str) or not _ID.fullmatch(item_id) or not (parent / item_id).is_dir():
            raise NotFound(f"no such {parent.name[:-1]}")
        return parent / item_id


def _write_previews(clip: Clip, folder: Path) -> list[int]:
    """JPEG previews of a photo, or of up to :data:`PREVIEW_FRAMES` frames of a video evenly spread; the frame
    indices written."""
    count = clip.frame_count or 1
    wanted = set(np.linspace(0, count - 1, min(count, PREVIEW_FRAMES)).round().astype(int).tolist())
    shown = []
    for frame in clip:
        if frame.index in wanted:
            image = frame.image
            scale = PREVIEW_SIDE / max(image.shape[:2])
            if scale < 1:
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            (folder / f"frame{frame.index:06d}.jpg").write_bytes(encode_image(image, ".jpg", quality=90))
            shown.append(frame.index)
    if not shown:
        raise InputError(f"{clip.path.name}: holds no frame")
    return shown


def write_json(path: Path, data: dict[str, Any]) -> None:
    """``data`` as JSON at ``path``, replaced whole (readers in other processes never see half a file)."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise NotFound(f"no such {path.parent.parent.name[:-1]}") from None
