"""What a web job does: the spec the page sends, turned into one call of the public API.

A spec is JSON::

    {"upload": ID, "job": "remove" | "segment" | "background",
     "mask": "data:image/png;base64,..."       (brushed, white = the object; any size: scaled to the frame)
     "prompts": [{"kind": "point", "x": 120, "y": 80, "frame": 0},
                 {"kind": "box", "x": 10, "y": 20, "w": 60, "h": 40, "frame": 12}],   (frame pixels)
     "classes": "person,car",
     "options": {"method": "auto", "dilate": 4, "render": "overlay", "with": "blur", "smoothing": 2},
     "preview": {"frame": 30, "count": 6}}     (only these frames; omitted: the whole upload)

Exactly one of mask, prompts, classes says what to remove or segment (background needs none).
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unseen import api
from unseen.errors import InputError
from unseen.media import open_clip
from unseen.media.image import encode_image
from unseen.progress import listening
from unseen.serve.store import Workspace, write_json
from unseen.signals import signals_interrupt

JOBS = ("remove", "segment", "background")
BACKGROUNDS = ("white", "black", "green", "blur", "transparent")
PREVIEW_MAX = 12  # frames a preview job fills at most
_MAX_MASK_BYTES = 20 << 20


def check_spec(spec: Any) -> dict[str, Any]:
    """The spec, checked enough to queue it (the API checks the rest when the job runs)."""
    if not isinstance(spec, dict):
        raise InputError("the job must be a JSON object")
    if spec.get("job") not in JOBS:
        raise InputError(f"job must be one of {', '.join(JOBS)}")
    sources = [key for key in ("mask", "prompts", "classes") if spec.get(key)]
    if spec["job"] == "remove" and len(sources) != 1:
        raise InputError("say what to remove: brush a mask, click or box the object, or pick a class")
    if spec["job"] == "segment" and "mask" in sources:
        raise InputError("segment finds objects by class or by a click or box, not from a brushed mask")
    options = spec.get("options", {})
    if not isinstance(options, dict):
        raise InputError("options must be a JSON object")
    # Options that the command line lets name files (a trained inpainter, a background picture) take
    # fixed values only: nothing a client sends may point the server at a path.
    if options.get("method", "auto") not in api.methods():
        raise InputError(f"method must be one of {', '.join(api.methods())}")
    background = str(options.get("with", "white"))
    if background not in BACKGROUNDS and not re.fullmatch(r"#[0-9a-fA-F]{6}|blur:\d+(\.\d+)?", background):
        raise InputError(f"the background must be one of {', '.join(BACKGROUNDS)}, '#RRGGBB' or blur:STRENGTH")
    if spec.get("mask") is not None and (not isinstance(spec["mask"], str) or len(spec["mask"]) > _MAX_MASK_BYTES):
        raise InputError("the mask must be a PNG data URL (at most 20 MB)")
    prompt_texts(spec)
    preview = spec.get("preview")
    if preview is not None and (not isinstance(preview, dict) or not isinstance(preview.get("frame", 0), int)):
        raise InputError("preview must be {\"frame\": N, \"count\": K}")
    return spec


def prompt_texts(spec: dict[str, Any], offset: int = 0) -> dict[str, list[str]]:
    """The prompts as the API's ``box`` and ``point`` strings (``X,Y,W,H@FRAME``), frames moved by ``offset``."""
    texts: dict[str, list[str]] = {"box": [], "point": []}
    prompts = spec.get("prompts") or []
    if not isinstance(prompts, list):
        raise InputError("prompts must be a list")
    for prompt in prompts:
        if not isinstance(prompt, dict) or prompt.get("kind") not in texts:
            raise InputError("each prompt is {\"kind\": \"point\" or \"box\", \"x\", \"y\"[, \"w\", \"h\"], \"frame\"}")
        keys = ("x", "y", "w", "h") if prompt["kind"] == "box" else ("x", "y")
        try:
            values = [round(float(prompt[key])) for key in keys]
            frame = int(prompt.get("frame", 0)) - offset
        except (KeyError, TypeError, ValueError):
            raise InputError(f"a {prompt['kind']} needs numbers {', '.join(keys)}") from None
        texts[prompt["kind"]].append(",".join(map(str, values)) + f"@{frame}")
    return texts


def decode_mask(data_url: str, size: tuple[int, int]) -> np.ndarray:
    """A brushed mask (PNG data URL; white or opaque = the object) as HxW bool at ``size`` (width, height)."""
    try:
        data = base64.b64decode(data_url.split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the mask is not a base64 PNG data URL") from None
    picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if picture is None:
        raise InputError("the mask is not a readable image")
    if picture.ndim == 3:  # a canvas: painted where opaque (or bright, without alpha)
        picture = picture[..., 3] if picture.shape[2] == 4 else picture.max(axis=2)
    return cv2.resize(picture, size, interpolation=cv2.INTER_NEAREST) > 127


def output_suffix(spec: dict[str, Any], meta: dict[str, Any]) -> str:
    """What the result is written as: something a browser shows (H.264 MP4, VP9 WebM with alpha; the
    photo's own format, PNG where transparent)."""
    transparent = spec["job"] == "background" and spec.get("options", {}).get("with") == "transparent"
    if meta["kind"] == "video":
        return ".webm" if transparent else ".mp4"
    if transparent or (spec["job"] == "segment" and spec.get("options", {}).get("render", "mask") == "mask"):
        return ".png"
    return meta["suffix"] if meta["suffix"] in (".jpg", ".jpeg", ".png", ".webp") else ".png"


def run(root: str, job_id: str) -> None:
    """Run one job (in a child process of the server): its result, or its error, goes to ``result.json``;
    its progress to ``progress.json`` as it goes."""
    workspace = Workspace(root)
    folder = workspace.job_folder(job_id)
    job = workspace.job(job_id)
    last = [0.0]

    def heard(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.3 or (total is not None and done >= total):
            last[0] = now
            write_json(folder / "progress.json", {"done": done, "total": total})

    meta = workspace.upload(job["upload"])
    try:
        # Cancelling sends SIGTERM: raised as an interrupt, so the partial output is removed on the way out.
        with signals_interrupt(), listening(heard):
            outcome = _execute(workspace, job["spec"], meta, folder)
    except KeyboardInterrupt:
        return
    except InputError as error:
        source = str(workspace.upload_file(job["upload"]))
        outcome = {"error": str(error).replace(source, meta["name"])}
    except Exception:  # the page gets one line; the log keeps the trace
        (folder / "log.txt").write_text(traceback.format_exc())
        print(traceback.format_exc(), file=sys.stderr)
        outcome = {"error": "the job failed inside unseen (the server's log has the details)"}
    write_json(folder / "result.json", outcome)


def _execute(workspace: Workspace, spec: dict[str, Any], meta: dict[str, Any], folder: Path) -> dict[str, Any]:
    source = workspace.upload_file(meta["id"])
    preview = spec.get("preview")
    start = int(preview.get("frame", 0)) if preview else 0
    if preview:
        count = max(1, min(int(preview.get("count", 6)), PREVIEW_MAX))
        media: Any = _frames(source, start, count)
    else:
        media = source
    options = spec.get("options", {})
    kwargs: dict[str, Any] = {}
    if spec.get("mask"):
        kwargs["mask"] = decode_mask(spec["mask"], (meta["width"], meta["height"]))
    texts = prompt_texts(spec, start)
    kwargs.update({kind: values for kind, values in texts.items() if values})
    suffix = output_suffix(spec, meta)
    output = None if preview else folder / f"result{suffix}"
    common = {"show_progress": False}
    if meta["kind"] == "video" and not preview:
        common["codec"] = "vp9" if suffix == ".webm" else "h264"
    if spec["job"] == "remove":
        if spec.get("classes"):
            kwargs["target"] = spec["classes"]
        result = api.remove(media, output, method=options.get("method", "auto"),
                               dilate_px=_optional_int(options.get("dilate")), **kwargs, **common)
    elif spec["job"] == "segment":
        if spec.get("classes"):
            kwargs["classes"] = spec["classes"]
        result = api.segment(media, output, render=options.get("render", "mask"), **kwargs, **common)
    else:
        result = api.replace_background(media, output, background=options.get("with", "white"), **common)
    if preview:
        frames = _as_frames(result)
        names = []
        for k, image in enumerate(frames):
            name = f"preview{k:03d}.jpg"
            (folder / name).write_bytes(encode_image(_flatten(image), ".jpg", quality=90))
            names.append({"frame": start + k, "file": name})
        return {"previews": names}
    return {"result": Path(result).name, "download": f"{Path(meta['name']).stem}.{spec['job']}{suffix}"}


def _optional_int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"expected a whole number, got {value!r}") from None


def _frames(path: Path, start: int, count: int) -> np.ndarray:
    """Frames ``start`` to ``start + count`` of a video (or the photo) as a T x H x W x 3 array."""
    frames = []
    for frame in open_clip(path):
        if frame.index >= start:
            frames.append(frame.image)
        if len(frames) == count:
            break
    if not frames:
        raise InputError(f"frame {start} is past the end")
    return np.stack(frames)


def _as_frames(result: Any) -> list[np.ndarray]:
    array = np.asarray(result)
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4)):
        return [array]
    return list(array)


def _flatten(image: np.ndarray) -> np.ndarray:
    """A picture a JPEG holds: grey masks made RGB, transparency shown over a checkerboard."""
    if image.ndim == 2:  # a mask: white where the object is
        return np.repeat(np.where(image > 0, 255, 0).astype(np.uint8)[..., None], 3, axis=2)
    if image.shape[2] == 4:
        h, w = image.shape[:2]
        checks = np.where(((np.arange(h)[:, None] // 16) + (np.arange(w)[None] // 16)) % 2, 200, 255)
        alpha = image[..., 3:4].astype(np.float32) / 255
        return (image[..., :3] * alpha + checks[..., None] * (1 - alpha)).astype(np.uint8)
    return image

