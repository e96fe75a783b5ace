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

import numpy as np

from unseen.errors import InputError, warn
from unseen.media.atomic import atomic_file, atomic_folder, remove_stale_parts
from unseen.media.frame import Frame
from unseen.media.frames import list_images, looks_like_sequence, read_frames
from unseen.media.image import (
    ALPHA_IMAGE_SUFFIXES,
    ALPHA_VIDEO_SUFFIXES,
    DEEP_IMAGE_SUFFIXES,
    IMAGE_SUFFIXES,
    check_transparency,
    image_size,
    read_image,
    restore,
    write_image,
)
from unseen.media.video import VIDEO_SUFFIXES, VideoInfo, VideoReader, VideoWriter

Kind = Literal["image", "video", "folder"]
# What a folder of images is: frames of one video, unrelated photos, or "auto": told by looking.
FOLDER_MODES = ("auto", "sequence", "photos")


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
    size
        ``(width, height)`` of the (first) frame.
    sequence
        Whether the frames are one video's, so that work may look across them (temporal smoothing, the
        video engine); ``False`` for a photo and for a folder of photos.
    same_size
        Whether every frame has ``size``; photos of a folder may differ.
    keep_original
        Whether frames of image files carry the file's alpha channel or 16 bits (:attr:`Frame.original`).
    accept_truncated
        A video that stops before its declared length gives the frames it has, with a warning, instead of
        an :class:`InputError`; ``frame_count`` is then what its index shows is in the file.
    """

    path: Path
    kind: Kind
    frame_count: int | None
    exact_count: bool
    size: tuple[int, int]
    video: VideoInfo | None = None
    sequence: bool = True
    same_size: bool = True
    keep_original: bool = False
    accept_truncated: bool = False
    _files: list[Path] = dataclasses.field(default_factory=list, repr=False)

    @property
    def fps(self) -> Fraction | None:
        return self.video.fps if self.video else None

    def __iter__(self) -> Iterator[Frame]:
        if self.kind == "video":
            with VideoReader(self.path, self.accept_truncated) as reader:
                yield from reader
        else:
            yield from read_frames(self._files, self.keep_original)


def check_folder_mode(folder: str) -> None:
    """``InputError`` unless ``folder`` is one of :data:`FOLDER_MODES`."""
    if folder not in FOLDER_MODES:
        raise InputError(f"unknown folder mode {folder!r}; choose one of: {', '.join(FOLDER_MODES)}")


def open_clip(path: str | os.PathLike, folder: str = "auto", keep_original: bool = False,
              accept_truncated: bool = False) -> Clip:
    """Open an image file, a video file or a folder of frames for reading.

    Parameters
    ----------
    path
        The image, video or folder.
    folder
        What a folder holds: ``sequence`` (frames of one video: one size), ``photos`` (each image on its
        own), or ``auto``: a sequence when its images share a size and neighbours look alike.
    keep_original
        Frames of image files carry the file's alpha channel or 16-bit pixels (:attr:`Frame.original`).
    accept_truncated
        A video cut short (a download or copy that stopped) gives the frames it has, with a warning; else it
        is an :class:`InputError`, raised here already where the container's index shows it.
    """
    check_folder_mode(folder)
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    kind = media_kind(path)
    if kind == "video":
        with VideoReader(path, accept_truncated) as reader:
            info, present = reader.info, reader.frames_in_file
        exact = bool(info.frame_count) and path.suffix.lower() in (".mp4", ".mov", ".m4v") and present is None
        count = info.frame_count if present is None else present
        return Clip(path, kind, count, exact, (info.width, info.height), video=info,
                    accept_truncated=accept_truncated)
    if kind == "image":
        first = read_image(path)
        return Clip(path, kind, 1, True, (first.shape[1], first.shape[0]), sequence=False,
                    keep_original=keep_original, _files=[path])
    files = list_images(path)
    sizes = [image_size(file) for file in files]
    same_size = len(set(sizes)) == 1
    if folder == "sequence" and not same_size:
        other = next(i for i, size in enumerate(sizes) if size != sizes[0])
        raise InputError(f"{path}: frames of a sequence share one size, but {files[0].name} is "
                         f"{sizes[0][0]}x{sizes[0][1]} and {files[other].name} is {sizes[other][0]}x{sizes[other][1]}")
    sequence = folder == "sequence" or (folder == "auto" and same_size and looks_like_sequence(files))
    return Clip(path, kind, len(files), True, sizes[0], sequence=sequence, same_size=same_size,
                keep_original=keep_original, _files=files)


def _picture(frame: Frame, suffix: str, video: bool = False) -> np.ndarray:
    """What is written of ``frame`` into a file with ``suffix``: its picture, given back the input file's
    alpha channel and 16 bits where the output keeps them (with a warning where it does not)."""
    original = frame.original
    if original is None:
        return frame.image
    alpha = suffix in (ALPHA_VIDEO_SUFFIXES if video else ALPHA_IMAGE_SUFFIXES)
    depth = not video and suffix in DEEP_IMAGE_SUFFIXES
    if original.shape[2] == 4 and not alpha:
        warn(f"{suffix} cannot hold transparency: the input's alpha channel is dropped "
             f"(write {', '.join(ALPHA_IMAGE_SUFFIXES)} to keep it)")
    if original.dtype == np.uint16 and not depth and not video:
        warn(f"{suffix} holds 8 bits per channel: the 16-bit input is written as 8-bit "
             f"(write {', '.join(DEEP_IMAGE_SUFFIXES)} to keep 16 bits)")
    return restore(frame.image, original, alpha, depth)


class _FolderSink:
    def __init__(self, folder: Path, frame_format: str):
        self._folder, self._suffix = folder, "." + frame_format.lower().lstrip(".")

    def write(self, frame: Frame) -> None:
        write_image(self._folder / f"{frame.name}{self._suffix}", _picture(frame, self._suffix), frame.palette,
                    frame.metadata)


class _ImageSink:
    def __init__(self, path: Path):
        self._path, self._written = path, False

    def write(self, frame: Frame) -> None:
        if self._written:
            raise InputError(f"{self._path}: an image holds one frame; write a video or a folder instead")
        write_image(self._path, _picture(frame, self._path.suffix.lower()), frame.palette, frame.metadata)
        self._written = True


class _VideoSink:
    def __init__(self, writer: VideoWriter, suffix: str):
        self._writer, self._suffix = writer, suffix

    def write(self, frame: Frame) -> None:
        if frame.original is not None:
            frame = frame.with_image(_picture(frame, self._suffix, video=True))
        self._writer.write(frame)


def check_output(source: Clip, output: str | os.PathLike, frame_format: str = "png",
                 other_inputs: tuple[str | os.PathLike, ...] = (), alpha: bool = False) -> Kind:
    """Check that ``output`` can receive ``source``'s frames before any work starts; return its kind.

    ``other_inputs`` (a mask, say) are protected like the source: the output may not be any of them.
    ``alpha`` says the frames will be RGBA: the output (or the folder's frame format) must keep it.
    Nothing is created: the folders the output needs are made by :func:`clip_writer`.
    """
    output = Path(output)
    kind = media_kind(output)
    for path in (source.path, *other_inputs):
        if output.exists() and Path(path).exists() and os.path.samefile(output, path):
            raise InputError(f"{output}: the output would overwrite an input ({path}); choose another path")
    if kind == "image" and (source.frame_count or 0) > 1:
        raise InputError(f"{output}: an image cannot hold {source.frame_count} frames; "
                         "give a video or a folder")
    if kind == "video" and not source.same_size:
        raise InputError(f"{output}: the photos in {source.path} differ in size and cannot make one video; "
                         "write a folder")
    if "." + frame_format.lower().lstrip(".") not in IMAGE_SUFFIXES:
        raise InputError(f"unknown frame format {frame_format!r}; use one of {', '.join(IMAGE_SUFFIXES)}")
    if alpha:
        check_transparency(output / f"*.{frame_format.lstrip('.')}" if kind == "folder" else output)
    _check_creatable(output.parent)
    return kind


def _check_creatable(folder: Path) -> None:
    """``InputError`` unless ``folder`` is, or can be made, a folder we may write in."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{folder}: cannot create the output folder ({existing} is not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{existing}: the output folder is not writable")


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, innermost first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(exist_ok=True)
        except OSError as error:
            raise InputError(f"{created}: cannot create the output folder ({error.strerror})") from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # something else was put there meanwhile: it stays, and so do its parents
            return


@contextlib.contextmanager
def clip_writer(output: str | os.PathLike, source: Clip, frame_format: str = "png",
                other_inputs: tuple[str | os.PathLike, ...] = (), alpha: bool = False,
                max_side: int | None = None, codec: str | None = None, crf: int | None = None) -> Iterator:
    """Yield an object whose ``write(frame)`` adds frames to ``output``; nothing appears there unless
    the block finishes without an error (not even the folders made for it).

    A video output takes the source video's rate, timestamps, rotation and audio (a GIF: rate capped,
    no audio); a folder output gets one ``<frame name>.<frame_format>`` file per frame. ``alpha`` checks
    up front that the output keeps the transparency of RGBA frames (it is checked at the first frame
    anyway); ``max_side``, ``codec`` and ``crf`` are :class:`VideoWriter`'s and apply to video outputs only
    (``codec`` or ``crf`` for another output is an :class:`InputError`). Frames that carry
    their file's alpha or 16 bits (:attr:`Frame.original`) get them back where the output keeps them.
    Temporary outputs left by killed runs beside ``output`` are removed first.
    """
    output = Path(output)
    kind = check_output(source, output, frame_format, other_inputs, alpha)
    if kind != "video" and (codec or crf is not None):
        raise InputError(f"{output}: --codec and --crf apply to video outputs only")
    made = _make_folders(output.parent)
    remove_stale_parts(output.parent)
    finished = False
    try:
        with _sink(kind, output, source, frame_format, max_side, (codec, crf)) as sink:
            yield sink
        finished = True
    except OSError as error:
        raise InputError(f"{output}: cannot write the output ({error.strerror or error})") from None
    finally:
        if not finished:
            _remove_empty(made)


@contextlib.contextmanager
def _sink(kind: Kind, output: Path, source: Clip, frame_format: str, max_side: int | None,
          encoding: tuple[str | None, int | None] = (None, None)) -> Iterator:
    if kind == "folder":
        with atomic_folder(output) as tmp:
            yield _FolderSink(tmp, frame_format)
    elif kind == "image":
        with atomic_file(output) as tmp:
            yield _ImageSink(tmp)
    else:
        audio = source.path if source.video else None
        with atomic_file(output) as tmp, \
                VideoWriter(tmp, like=source.video, audio_from=audio, max_side=max_side, codec=encoding[0],
                            crf=encoding[1]) as writer:
            yield _VideoSink(writer, output.suffix.lower())
