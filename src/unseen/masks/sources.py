"""Where masks come from: one image for every frame, a folder of per-frame masks, or a mask video.

Each source yields one bool mask per frame of a :class:`~unseen.media.Clip`, at the frame's size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from unseen.errors import InputError
from unseen.masks.ops import binarize, fit_to
from unseen.media import Clip, Frame, media_kind, open_clip, read_gray
from unseen.media.frames import list_images

FramesWithMasks = Iterator[tuple[Frame, np.ndarray]]


def masks_for(frames: Iterable[Frame], mask: str | os.PathLike | np.ndarray, clip: Clip | None = None
              ) -> FramesWithMasks:
    """Pair each frame with its mask.

    Parameters
    ----------
    frames
        The frames to pair, in order.
    mask
        A path (an image used for every frame, a folder of per-frame masks, a mask video) or an array
        (``HxW`` for every frame, ``TxHxW`` one per frame). Non-zero = remove.
    clip
        The clip the frames come from, for early checks of the mask count.
    """
    if isinstance(mask, np.ndarray):
        return _from_array(frames, mask)
    path = Path(mask)
    if not path.exists():
        raise InputError(f"{path}: no such mask file or folder")
    kind = media_kind(path)
    if kind == "image":
        return _static(frames, binarize(read_gray(path)), f"mask {path.name}")
    if kind == "folder":
        return _from_folder(frames, path, clip)
    return _from_video(frames, path, clip)


def _static(frames: Iterable[Frame], mask: np.ndarray, name: str) -> FramesWithMasks:
    fitted: dict[tuple[int, int], np.ndarray] = {}
    for frame in frames:
        if frame.size not in fitted:
            fitted[frame.size] = fit_to(mask, frame.size, name)
        yield frame, fitted[frame.size]


def _from_array(frames: Iterable[Frame], masks: np.ndarray) -> FramesWithMasks:
    if masks.ndim == 2:
        yield from _static(frames, binarize(masks), "the mask")
        return
    count = 0
    for frame in frames:
        if count >= len(masks):
            raise InputError(f"{len(masks)} masks for more frames than that; give one mask per frame")
        yield frame, fit_to(binarize(masks[count]), frame.size, f"mask {count}")
        count += 1
    if count != len(masks):
        raise InputError(f"{len(masks)} masks for {count} frames; give one mask per frame")


def _count_error(what: str, masks: int, frames: int | str) -> InputError:
    return InputError(f"{what} holds {masks} masks but the input has {frames} frames; "
                      "give one mask per frame")


def _from_folder(frames: Iterable[Frame], folder: Path, clip: Clip | None) -> FramesWithMasks:
    files = list_images(folder)
    if clip is not None and clip.exact_count and len(files) != clip.frame_count:
        raise _count_error(str(folder), len(files), clip.frame_count)
    by_stem = {p.stem: p for p in files}
    # A video's frames have no names of their own: its masks go in name order. Frames from files are
    # matched by name (frames/00012.jpg <-> masks/00012.png).
    by_order = clip is None or clip.kind == "video"
    count = 0
    for frame in frames:
        path = by_stem.get(frame.name) if not by_order else files[count] if count < len(files) else None
        if path is None:
            if count >= len(files):
                raise _count_error(str(folder), len(files), f"at least {count + 1}")
            raise InputError(f"{folder}: no mask named {frame.name!r} for frame {frame.name!r}; "
                             "masks are matched to frames by file name")
        yield frame, fit_to(binarize(read_gray(path)), frame.size, f"mask {path.name}")
        count += 1
    if count != len(files):
        raise _count_error(str(folder), len(files), count)


def _from_video(frames: Iterable[Frame], path: Path, clip: Clip | None) -> FramesWithMasks:
    masks = open_clip(path)
    if clip is not None and clip.exact_count and masks.exact_count and masks.frame_count != clip.frame_count:
        raise _count_error(f"mask video {path}", masks.frame_count, clip.frame_count)
    mask_frames = iter(masks)
    count = 0
    for frame in frames:
        mask_frame = next(mask_frames, None)
        if mask_frame is None:
            raise _count_error(f"mask video {path}", count, f"at least {count + 1}")
        # Compression noise turns black into small values: a mask video is thresholded at mid-grey.
        mask = mask_frame.image.max(axis=2) > 127
        yield frame, fit_to(mask, frame.size, f"mask video {path.name}")
        count += 1
    if next(mask_frames, None) is not None:
        raise _count_error(f"mask video {path}", f"more than {count}", count)
