"""What users call: the same jobs as the ``unseen`` command, on paths or NumPy arrays.

>>> import unseen
>>> unseen.remove("photo.jpg", "clean.jpg", mask="mask.png")          # doctest: +SKIP
>>> clean = unseen.remove(rgb_array, mask=mask_array)                  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from unseen.errors import InputError, warn
from unseen.inpaint import DEFAULT_FILLER, Filler, get_filler
from unseen.masks import dilate, masks_for
from unseen.masks.sources import FramesWithMasks
from unseen.media import Frame, clip_writer, open_clip
from unseen.progress import progress

# Object masks (hand-drawn or from a segmenter) stop short of the object's blurred edge and its
# shadow-free halo; bench/dilate.py measures the fill error against ground truth for each width.
DEFAULT_DILATE = 4

MaskLike = str | os.PathLike | np.ndarray
MediaLike = str | os.PathLike | np.ndarray


def remove(input: MediaLike, output: str | os.PathLike | None = None, *, mask: MaskLike,
           dilate_px: int = DEFAULT_DILATE, method: str = DEFAULT_FILLER, frame_format: str = "png",
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
        The filler (see :func:`unseen.inpaint.list_fillers`).
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
    try:
        filler = get_filler(method)
    except ValueError as error:
        raise InputError(str(error)) from None
    if isinstance(input, np.ndarray):
        return _remove_array(input, mask, filler, dilate_px)
    if output is None:
        raise InputError("an output path is needed for path input")
    clip = open_clip(input)
    pairs = masks_for(clip, mask, clip)
    with clip_writer(output, clip, frame_format) as sink:
        frames = _fill_frames(pairs, filler, dilate_px)
        for frame in progress(frames, clip.frame_count, "remove", show_progress):
            sink.write(frame)
    return Path(output)


def _remove_array(input: np.ndarray, mask: MaskLike, filler: Filler, dilate_px: int) -> np.ndarray:
    if input.dtype != np.uint8 or input.ndim not in (3, 4) or input.shape[-1] != 3:
        raise InputError(f"expected an RGB uint8 array (HxWx3 or TxHxWx3), got {input.dtype} {input.shape}")
    single = input.ndim == 3
    stack = input[None] if single else input
    frames = (Frame(image, i, f"{i:05d}") for i, image in enumerate(stack))
    out = np.stack([f.image for f in _fill_frames(masks_for(frames, mask), filler, dilate_px)])
    return out[0] if single else out


def _fill_frames(pairs: FramesWithMasks, filler: Filler, dilate_px: int) -> Iterator[Frame]:
    """Fill each frame's (dilated) mask on its own; frames whose mask is empty pass through."""
    anything = False
    for frame, mask in pairs:
        grown = dilate(mask, dilate_px)
        if grown.any():
            anything = True
            yield frame.with_image(filler.fill(frame.image, grown))
        else:
            yield frame
    if not anything:
        warn("the mask is empty (all black): nothing to remove, frames passed through unchanged")
