"""The web app's HTTP side (Starlette): the page, its static files, and a small JSON API.

    POST /api/uploads?name=clip.mp4          the file as the request body -> what it is (size, frames, fps)
    GET  /api/uploads/ID                     the same again
    GET  /api/uploads/ID/file                the uploaded file (for side-by-side playback)
    GET  /api/uploads/ID/frames/N.jpg        the preview picture of frame N (one of its ``previews``)
    POST /api/uploads/ID/mask                {"frame", "prompts" | "classes"} -> the mask on that preview (PNG)
    POST /api/jobs                           a job spec (see unseen.serve.jobs) -> the queued job
    GET  /api/jobs/ID                        state, progress, ETA, error, previews
    POST /api/jobs/ID/cancel
    GET  /api/jobs/ID/result                 the result file (a download)
    GET  /api/jobs/ID/previews/K.jpg         a previewed frame
    GET  /api/info                           what the forms offer (methods, renders, classes, limits)

Every answer to a bad request is JSON ``{"error": "one line"}`` with a 4xx status; nothing from inside the
server (a path, a trace) reaches the client.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from unseen import api
from unseen.errors import InputError
from unseen.media.image import encode_image, read_image
from unseen.render.views import RENDER_KINDS
from unseen.segment import get_segmenter
from unseen.serve import jobs
from unseen.serve.runner import Runner
from unseen.serve.store import DONE, NotFound, Workspace
from unseen.track import PERSON_SEGMENTER, PROMPT_SEGMENTER
from unseen.track.first import first_mask_for
from unseen.track.prompts import parse_prompt

STATIC = Path(__file__).parent / "static"
_MAX_JSON_BYTES = 25 << 20
_PREVIEW_FILE = re.compile(r"preview\d{3}\.jpg")


def create_app(workspace: Workspace, runner: Runner | None = None) -> Starlette:
    """The app over ``workspace``; its runner starts and stops with it."""
    runner = runner or Runner(workspace)
    state = _State(workspace, runner)
    routes = [
        Route("/", lambda request: FileResponse(STATIC / "index.html")),
        Route("/api/info", state.info),
        Route("/api/uploads", state.upload, methods=["POST"]),
        Route("/api/uploads/{upload_id}", state.upload_meta),
        Route("/api/uploads/{upload_id}/file", state.upload_file),
        Route("/api/uploads/{upload_id}/frames/{frame:int}.jpg", state.frame),
        Route("/api/uploads/{upload_id}/mask", state.mask, methods=["POST"]),
        Route("/api/jobs", state.submit, methods=["POST"]),
        Route("/api/jobs/{job_id}", state.job),
        Route("/api/jobs/{job_id}/cancel", state.cancel, methods=["POST"]),
        Route("/api/jobs/{job_id}/result", state.result),
        Route("/api/jobs/{job_id}/previews/{name}", state.preview),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {InputError: _bad_request, NotFound: _not_found, HTTPException: _http_error, Exception: _internal}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        runner.start()
        try:
            yield
        finally:
            runner.stop()

    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


class _State:
    """The handlers, over one workspace and its runner (and the click segmenter, loaded on first use)."""

    def __init__(self, workspace: Workspace, runner: Runner):
        self.workspace, self.runner = workspace, runner
        self._segmenters: dict[str, Any] = {}

    async def info(self, request: Request) -> JSONResponse:
        limits = self.workspace.limits
        return JSONResponse({"methods": api.methods(), "renders": list(RENDER_KINDS),
                             "backgrounds": list(jobs.BACKGROUNDS),
                             "max_upload_mb": limits.max_upload_mb, "max_seconds": limits.max_seconds,
                             "keep_hours": limits.keep_hours})

    async def upload(self, request: Request) -> JSONResponse:
        name = request.query_params.get("name", "")
        limit = int(self.workspace.limits.max_upload_mb * (1 << 20))
        too_large = f"the file is over this server's limit of {self.workspace.limits.max_upload_mb:g} MB"
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, too_large)
        upload_id, path = self.workspace.new_upload(name)
        size = 0
        try:
            with open(path, "wb") as file:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(413, too_large)
                    file.write(chunk)
            if size == 0:
                raise InputError(f"{Path(name).name}: the file is empty")
        except BaseException:
            shutil.rmtree(path.parent, ignore_errors=True)
            raise
        return JSONResponse(await run_in_threadpool(self.workspace.finish_upload, upload_id, name))

    async def upload_meta(self, request: Request) -> JSONResponse:
        """What the upload is, and its jobs, oldest first (a page opened again follows the last one)."""
        meta = self.workspace.upload(request.path_params["upload_id"])
        meta["jobs"] = [job["id"] for job in self.workspace.all_jobs() if job["upload"] == meta["id"]]
        return JSONResponse(meta)

    async def upload_file(self, request: Request) -> FileResponse:
        return FileResponse(self.workspace.upload_file(request.path_params["upload_id"]))

    async def frame(self, request: Request) -> FileResponse:
        return FileResponse(self.workspace.preview(request.path_params["upload_id"], request.path_params["frame"]),
                            media_type="image/jpeg")

    async def mask(self, request: Request) -> Response:
        """The mask a click, a box or a class gives on one previewed frame, at the preview's size: what the
        page overlays before anything runs."""
        meta = self.workspace.upload(request.path_params["upload_id"])
        body = await _json(request)
        frame = body.get("frame", 0)
        if not isinstance(frame, int):
            raise InputError("frame must be a whole number")
        picture = read_image(self.workspace.preview(meta["id"], frame))
        started = time.perf_counter()
        mask = await run_in_threadpool(self._mask, picture, meta, body, frame)
        data = encode_image(np.where(mask, 255, 0).astype(np.uint8), ".png")
        return Response(data, media_type="image/png",
                        headers={"X-Seconds": f"{time.perf_counter() - started:.3f}"})

    def _mask(self, picture: np.ndarray, meta: dict[str, Any], body: dict[str, Any], frame: int) -> np.ndarray:
        scale = picture.shape[1] / meta["width"]  # frame pixels to preview pixels
        if body.get("classes"):
            found = api.segment(picture, classes=body["classes"], render="mask")
            return np.asarray(found) > 0
        texts = jobs.prompt_texts({"prompts": [p for p in body.get("prompts") or []
                                                if isinstance(p, dict) and p.get("frame", 0) == frame]})
        mask = np.zeros(picture.shape[:2], bool)
        for kind, values in texts.items():
            for text in values:
                prompt = parse_prompt(kind, text)
                scaled = parse_prompt(kind, [v * scale for v in prompt.values], 0)
                x, y, w, h = scaled.box
                if x >= picture.shape[1] or y >= picture.shape[0] or x + w <= 0 or y + h <= 0:
                    raise InputError(f"the {kind} is outside the frame")
                segmenter = self._prompt_segmenter(PROMPT_SEGMENTER)
                mask |= first_mask_for(picture, scaled, segmenter, lambda: self._prompt_segmenter(PERSON_SEGMENTER))[0]
        return mask

    def _prompt_segmenter(self, name: str) -> Any:
        """The segmenter ``name``, loaded on first use (None when its weights are not here: objects are then cut
        out of the picture alone, as ``remove --box`` does)."""
        if name not in self._segmenters:
            try:
                self._segmenters[name] = get_segmenter(name)
            except InputError:
                self._segmenters[name] = None
        return self._segmenters[name]

    async def submit(self, request: Request) -> JSONResponse:
        spec = jobs.check_spec(await _json(request))
        self.workspace.upload(spec.get("upload", ""))
        try:
            return JSONResponse(self.runner.submit(spec), status_code=201)
        except InputError as error:
            raise HTTPException(409, str(error)) from None

    async def job(self, request: Request) -> JSONResponse:
        return JSONResponse(self.runner.status(request.path_params["job_id"]))

    async def cancel(self, request: Request) -> JSONResponse:
        return JSONResponse(self.runner.cancel(request.path_params["job_id"]))

    async def result(self, request: Request) -> FileResponse:
        job = self.workspace.job(request.path_params["job_id"])
        if job["state"] != DONE or not job.get("result"):
            raise HTTPException(409, f"the job is {job['state']}: no result to download")
        return FileResponse(self.workspace.job_folder(job["id"]) / job["result"], filename=job["download"])

    async def preview(self, request: Request) -> FileResponse:
        folder = self.workspace.job_folder(request.path_params["job_id"])
        name = request.path_params["name"]
        if not _PREVIEW_FILE.fullmatch(name) or not (folder / name).is_file():
            raise NotFound("no such preview")
        return FileResponse(folder / name, media_type="image/jpeg")


async def _json(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > _MAX_JSON_BYTES:
        raise HTTPException(413, "the request is too large")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise InputError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


async def _bad_request(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"error": str(error)}, status_code=400)


async def _not_found(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"error": str(error) or "not found"}, status_code=404)


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    return JSONResponse({"error": error.detail}, status_code=error.status_code)


async def _internal(request: Request, error: Exception) -> JSONResponse:
    traceback.print_exception(error)  # the server's log; the client gets one line
    return JSONResponse({"error": "something went wrong inside the server"}, status_code=500)
