"""Stream video files with PyAV: decode to upright RGB frames, encode back with the source's timing,
rotation, colours, codec family, bit depth and other streams (sound, subtitles).

Nothing here holds more than a frame at a time, so memory does not depend on the video's length.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import av.logging
import cv2
import numpy as np
from av.video.reformatter import Interpolation

from unseen.errors import InputError, warn
from unseen.media.codecs import choose_encoder, fits_size, pixel_format
from unseen.media.frame import Frame
from unseen.media.image import check_transparency
from unseen.media.streams import StreamCopier

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".gif")
# GIF delays count hundredths of a second and browsers slow down anything under 2/100 s; 25 fps plays
# everywhere and keeps the (already large) files smaller. GIFs are scaled to 960 px on their longer side
# unless asked otherwise: a GIF at the size of an HD video weighs tens of megabytes per second, and 960
# still leaves each panel of a three-panel collage readable.
GIF_MAX_FPS = 25
GIF_MAX_SIDE = 960
_GIF_TIME_BASE = Fraction(1, 100)
# Containers whose header states the length their muxer wrote (not a guess from the bit rate): a video that
# stops well before that length was cut short. 90 %: a clear shortfall, not a last frame's rounding or a longer sound.
_DECLARED_LENGTH = ("mov", "mp4", "matroska", "webm", "avi")
_SHORT = 0.9
# More frames a second than this is damaged timing (a bit flipped in a time scale), not a video: no screen shows
# them, and encoders and muxers fail on it or write files that show no frame. Such a video is refused.
_MAX_FPS = 10_000
_KEPT_TAGS = ("timecode", "language")
_UNSPECIFIED = 2  # AVCOL_*_UNSPECIFIED for colour spaces, primaries and transfer curves
# FFmpeg's colour space numbers (AVColorSpace) as swscale's (SWS_CS_*): BT.709, FCC, BT.601 (twice),
# SMPTE 240M, BT.2020; others convert as BT.601, swscale's default.
_SWS_COLORSPACE = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
# YUV to RGB with chroma interpolated to every pixel and exact rounding: swscale's default takes a fast path
# that costs 5 dB of PSNR on 8-bit 4:2:0 video and 11 dB on 10-bit (bench/fidelity.py), for ~7 ms a 1080p frame.
_DECODE = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a video file holds: upright size, average rate, frame count and extras to keep."""

    width: int
    height: int
    fps: Fraction
    frame_count: int | None
    rotation: int
    has_audio: bool
    time_base: Fraction
    duration: float | None
    codec: str | None = None
    pix_fmt: str | None = None
    color: tuple[int, int, int, int] = (_UNSPECIFIED, 0, _UNSPECIFIED, _UNSPECIFIED)
    """Colour space, range, primaries and transfer curve (FFmpeg's numbers), written back as they were."""
    tags: tuple[tuple[str, str], ...] = ()
    """The video stream's timecode and language."""


def _open_input(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable video ({error})") from None


def _frame_index(stream: av.video.stream.VideoStream) -> list | None:
    """The container's index of every frame (MP4, MOV), or ``None`` where it has none or lists key frames only."""
    entries = stream.index_entries
    return list(entries) if len(entries) and len(entries) == stream.frames else None


def _color(frame: av.VideoFrame) -> tuple[int, int, int, int]:
    """A frame's colour space, range, primaries and transfer curve, to be written back. Reserved numbers, and
    RGB's colour space (the output is YUV), become unspecified."""
    def known(value: int) -> int:
        return _UNSPECIFIED if value in (0, 3) else value

    return known(frame.colorspace), frame.color_range, known(frame.color_primaries), known(frame.color_trc)


def _upright(array: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a decoded picture the way a player shows it (rotation is counter-clockwise degrees)."""
    return np.ascontiguousarray(np.rot90(array, k=(rotation // 90) % 4))


def _stored(array: np.ndarray, rotation: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(array, k=-(rotation // 90) % 4))


def _fit(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` scaled down (area averaging, aspect kept) so that its longer side is at most ``max_side``."""
    height, width = image.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class VideoReader:
    """Decode a video file frame by frame.

    A video that stops before the length its container declares (a download or copy cut short) is an
    :class:`InputError`, up front where the container's index shows it, else once the frames run out; with
    ``accept_truncated`` the frames that decode are kept and a warning says how many.

    >>> with VideoReader("clip.mp4") as video:        # doctest: +SKIP
    ...     for frame in video: ...
    """

    def __init__(self, path: str | os.PathLike, accept_truncated: bool = False):
        self.path = Path(path)
        self.accept_truncated = accept_truncated
        self._container = _open_input(self.path)
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"{self.path}: has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._index = _frame_index(self._stream)
        self.info = self._probe()
        if self.info.fps > _MAX_FPS:
            self._container.close()
            raise InputError(f"{self.path}: its timestamps put {float(self.info.fps):.0f} frames in a second; "
                             "the timing is damaged")
        self.frames_in_file = self._frames_in_file()
        """How many frames the file holds when its index lists more (a cut-short MP4); else ``None``."""
        if self.frames_in_file is not None and not accept_truncated:
            self._container.close()
            raise InputError(f"{self.path}: the file is cut short: its index lists {self.info.frame_count} "
                             f"frames but only {self.frames_in_file} are in it; use --accept-truncated to keep those")
        self._decoded = 0
        self._end: float | None = None
        self._trouble: str | None = None

    def _probe(self) -> VideoInfo:
        stream = self._stream
        rotation, pix_fmt, color = self._first_frame()
        context = stream.codec_context
        width, height = context.width, context.height
        if rotation % 180:
            width, height = height, width
        # A damaged header can state an absurd rate (a Matroska default duration of 1 ns) where the frames' own
        # timestamps are fine: FFmpeg's guess from those is taken then.
        fps = next((rate for rate in (stream.average_rate, stream.guessed_rate) if rate and rate <= _MAX_FPS),
                   stream.average_rate or stream.guessed_rate or Fraction(25))
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / av.time_base
        frame_count = self._shown_in_index() or stream.frames or (round(duration * fps) if duration else None)
        tags = tuple((key, stream.metadata[key]) for key in _KEPT_TAGS if stream.metadata.get(key))
        return VideoInfo(width, height, Fraction(fps), frame_count, rotation,
                         bool(self._container.streams.audio), Fraction(stream.time_base), duration,
                         context.name, pix_fmt, color, tags)

    def _first_frame(self) -> tuple[int, str, tuple[int, int, int, int]]:
        """The rotation (it lives in frame side data), pixel format and colours of the first frame.

        It is decoded from a container of its own: seeking this one back to the start would trust the file's
        index, which in a damaged file points past the first frames, and they would be lost without a word.
        """
        with _open_input(self.path) as probe:
            try:
                frame = next(probe.decode(probe.streams.video[0]), None)
            except av.error.FFmpegError as error:
                raise InputError(f"{self.path}: cannot decode the video ({error})") from None
            if frame is None:
                raise InputError(f"{self.path}: the video stream holds no frames")
            return int(round(frame.rotation or 0)), frame.format.name, _color(frame)

    def _shown_in_index(self) -> int | None:
        """Frames the index lists less those its edit list cuts (a trim without re-encoding keeps them in the
        file, but no player shows them, and FFmpeg does not decode them)."""
        return None if self._index is None else sum(1 for entry in self._index if not entry.is_discard)

    def _frames_in_file(self) -> int | None:
        """Frames whose data lies inside the file, where the index lists data beyond its end; else ``None``."""
        if self._index is None:
            return None
        size = self.path.stat().st_size
        inside = [entry.pos + max(entry.size, 0) <= size for entry in self._index]
        if all(inside):
            return None
        return sum(1 for entry, kept in zip(self._index, inside, strict=True) if kept and not entry.is_discard)

    def __iter__(self) -> Iterator[Frame]:
        for frame in self._frames():
            image = _upright(frame.to_ndarray(format="rgb24", interpolation=_DECODE), self.info.rotation)
            yield Frame(image, self._decoded, f"{self._decoded:05d}", frame.pts, frame.duration,
                        Fraction(frame.time_base))
            self._decoded += 1
        self._check_length()

    def _frames(self) -> Iterator[av.VideoFrame]:
        flushed = False
        for packet in self._packets():
            if packet.stream.index == self._stream.index:
                flushed = packet.size == 0
                yield from self._decode(packet)
        if not flushed:  # the demuxer stopped on damage: the decoder still holds the last frames
            yield from self._decode(None)

    def _packets(self) -> Iterator[av.Packet]:
        # Every stream is demuxed (only the video is decoded): where the sound stops too tells a file cut
        # short from a video that simply ends before its sound.
        packets = self._container.demux()
        while True:
            try:
                packet = next(packets, None)
            except av.error.FFmpegError as error:
                self._damaged(error)
                return
            if packet is None:
                return
            if packet.pts is not None and packet.time_base is not None:
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                self._end = end if self._end is None else max(self._end, end)
            yield packet

    def _decode(self, packet: av.Packet | None) -> list[av.VideoFrame]:
        try:
            return packet.decode() if packet is not None else self._stream.codec_context.decode(None)
        except av.error.FFmpegError as error:
            self._damaged(error)
            return []

    def _damaged(self, error: av.error.FFmpegError) -> None:
        """A demuxer or decoder error: the file is cut short or corrupt where the frames stop."""
        of = f" of {self.info.frame_count}" if self.info.frame_count else ""
        reason = " ".join(str(getattr(error, "strerror", None) or error).split())
        message = f"{self.path}: the video is corrupt or cut short after frame {self._decoded}{of} ({reason})"
        if not self.accept_truncated:
            raise InputError(f"{message}; use --accept-truncated to keep the frames before it")
        self._trouble = self._trouble or message

    def _check_length(self) -> None:
        """Say (as an error, or a warning with ``accept_truncated``) that the frames stopped early."""
        if self._trouble:  # kept with accept_truncated only; raised at once otherwise
            warn(f"{self._trouble}; kept the {self._decoded} frames that decode")
            return
        problem = self._shortfall()
        if problem and not self.accept_truncated:
            raise InputError(f"{problem}; use --accept-truncated to keep them")
        if problem:
            warn(f"{problem}; kept them")
            return
        damage = self._damage_logged()
        if damage:
            warn(f"{self.path}: FFmpeg found damage in the file ({damage}); kept the {self._decoded} frames that "
                 "decode, but frames may be missing")

    def _damage_logged(self) -> str | None:
        """The first error FFmpeg's demuxer logs while reading the whole file, or None.

        Without a complete index (Matroska, WebM, AVI) the demuxer skips damaged bytes, and a frame in them, or
        stops at a cut, and says so only in its log, which PyAV keeps off: the file is read once more (no
        decoding), with the log on and captured. A file with an index is checked against it instead.
        """
        if self._index is not None:
            return None
        previous = av.logging.get_level()
        av.logging.set_level(av.logging.ERROR)
        try:
            # A demuxer error stops the scan: the reader has met it, and said so, already.
            with av.logging.Capture() as logs, _open_input(self.path) as container, \
                    contextlib.suppress(av.error.FFmpegError):
                for _ in container.demux():
                    pass
        finally:
            av.logging.set_level(previous)
        errors = [" ".join(message.split()) for level, _, message in logs if level <= av.logging.ERROR]
        return errors[0] if errors else None

    def _shortfall(self) -> str | None:
        declared, decoded = self._shown_in_index(), self._decoded
        if declared and decoded < _SHORT * declared and declared - decoded > 1:
            return f"{self.path}: the video ends early: {decoded} of its {declared} frames decode"
        length = self._declared_length()
        if length and self._end is not None:
            start = (self._container.start_time or 0) / av.time_base
            if self._end - start < _SHORT * length:
                expected = round(length * self.info.fps)
                return (f"{self.path}: the video ends early, at {self._end - start:.2f} s of the {length:.2f} s "
                        f"it declares ({decoded} frames of about {expected})")
        return None

    def _declared_length(self) -> float | None:
        names = self._container.format.name.split(",")
        if self._container.duration is None or not any(name in _DECLARED_LENGTH for name in names):
            return None
        return self._container.duration / av.time_base

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _GifPalette:
    """Turns RGB frames into 256-colour frames, each with a palette of its own (ffmpeg's palettegen and
    paletteuse), which looks far better on real footage than one fixed palette."""

    def __init__(self, width: int, height: int):
        graph = av.filter.Graph()
        source = graph.add_buffer(width=width, height=height, format="rgb24", time_base=_GIF_TIME_BASE)
        split, sink = graph.add("split"), graph.add("buffersink")
        palette = graph.add("palettegen", "stats_mode=single")
        # Ordered dithering stays put from frame to frame; error diffusion makes the noise crawl.
        use = graph.add("paletteuse", "new=1:dither=bayer:bayer_scale=5")
        source.link_to(split)
        split.link_to(use, 0, 0)
        split.link_to(palette, 1, 0)
        palette.link_to(use, 0, 1)
        use.link_to(sink)
        graph.configure()
        self._graph = graph

    def convert(self, frame: av.VideoFrame | None) -> list[av.VideoFrame]:
        """Push one RGB frame (``None`` at the end); return the palette frames ready so far."""
        self._graph.push(frame)
        ready = []
        while True:
            try:
                ready.append(self._graph.pull())
            except (av.error.BlockingIOError, av.error.EOFError):
                return ready


class VideoWriter:
    """Encode upright RGB (or RGBA) frames into a video file, keeping a source video's timing, rotation,
    colours, codec family, bit depth and other streams.

    RGBA frames keep their alpha in ``.webm`` (VP9) and ``.mov`` (ProRes 4444) files; other containers
    refuse them with an :class:`InputError`. A ``.gif`` gets no sound, at most ``GIF_MAX_FPS`` frames a
    second (faster sources have frames dropped, the timing is kept) and, unless ``max_side`` says
    otherwise, frames at most ``GIF_MAX_SIDE`` pixels on their longer side. Timestamps the output cannot
    take (two frames on one tick of its clock) are moved forward one tick each, with a warning.

    Parameters
    ----------
    path
        The output file; its extension picks the container.
    fps
        Frame rate used for frames that carry no timestamp of their own (frames from images).
    like
        The source video's :class:`VideoInfo`: its rotation, colours, codec family and bit depth are written
        back and its timestamps reused.
    audio_from
        A video file whose sound, subtitle and attachment streams are copied (sound re-encoded only where the
        container demands; what the container cannot hold is left out, with a warning).
    max_side
        Scale frames down so that their longer side is at most this many pixels; ``0`` keeps every size,
        ``None`` uses the container's default (``GIF_MAX_SIDE`` for GIFs, no limit otherwise).
    codec, crf
        The encoder family (``h264``, ``hevc``, ``vp9``, ``av1``, ``prores``, ``ffv1``, ``mpeg4``) and quality
        to use instead of the input's family at a visually lossless CRF; see :mod:`unseen.media.codecs`.
    """

    def __init__(self, path: str | os.PathLike, fps: Fraction = Fraction(25), like: VideoInfo | None = None,
                 audio_from: str | os.PathLike | None = None, max_side: int | None = None,
                 codec: str | None = None, crf: int | None = None):
        self.path = Path(path)
        self._suffix = self.path.suffix.lower()
        self._gif = self._suffix == ".gif"
        if self._gif and (codec or crf is not None):
            raise InputError("a GIF has one codec and no CRF; leave --codec and --crf out")
        self._choice = (codec, crf)
        self._encoder = None if self._gif else choose_encoder(self.path, codec, crf, like.codec if like else None)
        self._fps = Fraction(like.fps if like else fps).limit_denominator(1_000_000)
        self._like = like
        # GIF has no place for a display rotation, so its frames are stored upright.
        self._rotation = like.rotation if like and not self._gif else 0
        self._max_side = (GIF_MAX_SIDE if self._gif else 0) if max_side is None else max_side
        try:
            self._container = av.open(str(self.path), mode="w")
        except (av.error.FFmpegError, ValueError) as error:
            raise InputError(f"{self.path}: cannot write a video here ({error})") from None
        self._stream: av.video.stream.VideoStream | None = None
        self._extras_from = Path(audio_from) if audio_from is not None and like is not None else None
        self._extras: StreamCopier | None = None
        self._count = 0
        self._durations: dict[int, int] = {}
        self._alpha: bool | None = None  # decided by the first frame
        self._palette: _GifPalette | None = None
        self._gif_start: float | None = None
        self._gif_slot = -1
        self._clock = _Clock()

    def _open_stream(self, stored_height: int, stored_width: int) -> None:
        if self._gif:
            stream = self._add_stream("gif", "pal8", {})
            stream.codec_context.time_base = _GIF_TIME_BASE
            self._palette = _GifPalette(stored_width, stored_height)
        else:
            stream = self._add_encoded_stream((stored_width, stored_height))
            stream.codec_context.time_base = self._like.time_base if self._keeps_timestamps else 1 / self._fps
        stream.width, stream.height = stored_width, stored_height
        if self._rotation:
            stream.set_display_rotation(self._rotation)
        self._stream = stream
        if self._extras_from is not None and not self._gif:  # after the video, which stays the first stream
            self._extras = StreamCopier(self._extras_from, self._container, self._suffix)
        # The header fixes the output's clock, which the timestamps must fit (see _Clock).
        try:
            self._container.start_encoding()
        except av.error.FFmpegError as error:  # an encoder refusing what a damaged input says (its time base)
            context = stream.codec_context
            raise InputError(f"cannot encode the output with {context.name} (time base {context.time_base}, "
                             f"{stored_width}x{stored_height} {context.pix_fmt}): "
                             f"{getattr(error, 'strerror', None) or error}") from None
        self._clock.start(stream.codec_context.time_base, stream.time_base)

    def _add_stream(self, codec: str, pix_fmt: str, options: dict[str, str]) -> av.video.stream.VideoStream:
        rate = min(self._fps, GIF_MAX_FPS) if self._gif else self._fps
        stream = self._container.add_stream(codec, rate=rate, options=options)
        stream.pix_fmt = pix_fmt
        return stream

    def _add_encoded_stream(self, size: tuple[int, int]) -> av.video.stream.VideoStream:
        encoder = self._encoder
        if self._alpha:
            encoder = choose_encoder(self.path, *self._choice, alpha=True)
        if not fits_size(encoder, size):
            warn(f"{encoder.name} cannot encode frames of {size[0]}x{size[1]}; writing h264")
            encoder = choose_encoder(self.path, "h264", self._choice[1])
        like = self._like
        pix_fmt = pixel_format(encoder, like.pix_fmt if like else None, bool(self._alpha), size)
        stream = self._add_stream(encoder.name, pix_fmt, encoder.options(pix_fmt))
        if encoder.family == "hevc" and self._suffix in (".mp4", ".mov", ".m4v"):
            stream.codec_context.codec_tag = "hvc1"  # what Apple's players take; FFmpeg's default hev1 they refuse
        if like is not None:
            context = stream.codec_context
            context.colorspace, context.color_range, context.color_primaries, context.color_trc = like.color
            stream.metadata.update(dict(like.tags))
        return stream

    @property
    def _keeps_timestamps(self) -> bool:
        # AVI has no timestamps, only a constant rate; GIF counts hundredths of a second.
        return self._like is not None and self._suffix not in (".avi", ".gif")

    def _prepared(self, image: np.ndarray) -> np.ndarray:
        """The picture as stored: grey made RGB, scaled to ``max_side``, turned back by the rotation, alpha
        checked."""
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        alpha = image.ndim == 3 and image.shape[2] == 4
        if self._alpha is None:
            if alpha:
                check_transparency(self.path)
            self._alpha = alpha
        elif alpha and not self._alpha:
            raise InputError(f"{self.path}: frame {self._count} has transparency but the first frame had none")
        elif self._alpha and not alpha:
            image = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
        return _stored(_fit(image, self._max_side), self._rotation)

    def write(self, frame: Frame) -> None:
        """Encode one upright RGB (``HxWx3``), RGBA (``HxWx4``) or grey (``HxW``) frame."""
        stored = self._prepared(frame.image)
        if self._stream is None:
            self._open_stream(*stored.shape[:2])
        if self._gif:
            self._write_gif(frame, stored)
        else:
            self._write_video(frame, stored)
        self._count += 1

    def _write_video(self, frame: Frame, stored: np.ndarray) -> None:
        video_frame = self._video_frame(stored)
        time_base = self._stream.codec_context.time_base
        video_frame.pts, video_frame.time_base = self._clock.pts(self._seconds(frame)), time_base
        if frame.duration and frame.time_base == time_base:
            self._durations[video_frame.pts] = frame.duration
        self._mux_video(self._stream.encode(video_frame))
        if self._extras is not None:
            self._extras.write_until(float(video_frame.pts * time_base))

    def _seconds(self, frame: Frame) -> Fraction:
        """When ``frame`` is shown: its own timestamp where the output keeps the source's, else by the rate."""
        if self._keeps_timestamps and frame.pts is not None and frame.time_base == self._like.time_base:
            return frame.pts * frame.time_base
        return Fraction(self._count) / self._fps

    def _video_frame(self, stored: np.ndarray) -> av.VideoFrame:
        """The picture in the encoder's pixel format, in the source's colour space and range (RGB would
        otherwise be turned into BT.601 YUV and left untagged, which players show in BT.709 colours)."""
        video_frame = av.VideoFrame.from_ndarray(stored, format="rgba" if self._alpha else "rgb24")
        if self._like is None:
            return video_frame
        colorspace, color_range = _SWS_COLORSPACE.get(self._like.color[0]), self._like.color[1]
        return video_frame.reformat(format=self._stream.codec_context.pix_fmt, src_colorspace=colorspace,
                                    dst_colorspace=colorspace, dst_color_range=color_range or None)

    def _write_gif(self, frame: Frame, stored: np.ndarray) -> None:
        if frame.pts is not None and frame.time_base:
            seconds = float(frame.pts * frame.time_base)
        else:
            seconds = self._count / self._fps
        if self._gif_start is None:
            self._gif_start = seconds
        seconds -= self._gif_start
        # One frame per 1/GIF_MAX_FPS slot: faster sources lose frames, not time.
        slot = math.floor(seconds * GIF_MAX_FPS + 1e-6)
        if slot <= self._gif_slot:
            return
        self._gif_slot = slot
        video_frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
        video_frame.pts, video_frame.time_base = round(seconds / _GIF_TIME_BASE), _GIF_TIME_BASE
        for paletted in self._palette.convert(video_frame):
            self._mux_video(self._stream.encode(paletted))

    def _mux_video(self, packets: list[av.Packet]) -> None:
        # Encoders guess each packet's duration from the rate; the source's own durations keep a
        # variable-rate video's last frame (and so its length) exact.
        for packet in packets:
            duration = self._durations.pop(packet.pts, None)
            if duration:
                packet.duration = duration
        self._container.mux(packets)

    def close(self, failed: bool = False) -> None:
        """Flush the encoders and finish the file; ``failed``: the file is being given up, say nothing (and do
        not flush: an encoder that failed would only fail again, hiding why)."""
        try:
            if self._palette is not None and not failed:
                for paletted in self._palette.convert(None):
                    self._mux_video(self._stream.encode(paletted))
            if self._stream is not None and not failed:
                self._mux_video(self._stream.encode(None))
            if self._extras is not None and not failed:
                self._extras.write_until(None)
        finally:
            if self._extras is not None:
                self._extras.close()
            self._container.close()
        moved = self._clock.moved
        if moved and not failed:
            warn(f"{moved} {'frames' if moved > 1 else 'frame'} had the timestamp of the frame before, or one this "
                 f"file's clock cannot tell from it; moved {'each' if moved > 1 else 'it'} one tick "
                 f"({self._clock.tick} s) later")

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(failed=kind is not None)


class _Clock:
    """Turns frame times into encoder timestamps that the output file can hold.

    A source may put two frames on one timestamp, or on two that the output's coarser clock (Matroska counts
    milliseconds) rounds to one; the muxer refuses both. Each such frame is moved one tick of the coarser of
    the encoder's and the file's clocks after the frame before it; every other timestamp is kept exactly.
    """

    def __init__(self):
        self.moved = 0
        self.tick = Fraction(1)
        self._time_base = Fraction(1)
        self._last: int | None = None

    def start(self, encoder_time_base: Fraction, file_time_base: Fraction) -> None:
        self._time_base = Fraction(encoder_time_base)
        self.tick = max(self._time_base, Fraction(file_time_base))

    def pts(self, seconds: Fraction) -> int:
        """The timestamp, in the encoder's time base, of a frame shown at ``seconds``."""
        slot = round(seconds / self.tick)
        if self._last is not None and slot <= self._last:
            slot = self._last + 1
            self.moved += 1
        self._last = slot
        return round(slot * self.tick / self._time_base)
