"""One type for every kind of visual media: a still image, a video file or a folder of frames.

:func:`open_clip` reads any of them as a stream of :class:`Frame` objects; :func:`clip_writer` writes a
stream of frames to any of them, atomically, keeping what the source had (timing, rotation, audio).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Literal

from unseen.errors import InputError
from unseen.media.atomic import atomic_file, atomic_folder
from unseen.media.frame import Frame
from unseen.media.frames import list_images, read_frames
from unseen.media.image import IMAGE_SUFFIXES, check_transparency, read_image, write_image
from unseen.media.video import VIDEO_SUFFIXES, VideoInfo, VideoReader, VideoWriter

Kind = Literal["image", "video", "folder"]


def media_kind(path: str | os.PathLike) -> Kind:
    """Tell what ``path`` names (or would name, as an output) from what it is and its extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        return "folder"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if not suffix and not path.exists():
        return "folder"
    raise InputError(f"{path}: unknown media type {suffix or '(no extension)'}; use an image "
                     f"({', '.join(IMAGE_SUFFIXES)}), a video ({', '.join(VIDEO_SUFFIXES)}) or a folder")


@dataclasses.dataclass
class Clip:
    """Frames from an image, a video or a folder, decoded lazily, one at a time.

    Attributes
    ----------
    frame_count
        Number of frames; for some video containers an estimate from duration and rate.
    exact_count
        Whether ``frame_count`` is known for certain before decoding.
    """

    path: Path
    kind: Kind
    frame_count: int | None
    exact_count: bool
    size: tuple[int, int]
    video: VideoInfo | None = None
    _files: list[Path] = dataclasses.field(default_factory=list, repr=False)

    @property
    def fps(self) -> Fraction | None:
        return self.video.fps if self.video else None

    def __iter__(self) -> Iterator[Frame]:
        if self.kind == "video":
            with VideoReader(self.path) as reader:
                yield from reader
        else:
            yield from read_frames(self._files)


def open_clip(path: str | os.PathLike) -> Clip:
    """Open an image file, a video file or a folder of frames for reading."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    kind = media_kind(path)
    if kind == "video":
        with VideoReader(path) as reader:
            info = reader.info
        exact = bool(info.frame_count) and path.suffix.lower() in (".mp4", ".mov", ".m4v")
        return Clip(path, kind, info.frame_count, exact, (info.width, info.height), video=info)
    files = [path] if kind == "image" else list_images(path)
    first = read_image(files[0])
    return Clip(path, kind, len(files), True, (first.shape[1], first.shape[0]), _files=files)


class _FolderSink:
    def __init__(self, folder: Path, frame_format: str):
        self._folder, self._suffix = folder, "." + frame_format.lower().lstrip(".")

    def write(self, frame: Frame) -> None:
        write_image(self._folder / f"{frame.name}{self._suffix}", frame.image)


class _ImageSink:
    def __init__(self, path: Path):
        self._path, self._written = path, False

    def write(self, frame: Frame) -> None:
        if self._written:
            raise InputError(f"{self._path}: an image holds one frame; write a video or a folder instead")
        write_image(self._path, frame.image)
        self._written = True


def check_output(source: Clip, output: str | os.PathLike, frame_format: str = "png",
                 other_inputs: tuple[str | os.PathLike, ...] = (), alpha: bool = False) -> Kind:
    """Check that ``output`` can receive ``source``'s frames before any work starts; return its kind.

    ``other_inputs`` (a mask, say) are protected like the source: the output may not be any of them.
    ``alpha`` says the frames will be RGBA: the output (or the folder's frame format) must keep it.
    """
    output = Path(output)
    kind = media_kind(output)
    for path in (source.path, *other_inputs):
        if output.exists() and Path(path).exists() and os.path.samefile(output, path):
            raise InputError(f"{output}: the output would overwrite an input ({path}); choose another path")
    if kind == "image" and (source.frame_count or 0) > 1:
        raise InputError(f"{output}: an image cannot hold {source.frame_count} frames; "
                         "give a video or a folder")
    if "." + frame_format.lower().lstrip(".") not in IMAGE_SUFFIXES:
        raise InputError(f"unknown frame format {frame_format!r}; use one of {', '.join(IMAGE_SUFFIXES)}")
    if alpha:
        check_transparency(output / f"*.{frame_format.lstrip('.')}" if kind == "folder" else output)
    parent = output.parent if kind != "folder" or not output.is_dir() else output
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{parent}: cannot create the output folder ({error.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise InputError(f"{parent}: the output folder is not writable")
    return kind


@contextlib.contextmanager
def clip_writer(output: str | os.PathLike, source: Clip, frame_format: str = "png",
                other_inputs: tuple[str | os.PathLike, ...] = (), alpha: bool = False,
                max_side: int | None = None) -> Iterator:
    """Yield an object whose ``write(frame)`` adds frames to ``output``; nothing appears there unless
    the block finishes without an error.

    A video output takes the source video's rate, timestamps, rotation and audio (a GIF: rate capped,
    no audio); a folder output gets one ``<frame name>.<frame_format>`` file per frame. ``alpha`` checks
    up front that the output keeps the transparency of RGBA frames (it is checked at the first frame
    anyway); ``max_side`` is :class:`VideoWriter`'s and applies to video outputs only.
    """
    output = Path(output)
    kind = check_output(source, output, frame_format, other_inputs, alpha)
    try:
        if kind == "folder":
            with atomic_folder(output) as tmp:
                yield _FolderSink(tmp, frame_format)
        elif kind == "image":
            with atomic_file(output) as tmp:
                yield _ImageSink(tmp)
        else:
            audio = source.path if source.video else None
            with atomic_file(output) as tmp, \
                    VideoWriter(tmp, like=source.video, audio_from=audio, max_side=max_side) as sink:
                yield sink
    except OSError as error:
        raise InputError(f"{output}: cannot write the output ({error.strerror or error})") from None
