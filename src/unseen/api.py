"""What users call: the same jobs as the ``unseen`` command, on paths or NumPy arrays.

>>> import unseen
>>> unseen.remove("photo.jpg", "clean.jpg", mask="mask.png")          # doctest: +SKIP
>>> clean = unseen.remove(rgb_array, mask=mask_array)                  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from unseen.errors import InputError, warn
from unseen.inpaint import DEFAULT_FILLER, list_fillers
from unseen.inpaint.stepped import SteppedFiller
from unseen.inpaint.video import FlowVideoFiller, PerFrameFiller
from unseen.masks import dilate, masks_for
from unseen.masks.sources import FramesWithMasks
from unseen.media import Frame, clip_writer, open_clip
from unseen.progress import progress

# Object masks stop short of the object's soft (anti-aliased, motion-blurred) edge. bench/dilate.py pastes
# real objects with soft edges over real backgrounds and measures the fill against the truth for each
# width: 2 px is best for the photo filler at every edge softness and for the video engine on average
# (docs/benchmarks.md); wider holes cost more than the halo they avoid.
DEFAULT_DILATE = 2

MaskLike = str | os.PathLike | np.ndarray
MediaLike = str | os.PathLike | np.ndarray


AUTO = "auto"
VIDEO_METHOD = "flow"


def methods() -> list[str]:
    """Names ``method`` accepts: ``auto``, the video engine ``flow`` and every photo filler."""
    return [AUTO, VIDEO_METHOD, *list_fillers()]


def remove(input: MediaLike, output: str | os.PathLike | None = None, *, mask: MaskLike,
           dilate_px: int = DEFAULT_DILATE, method: str = AUTO, frame_step: int = 1, frame_format: str = "png",
           show_progress: bool = False) -> Path | np.ndarray:
    """Erase the masked object from a photo, a video or a folder of frames.

    Parameters
    ----------
    input
        An image, video or frame-folder path, or an RGB ``uint8`` array: ``HxWx3`` (a photo) or
        ``TxHxWx3`` (frames).
    output
        Where to write the result (image, video or folder, by its extension); required for path input,
        ignored for arrays. Written atomically; never the input itself.
    mask
        White (non-zero) = remove. An image for every frame, a folder of per-frame masks (matched by
        name), a mask video, or an array (``HxW`` or ``TxHxW``).
    dilate_px
        Grow the mask by this many pixels first, to take the object's soft edge with it.
    method
        ``flow``: the temporally consistent video engine (copies background seen in other frames);
        a photo filler name (see :func:`unseen.inpaint.list_fillers`): each frame on its own;
        ``auto``: ``flow`` for videos and frame folders, the default photo filler for one image.
    frame_step
        With ``flow``: run the engine on every Nth frame only and fill the others from their filled
        neighbours along the flow (faster, a little less exact).
    frame_format
        Image format of the frames when ``output`` is a folder.
    show_progress
        Show a progress bar on stderr for work longer than a second.

    Returns
    -------
    The output path, or the cleaned array for array input.
    """
    if dilate_px < 0:
        raise InputError(f"dilate must be 0 or more pixels, got {dilate_px}")
    if frame_step < 1:
        raise InputError(f"frame step must be 1 or more, got {frame_step}")
    if method not in methods():
        raise InputError(f"unknown method {method!r}; choose one of: {', '.join(methods())}")
    if isinstance(input, np.ndarray):
        return _remove_array(input, mask, method, dilate_px, frame_step)
    if output is None:
        raise InputError("an output path is needed for path input")
    clip = open_clip(input)
    engine = _engine(method, many_frames=clip.kind != "image", frame_step=frame_step)
    pairs = _grown(masks_for(clip, mask, clip), dilate_px)
    protected = () if isinstance(mask, np.ndarray) else (mask,)
    with clip_writer(output, clip, frame_format, protected) as sink:
        for frame in progress(engine.fill_frames(pairs), clip.frame_count, "remove", show_progress):
            sink.write(frame)
    return Path(output)


def _engine(method: str, many_frames: bool, frame_step: int = 1) -> SteppedFiller | PerFrameFiller:
    if method == AUTO:
        method = VIDEO_METHOD if many_frames else DEFAULT_FILLER
    return SteppedFiller(FlowVideoFiller(), frame_step) if method == VIDEO_METHOD else PerFrameFiller(method)


def _remove_array(input: np.ndarray, mask: MaskLike, method: str, dilate_px: int, frame_step: int) -> np.ndarray:
    if input.dtype != np.uint8 or input.ndim not in (3, 4) or input.shape[-1] != 3:
        raise InputError(f"expected an RGB uint8 array (HxWx3 or TxHxWx3), got {input.dtype} {input.shape}")
    single = input.ndim == 3
    stack = input[None] if single else input
    frames = (Frame(image, i, f"{i:05d}") for i, image in enumerate(stack))
    engine = _engine(method, many_frames=not single, frame_step=frame_step)
    out = np.stack([f.image for f in engine.fill_frames(_grown(masks_for(frames, mask), dilate_px))])
    return out[0] if single else out


def _grown(pairs: FramesWithMasks, dilate_px: int) -> FramesWithMasks:
    """Dilate each mask; warn at the end if no frame had anything to remove."""
    anything = False
    for frame, mask in pairs:
        grown = dilate(mask, dilate_px)
        anything = anything or bool(grown.any())
        yield frame, grown
    if not anything:
        warn("the mask is empty (all black): nothing to remove, frames passed through unchanged")
