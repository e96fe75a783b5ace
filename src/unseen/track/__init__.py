"""Objects the user points at (a box or a point on one frame), followed through the video.

:func:`prompted_labels` is what ``remove --box/--point`` and ``segment --box/--point`` use: the prompts
are checked at once (a box outside the frame, a frame past the end: :class:`InputError`), then the
frames come back, each with the label image of the objects in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from unseen.media import Frame
from unseen.segment.base import Segmenter, get_segmenter
from unseen.track.objects import Tracked, paired, track_objects
from unseen.track.prompts import Prompt, check_prompts, parse_prompt, parse_prompts

# The class segmenter that tells which objects are of a known class: the 20 PASCAL VOC classes (people,
# vehicles, animals, furniture) cover most things users point at.
PROMPT_SEGMENTER = "espnetv2-pascal"
# People (and what PASCAL names no class for) are looked at again, and followed, by our fine-tune of it, which
# knows people better: riders on a cart, a dancer's arms (docs/benchmarks.md, "People followed by the person model").
PERSON_SEGMENTER = "unseen-person-tuned"
BACKBONE, HEAD = "nanotrack-v2-backbone", "nanotrack-v2-head"

__all__ = ["BACKBONE", "HEAD", "PERSON_SEGMENTER", "PROMPT_SEGMENTER", "Prompt", "Tracked", "check_prompts",
           "parse_prompt", "parse_prompts", "prompted_labels", "track_objects"]


def prompted_labels(frames: Iterable[Frame], prompts: list[Prompt], size: tuple[int, int],
                    frame_count: int | None, sequence: bool = True, model: str | None = None,
                    device: str = "cpu") -> Iterator[tuple[Frame, np.ndarray]]:
    """Each frame with its HxW uint8 labels (k = the k-th prompt's object), over two passes of ``frames``.

    ``size`` and ``frame_count`` (when known) check the prompts before anything is read; ``model`` is the
    class segmenter (default :data:`PROMPT_SEGMENTER`, with :data:`PERSON_SEGMENTER` for people; a model
    given is used alone).
    """
    prompts = check_prompts(prompts, size, frame_count)
    person = None if model else PERSON_SEGMENTER
    return _labelled(frames, prompts, sequence, model or PROMPT_SEGMENTER, person, device, frame_count)


def _labelled(frames: Iterable[Frame], prompts: list[Prompt], sequence: bool, model: str, person: str | None,
              device: str, frame_count: int | None) -> Iterator[tuple[Frame, np.ndarray]]:
    built: dict[str | None, Segmenter | None] = {None: None}

    def loader(name: str | None) -> Callable[[], Segmenter | None]:
        def load() -> Segmenter | None:
            if name not in built:
                built[name] = get_segmenter(name, device)
            return built[name]
        return load

    tracked = track_objects(frames, prompts, loader(model), nanotrack_files, sequence, frame_count,
                            person=loader(person))
    yield from paired(frames, tracked)


def nanotrack_files() -> tuple[str, str]:
    """The NanoTrack v2 backbone and head files from the model zoo (``$UNSEEN_MODELS``, the cache)."""
    from unseen import zoo

    return str(zoo.model_path(BACKBONE)), str(zoo.model_path(HEAD))
