"""Carry a source video's other streams (every audio track, subtitles, attachments) and its tags (title,
creation time, place) into an output file.

They are copied as they are where the output container holds their codec; audio that it does not hold is
re-encoded (Opus for WebM, MP3 for AVI, AAC otherwise); anything else it cannot hold is left out, and a
warning names it. Packets are moved as the video grows, so memory does not depend on the length.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av

from unseen.errors import warn

# Audio codecs each container takes as they are; anything else is re-encoded to the fallback.
_AUDIO_COPYABLE = {
    ".mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"},
    ".m4v": {"aac", "mp3", "alac", "ac3", "eac3"},
    ".mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    ".webm": {"opus", "vorbis"},
    ".avi": {"mp3", "ac3", "pcm_s16le", "aac"},
}
_AUDIO_FALLBACK = {".webm": "libopus", ".avi": "libmp3lame"}
# File tags that describe the file itself (its brand, the program that wrote it), not what it shows; the rest
# (title, creation time, place, comment) is kept.
_OWN_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder", "ENCODER"}
# Containers that store attachments (fonts for styled subtitles, cover pictures).
_ATTACHMENTS = (".mkv",)
# QuickTime's timecode track (a data stream tagged "timecode"): the muxer writes it again from the video's
# "timecode" tag (video.py copies it); Matroska keeps that tag as it is.
_TIMECODE_KEPT = (".mov", ".mp4", ".m4v", ".mkv")


def describe(stream: av.stream.Stream) -> str:
    """How a warning names a stream: ``subtitle #3 (mov_text, eng)``."""
    context = stream.codec_context
    codec = context.name if context is not None else getattr(stream, "name", None) or "no codec"
    language = stream.metadata.get("language")
    language = f", {language}" if language and language != "und" else ""
    return f"{stream.type} #{stream.index} ({codec}{language})"


class _Route:
    """One kept stream: where its packets go, copied or re-encoded."""

    def __init__(self, source: av.stream.Stream, output: av.container.OutputContainer, suffix: str):
        self.source = source
        self._output = output
        self.copy = source.type != "audio" or source.codec_context.name in _AUDIO_COPYABLE.get(
            suffix, {source.codec_context.name})
        try:
            self.stream = output.add_stream_from_template(source) if self.copy else None
        except ValueError:  # the container does not take this codec as it is
            if source.type != "audio":
                raise
            self.copy = False
        if not self.copy:
            self.stream = _audio_encoder(source, output, suffix)
        self.stream.metadata.update(source.metadata)
        self.stream.disposition = source.disposition
        self.damaged = 0
        """Packets left out: data the decoder refuses, or timestamps the output's muxer cannot take."""

    def mux(self, packet: av.Packet) -> None:
        try:
            if self.copy:
                packet.stream = self.stream
                self._output.mux(packet)
                return
            for frame in packet.decode():
                frame.pts = None
                self._output.mux(self.stream.encode(frame))
        except av.error.FFmpegError:  # a damaged source: the packet is left out, and the writer says so
            self.damaged += 1

    def flush(self) -> None:
        if not self.copy:
            self._output.mux(self.stream.encode(None))


def _audio_encoder(source: av.stream.Stream, output: av.container.OutputContainer, suffix: str):
    fallback = _AUDIO_FALLBACK.get(suffix, "aac")
    stream = output.add_stream(fallback, rate=48000 if fallback == "libopus" else source.codec_context.sample_rate)
    stream.codec_context.layout = source.codec_context.layout
    return stream


def _warn_left_out(source: Path, suffix: str, video: list[str], other: list[str], unknown: list[str]) -> None:
    parts = []
    if other:
        parts.append(f"{', '.join(other)}: a {suffix} file cannot hold {'it' if len(other) == 1 else 'them'}")
    if unknown:
        parts.append(f"{', '.join(unknown)}: this FFmpeg has no decoder for {'it' if len(unknown) == 1 else 'them'}")
    if video:
        parts.append(f"{', '.join(video)}: only the first video stream is processed")
    if parts:
        warn(f"{source.name}: left out {'; '.join(parts)}")


def _undecodable(stream: av.stream.Stream) -> bool:
    """Sound whose codec FFmpeg does not know (a damaged header): neither copied nor re-encoded."""
    return stream.type == "audio" and stream.codec_context is None


class StreamCopier:
    """Moves every stream of ``source`` but its first video stream into ``output``, interleaved with the video.

    Parameters
    ----------
    source
        The source video file.
    output
        The open output container; the kept streams are added to it here, before the video starts.
    suffix
        The output's extension, which says what its container holds.
    """

    def __init__(self, source: Path, output: av.container.OutputContainer, suffix: str):
        self._input = av.open(str(source))
        self._source = source
        self._output = output
        output.metadata.update({key: value for key, value in self._input.metadata.items() if key not in _OWN_TAGS})
        self._routes: dict[int, _Route] = {}
        left_out = {"video": [], "other": [], "unknown": []}
        for stream in self._input.streams:
            if not self._keep(stream, suffix):
                kind = "video" if stream.type == "video" else "unknown" if _undecodable(stream) else "other"
                left_out[kind].append(describe(stream))
        _warn_left_out(source, suffix, **left_out)
        streams = [route.source for route in self._routes.values()]
        self._packets: Iterator[av.Packet] = self._input.demux(streams) if streams else iter(())
        self._pending: av.Packet | None = None
        self._done = not streams

    def _keep(self, stream: av.stream.Stream, suffix: str) -> bool:
        """Add a route for ``stream`` if the output can hold it; ``False`` if it is left out."""
        if stream is self._input.streams.video[0]:
            return True
        if stream.type == "data" and "timecode" in stream.metadata:
            return suffix in _TIMECODE_KEPT
        if stream.type == "video":
            return False  # a second picture would still show the removed object; only the first is processed
        if stream.type == "attachment":
            if suffix not in _ATTACHMENTS:
                return False
            self._output.add_stream_from_template(stream)
            return True
        if stream.type not in ("audio", "subtitle") or _undecodable(stream):
            return False
        try:
            self._routes[stream.index] = _Route(stream, self._output, suffix)
        except (ValueError, av.error.FFmpegError):
            return False
        return True

    def write_until(self, seconds: float | None) -> None:
        """Mux every packet that starts before ``seconds`` (all remaining ones if ``None``)."""
        while not self._done:
            packet = self._pending or self._next()
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
            self._routes[packet.stream.index].mux(packet)
        if seconds is None:
            for route in self._routes.values():
                route.flush()
            damaged = [f"{route.damaged} of {describe(route.source)}" for route in self._routes.values()
                       if route.damaged]
            if damaged:
                warn(f"{self._source.name}: left out damaged packets that cannot be decoded or stored: "
                     f"{', '.join(damaged)}")

    def _next(self) -> av.Packet | None:
        # A cut-short or damaged source ends its streams where the damage starts; the video reader says so.
        try:
            return next(self._packets, None)
        except av.error.FFmpegError:
            return None

    def close(self) -> None:
        self._input.close()
