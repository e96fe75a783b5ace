"""Stream video files with PyAV: decode to upright RGB frames, encode back with the source's timing,
rotation and audio.

Nothing here holds more than a frame at a time, so memory does not depend on the video's length.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import cv2
import numpy as np

from unseen.errors import InputError
from unseen.media.frame import Frame
from unseen.media.image import check_transparency

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".gif")
# Codecs that keep an alpha channel: VP9 with alpha in WebM, PNG frames in QuickTime.
_ALPHA_CODEC = {".webm": "libvpx-vp9", ".mov": "png"}
# GIF delays count hundredths of a second and browsers slow down anything under 2/100 s; 25 fps plays
# everywhere and keeps the (already large) files smaller. GIFs are scaled to 960 px on their longer side
# unless asked otherwise: a GIF at the size of an HD video weighs tens of megabytes per second, and 960
# still leaves each panel of a three-panel collage readable.
GIF_MAX_FPS = 25
GIF_MAX_SIDE = 960
_GIF_TIME_BASE = Fraction(1, 100)

# Encoder per container; x264 at CRF 17 is visually lossless and fast enough on a laptop CPU.
_VIDEO_CODEC = {".webm": "libvpx-vp9", ".avi": "mpeg4"}
_VIDEO_OPTIONS = {
    "libx264": {"crf": "17", "preset": "medium"},
    "libvpx-vp9": {"crf": "24", "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},
    "mpeg4": {"qscale": "2"},
}
# Audio codecs each container takes as they are; anything else is re-encoded to the fallback.
_AUDIO_COPYABLE = {
    ".mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"},
    ".m4v": {"aac", "mp3", "alac", "ac3", "eac3"},
    ".mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    ".webm": {"opus", "vorbis"},
    ".avi": {"mp3", "ac3", "pcm_s16le", "aac"},
}
_AUDIO_FALLBACK = {".webm": "libopus", ".avi": "libmp3lame"}


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


def _open_input(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable video ({error})") from None


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

    >>> with VideoReader("clip.mp4") as video:        # doctest: +SKIP
    ...     for frame in video: ...
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._container = _open_input(self.path)
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"{self.path}: has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.info = self._probe()

    def _probe(self) -> VideoInfo:
        stream = self._stream
        first = self._first_frame()
        rotation = int(round(first.rotation or 0)) if first is not None else 0
        width, height = stream.codec_context.width, stream.codec_context.height
        if rotation % 180:
            width, height = height, width
        fps = stream.average_rate or stream.guessed_rate or Fraction(25)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / av.time_base
        frame_count = stream.frames or (round(duration * fps) if duration else None)
        return VideoInfo(width, height, Fraction(fps), frame_count, rotation,
                         bool(self._container.streams.audio), Fraction(stream.time_base), duration)

    def _first_frame(self) -> av.VideoFrame | None:
        # Decode one frame to learn the rotation (it lives in frame side data), then rewind.
        try:
            frame = next(self._container.decode(self._stream), None)
        except av.error.FFmpegError as error:
            raise InputError(f"{self.path}: cannot decode the video ({error})") from None
        if frame is None:
            raise InputError(f"{self.path}: the video stream holds no frames")
        self._container.seek(0, stream=self._stream)
        return frame

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        try:
            for frame in self._container.decode(self._stream):
                image = _upright(frame.to_ndarray(format="rgb24"), self.info.rotation)
                yield Frame(image, index, f"{index:05d}", frame.pts, frame.duration, Fraction(frame.time_base))
                index += 1
        except av.error.FFmpegError as error:
            raise InputError(f"{self.path}: the video is corrupt after frame {index} ({error})") from None

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _AudioCopier:
    """Moves the source's first audio stream into the output, interleaved with the video as it grows."""

    def __init__(self, source: Path, output: av.container.OutputContainer, suffix: str):
        self._input = av.open(str(source))
        self._in_stream = self._input.streams.audio[0]
        codec = self._in_stream.codec_context.name
        copyable = _AUDIO_COPYABLE.get(suffix)
        self._copy = copyable is None or codec in copyable
        if self._copy:
            self._out_stream = output.add_stream_from_template(self._in_stream)
        else:
            fallback = _AUDIO_FALLBACK.get(suffix, "aac")
            self._out_stream = output.add_stream(fallback, rate=self._in_stream.codec_context.sample_rate)
            if fallback == "libopus":
                self._out_stream.codec_context.sample_rate = 48000
            self._out_stream.codec_context.layout = self._in_stream.codec_context.layout
        self._output = output
        self._packets = self._input.demux(self._in_stream)
        self._pending: av.Packet | None = None
        self._done = False

    def write_until(self, seconds: float | None) -> None:
        """Mux every audio packet that starts before ``seconds`` (all remaining ones if ``None``)."""
        while not self._done:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                self._done = True
                break
            if packet.dts is None and packet.size == 0:  # the demuxer's flush marker
                continue
            if seconds is not None and packet.pts is not None and packet.time_base is not None \
                    and float(packet.pts * packet.time_base) > seconds:
                self._pending = packet
                break
            self._mux(packet)
        if seconds is None and not self._copy:
            self._output.mux(self._out_stream.encode(None))

    def _mux(self, packet: av.Packet) -> None:
        if self._copy:
            packet.stream = self._out_stream
            self._output.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None
            self._output.mux(self._out_stream.encode(frame))

    def close(self) -> None:
        self._input.close()


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
    """Encode upright RGB (or RGBA) frames into a video file, keeping a source video's timing, rotation and
    audio.

    RGBA frames keep their alpha in ``.webm`` (VP9) and ``.mov`` (PNG frames) files; other containers
    refuse them with an :class:`InputError`. A ``.gif`` gets no audio, at most ``GIF_MAX_FPS`` frames a
    second (faster sources have frames dropped, the timing is kept) and, unless ``max_side`` says
    otherwise, frames at most ``GIF_MAX_SIDE`` pixels on their longer side.

    Parameters
    ----------
    path
        The output file; its extension picks the container and codecs.
    fps
        Frame rate used for frames that carry no timestamp of their own (frames from images).
    like
        The source video's :class:`VideoInfo`: its rotation is written back and its timestamps reused.
    audio_from
        A video file whose first audio stream is copied (re-encoded only where the container demands).
    max_side
        Scale frames down so that their longer side is at most this many pixels; ``0`` keeps every size,
        ``None`` uses the container's default (``GIF_MAX_SIDE`` for GIFs, no limit otherwise).
    """

    def __init__(self, path: str | os.PathLike, fps: Fraction = Fraction(25), like: VideoInfo | None = None,
                 audio_from: str | os.PathLike | None = None, max_side: int | None = None):
        self.path = Path(path)
        self._suffix = self.path.suffix.lower()
        self._gif = self._suffix == ".gif"
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
        self._audio = None
        if audio_from is not None and like is not None and like.has_audio and not self._gif:
            self._audio = _AudioCopier(Path(audio_from), self._container, self._suffix)
        self._count = 0
        self._durations: dict[int, int] = {}
        self._alpha: bool | None = None  # decided by the first frame
        self._palette: _GifPalette | None = None
        self._gif_start: float | None = None
        self._gif_slot = -1

    def _codec(self, even: bool) -> tuple[str, str]:
        """Codec and pixel format for this container and the first frame's size and channels."""
        if self._gif:
            return "gif", "pal8"
        if self._alpha:
            # libvpx takes alpha only with 4:2:0 chroma, which VP9 (unlike x264) allows at odd sizes too.
            codec = _ALPHA_CODEC[self._suffix]
            return codec, "rgba" if codec == "png" else "yuva420p"
        codec = _VIDEO_CODEC.get(self._suffix, "libx264")
        # 4:2:0 halves chroma resolution and needs even sides; odd sizes keep full chroma instead.
        return codec, "yuv420p" if even or codec == "mpeg4" else "yuv444p"

    def _open_stream(self, stored_height: int, stored_width: int) -> None:
        codec, pix_fmt = self._codec(stored_width % 2 == 0 and stored_height % 2 == 0)
        rate = min(self._fps, GIF_MAX_FPS) if self._gif else self._fps
        stream = self._container.add_stream(codec, rate=rate, options=dict(_VIDEO_OPTIONS.get(codec, {})))
        stream.width, stream.height = stored_width, stored_height
        stream.pix_fmt = pix_fmt
        if self._gif:
            stream.codec_context.time_base = _GIF_TIME_BASE
            self._palette = _GifPalette(stored_width, stored_height)
        elif self._keeps_timestamps:
            stream.codec_context.time_base = self._like.time_base
        else:
            stream.codec_context.time_base = 1 / self._fps
        if self._rotation:
            stream.set_display_rotation(self._rotation)
        self._stream = stream

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
        video_frame = av.VideoFrame.from_ndarray(stored, format="rgba" if self._alpha else "rgb24")
        if self._keeps_timestamps and frame.pts is not None and frame.time_base == self._like.time_base:
            video_frame.pts, video_frame.time_base = frame.pts, frame.time_base
            if frame.duration:
                self._durations[frame.pts] = frame.duration
        else:
            time_base = self._stream.codec_context.time_base
            video_frame.pts, video_frame.time_base = round(self._count / self._fps / time_base), time_base
        self._mux_video(self._stream.encode(video_frame))
        if self._audio is not None:
            self._audio.write_until(float(video_frame.pts * video_frame.time_base))

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

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        try:
            if self._palette is not None:
                for paletted in self._palette.convert(None):
                    self._mux_video(self._stream.encode(paletted))
            if self._stream is not None:
                self._mux_video(self._stream.encode(None))
            if self._audio is not None:
                self._audio.write_until(None)
        finally:
            if self._audio is not None:
                self._audio.close()
            self._container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
