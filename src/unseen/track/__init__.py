"""Objects the user points at (a box or a point on one frame), followed through the video.

:func:`prompted_labels` is what ``remove --box/--point`` and ``segment --box/--point`` use: the prompts
are checked at once (a box outside the frame, a frame past the end: :class:`InputError`), then the
frames come back, each with the label image of the objects in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from unseen.media import Frame
from unseen.segment.base import Segmenter, get_segmenter
from unseen.track.objects import Tracked, paired, track_objects
from unseen.track.prompts import Prompt, check_prompts, parse_prompt, parse_prompts

# The class segmenter that tells which objects are of a known class: the 20 PASCAL VOC classes (people,
# vehicles, animals, furniture) cover most things users point at.
PROMPT_SEGMENTER = "espnetv2-pascal"
BACKBONE, HEAD = "nanotrack-v2-backbone", "nanotrack-v2-head"

__all__ = ["BACKBONE", "HEAD", "PROMPT_SEGMENTER", "Prompt", "Tracked", "check_prompts", "parse_prompt",
           "parse_prompts", "prompted_labels", "track_objects"]


def prompted_labels(frames: Iterable[Frame], prompts: list[Prompt], size: tuple[int, int],
                    frame_count: int | None, sequence: bool = True, model: str | None = None,
                    device: str = "cpu") -> Iterator[tuple[Frame, np.ndarray]]:
    """Each frame with its HxW uint8 labels (k = the k-th prompt's object), over two passes of ``frames``.

    ``size`` and ``frame_count`` (when known) check the prompts before anything is read; ``model`` is the
    class segmenter (default :data:`PROMPT_SEGMENTER`).
    """
    prompts = check_prompts(prompts, size, frame_count)
    return _labelled(frames, prompts, sequence, model or PROMPT_SEGMENTER, device, frame_count)


def _labelled(frames: Iterable[Frame], prompts: list[Prompt], sequence: bool, model: str,
              device: str, frame_count: int | None) -> Iterator[tuple[Frame, np.ndarray]]:
    built: dict[str, Segmenter] = {}

    def segmenter() -> Segmenter:
        if "model" not in built:
            built["model"] = get_segmenter(model, device)
        return built["model"]

    tracked = track_objects(frames, prompts, segmenter, nanotrack_files, sequence, frame_count)
    yield from paired(frames, tracked)


def nanotrack_files() -> tuple[str, str]:
    """The NanoTrack v2 backbone and head files from the model zoo (``$UNSEEN_MODELS``, the cache)."""
    from unseen import zoo

    return str(zoo.model_path(BACKBONE)), str(zoo.model_path(HEAD))
