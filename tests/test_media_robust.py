"""Videos that fuzzing found hard: frames on one timestamp, files cut short, extra streams, whole-frame masks,
and what the encoder keeps (codec family, bit depth, colours, CRF, transparency).

Every input is built here with PyAV and NumPy; each test checks what a user sees: the exit status, one line
on stderr, the output's frames, timing and streams, nothing left behind, the input untouched.
"""

from __future__ import annotations

import hashlib
import re
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from unseen.cli import main
from unseen.media import clip_writer, open_clip
from unseen.media.codecs import available_encoder
from unseen.segment.base import register_segmenter

from conftest import textured_frame, write_mask

SIZE = (64, 48)
MODEL = "test-robust-red"


class _RedSegmenter:
    """Red is a person; no weights needed."""

    name = MODEL
    classes = ("background", "person")

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        person = rgb[..., 0].astype(np.float32) / 255
        return np.dstack([1 - person, person])


register_segmenter(MODEL, lambda device: _RedSegmenter(), "red people (tests)")


def run(capsys, *args) -> tuple[int, list[str], list[str]]:
    """Run the command in-process; return its exit status, its error lines and its warning lines."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = err.splitlines()
    return code, [x for x in lines if x.startswith("unseen: error:")], [x for x in lines if "warning:" in x]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _video(path: Path, times: list[Fraction], *, codec: str = "libx264", pix_fmt: str = "yuv420p",
           time_base: Fraction = Fraction(1, 90000), options: dict | None = None, color: dict | None = None,
           container_options: dict | None = None, audio: tuple = (), subtitles: tuple = (),
           attachments: tuple = ()) -> None:
    """Write frames shown at ``times`` (seconds), with extra streams:

    ``audio``: ``(codec, hz, seconds, language)`` per track; ``subtitles``: ``(codec, language, [(start, text)])``
    per track, each line shown for half a second; ``attachments``: ``(name, mimetype, data)`` (Matroska).
    """
    with av.open(str(path), "w", options=container_options or {}) as out:
        video = out.add_stream(codec, rate=24, options={"bf": "0", **(options or {})} if codec == "libx264"
                               else options or {})
        video.width, video.height, video.pix_fmt = *SIZE, pix_fmt
        video.codec_context.time_base = time_base
        for key, value in (color or {}).items():
            setattr(video.codec_context, key, value)
        sounds = [_sound_stream(out, *track) for track in audio]
        texts = [_subtitle_stream(out, codec_name, language) for codec_name, language, _ in subtitles]
        for attachment in attachments:
            out.add_attachment(*attachment)
        for i, seconds in enumerate(times):
            frame = av.VideoFrame.from_ndarray(textured_frame(i, *SIZE), format="rgb24")
            if color:
                frame = frame.reformat(format=pix_fmt, dst_colorspace=color.get("colorspace"),
                                       dst_color_range=color.get("color_range"))
            frame.pts, frame.time_base = round(seconds / time_base), time_base
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for stream, (_, hz, seconds, _) in zip(sounds, audio, strict=True):
            _tone(out, stream, hz, seconds)
        for stream, (codec_name, _, lines) in zip(texts, subtitles, strict=True):
            for start, text in lines:
                data = text.encode()
                packet = av.Packet(struct.pack(">H", len(data)) + data if codec_name == "mov_text" else data)
                packet.stream, packet.time_base = stream, Fraction(1, 1000)
                packet.pts = packet.dts = round(start * 1000)
                packet.duration = 500
                out.mux(packet)


def _sound_stream(out, codec: str, hz: float, seconds: float, language: str):
    stream = out.add_stream(codec, rate=48000)
    stream.codec_context.layout = "stereo"
    stream.metadata["language"] = language
    return stream


def _subtitle_stream(out, codec: str, language: str):
    stream = out.add_mux_stream(codec)  # text packets written as they are: no encoder needed
    stream.time_base = Fraction(1, 1000)
    stream.metadata["language"] = language
    return stream


def _tone(out, stream, hz: float, seconds: float) -> None:
    samples = int(seconds * 48000)
    tone = (0.3 * np.sin(2 * np.pi * hz * np.arange(samples) / 48000)).astype(np.float32)
    for start in range(0, samples, 1024):
        chunk = tone[start:start + 1024]
        frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _mask(tmp_path: Path, whole: bool = False) -> Path:
    mask = np.ones(SIZE[::-1], bool) if whole else np.zeros(SIZE[::-1], bool)
    mask[16:32, 20:36] = True
    return write_mask(tmp_path / "mask.png", mask)


def _frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def _seconds(path: Path) -> list[float]:
    return [float(f.pts * f.time_base) for f in _frames(path)]


def _increasing(values: list[float]) -> bool:
    return all(b > a for a, b in zip(values, values[1:], strict=False))


def _streams(path: Path) -> list[tuple[str, str, str | None]]:
    with av.open(str(path)) as container:
        return [(s.type, s.codec_context.name if s.codec_context else "", s.metadata.get("language"))
                for s in container.streams]


def _remove(capsys, src: Path, dst: Path, *options) -> tuple[int, list[str], list[str]]:
    return run(capsys, "remove", src, "--mask", _mask(src.parent), "-o", dst, "--method", "telea", *options)


def _only(folder: Path, *names: str) -> bool:
    """Whether ``folder`` holds exactly ``names`` (no temporary or partial output)."""
    return sorted(p.name for p in folder.iterdir()) == sorted(names)


STEADY = [Fraction(i, 24) for i in range(24)]


# 1. Two frames on one timestamp ------------------------------------------------------------------------------

def test_frames_on_one_timestamp_are_moved_one_tick_and_all_kept(tmp_path: Path, capsys) -> None:
    src, dst = tmp_path / "dup.mkv", tmp_path / "out.mp4"
    times = list(STEADY)
    times[6] = times[7] = times[5]  # three frames on one timestamp; Matroska stores them as they are
    _video(src, times)
    before = _digest(src)
    code, errors, warnings = _remove(capsys, src, dst)
    assert code == 0 and not errors
    assert len(warnings) == 1 and "2 frames had the timestamp of the frame before" in warnings[0]
    assert "1/1000 s" in warnings[0]
    after = _seconds(dst)
    assert len(after) == len(times)
    assert _increasing(after)
    expected = [float(t) for t in times]
    expected[6], expected[7] = expected[5] + 0.001, expected[5] + 0.002
    assert after == pytest.approx(expected, abs=6e-4)  # the source's milliseconds, rounded as Matroska did
    assert _digest(src) == before and _only(tmp_path, "dup.mkv", "out.mp4", "mask.png")
    code, errors, warnings = run(capsys, "segment", src, "--model", MODEL, "--render", "overlay", "-o",
                                 tmp_path / "overlay.mp4")
    assert code == 0 and not errors and len(warnings) == 1 and "moved each one tick" in warnings[0]
    assert len(_frames(tmp_path / "overlay.mp4")) == len(times)


def test_frames_a_coarser_clock_cannot_tell_apart_are_separated(tmp_path: Path, capsys) -> None:
    # The timing (24, then 12, then 30 fps), plus one frame 1/3000 s after another: an MP4 holds it,
    # Matroska's millisecond clock does not.
    times = [Fraction(n, 24) if n < 24 else 1 + Fraction(n - 24, 12) if n < 36 else 2 + Fraction(n - 36, 30)
             for n in range(48)]
    times.insert(10, times[9] + Fraction(1, 3000))
    src = tmp_path / "vfr.mp4"
    _video(src, times)
    code, errors, warnings = _remove(capsys, src, tmp_path / "out.mkv")
    assert code == 0 and not errors and len(warnings) == 1 and "moved it one tick (1/1000 s)" in warnings[0]
    after = _seconds(tmp_path / "out.mkv")
    assert len(after) == 49 and _increasing(after)
    assert after[:10] + after[11:] == pytest.approx([float(t) for t in times[:10] + times[11:]], abs=6e-4)
    # Where the timing is valid nothing is moved and nothing is said.
    code, errors, warnings = _remove(capsys, src, tmp_path / "same.mp4")
    assert code == 0 and not errors and not warnings
    assert _seconds(tmp_path / "same.mp4") == pytest.approx([float(t) for t in times], abs=1e-5)


# 2. A video cut short -----------------------------------------------------------------------------------------

def _cut(src: Path, dst: Path, share: float = 0.7) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * share)])
    return dst


def test_an_mp4_cut_short_is_refused_up_front_or_kept_short_on_request(tmp_path: Path, capsys) -> None:
    whole = tmp_path / "whole.mp4"
    _video(whole, [Fraction(i, 24) for i in range(60)], container_options={"movflags": "faststart"},
           audio=(("aac", 440, 2.5, "eng"),))
    src = _cut(whole, tmp_path / "cut.mp4")
    whole.unlink()
    before = _digest(src)
    code, errors, _ = _remove(capsys, src, tmp_path / "out" / "clean.mp4")
    assert code == 2 and len(errors) == 1
    assert "cut short: its index lists 60 frames but only" in errors[0] and "--accept-truncated" in errors[0]
    assert _only(tmp_path, "cut.mp4", "mask.png")  # not even the output's folder
    code, errors, warnings = _remove(capsys, src, tmp_path / "clean.mp4", "--accept-truncated")
    assert code == 0 and not errors and len(warnings) == 1
    kept = len(_frames(tmp_path / "clean.mp4"))
    assert 20 < kept < 60 and f"the video ends early: {kept} of its 60 frames decode; kept them" in warnings[0]
    assert _digest(src) == before


def test_a_matroska_file_cut_short_is_told_by_its_declared_length(tmp_path: Path, capsys) -> None:
    whole = tmp_path / "whole.mkv"
    _video(whole, [Fraction(i, 24) for i in range(60)], audio=(("aac", 440, 2.5, "eng"),))
    src = _cut(whole, tmp_path / "cut.mkv")
    code, errors, _ = _remove(capsys, src, tmp_path / "clean.mkv")
    assert code == 2 and len(errors) == 1
    assert re.search(r"ends early, at 1\.\d\d s of the 2\.5\d s it declares \(41 frames of about 6\d\)", errors[0])
    assert _only(tmp_path, "whole.mkv", "cut.mkv", "mask.png")
    code, errors, warnings = _remove(capsys, src, tmp_path / "clean.mkv", "--accept-truncated")
    assert code == 0 and len(warnings) == 1 and "(41 frames of about" in warnings[0]
    assert len(_frames(tmp_path / "clean.mkv")) == 41
    # The whole file, and a video that ends before its longer sound, are not cut short.
    code, errors, warnings = _remove(capsys, whole, tmp_path / "whole-out.mkv")
    assert (code, errors, warnings) == (0, [], [])


def test_variable_rate_estimated_counts_and_trims_are_not_taken_for_cuts(tmp_path: Path, capsys) -> None:
    times = [Fraction(i, 24) * (2 if i > 20 else 1) for i in range(30)]  # slows to 12 fps: estimates overshoot
    for name in ("vfr.mp4", "vfr.mkv", "vfr.webm"):
        codec = "libvpx-vp9" if name.endswith(".webm") else "libx264"
        _video(tmp_path / name, times, codec=codec, time_base=Fraction(1, 1000))
        code, errors, warnings = _remove(capsys, tmp_path / name, tmp_path / f"out-{name}")
        assert (code, errors, warnings) == (0, [], []), name
        assert len(_frames(tmp_path / f"out-{name}")) == 30
    # A trim without re-encoding: 40 frames before the edit list's start stay in the file, unseen by players.
    _video(tmp_path / "trimmed.mp4", [Fraction(i, 24) for i in range(-40, 20)])
    assert open_clip(tmp_path / "trimmed.mp4").frame_count == 20
    code, errors, warnings = _remove(capsys, tmp_path / "trimmed.mp4", tmp_path / "out-trimmed.mp4")
    assert (code, errors, warnings) == (0, [], [])
    assert _seconds(tmp_path / "out-trimmed.mp4") == pytest.approx([i / 24 for i in range(20)], abs=1e-4)


# 3. Every stream the output can hold --------------------------------------------------------------------------

def _rich(path: Path, subtitle_codec: str = "mov_text", attachments: tuple = ()) -> None:
    _video(path, STEADY, audio=(("aac", 440, 1.0, "eng"), ("aac", 660, 1.0, "fra")),
           subtitles=((subtitle_codec, "eng", [(0.1, "hello"), (0.6, "bye")]),), attachments=attachments)


def _packets(path: Path, kind: str, index: int = 0) -> list[tuple[float, bytes]]:
    """When each packet of a stream starts, and its data; MP4's empty subtitle samples between lines left out."""
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[index]
        return [(round(float(p.pts * p.time_base), 3), bytes(p)) for p in container.demux(stream)
                if p.size and bytes(p) != b"\0\0"]


def test_second_sound_track_and_subtitles_are_kept(tmp_path: Path, capsys) -> None:
    src = tmp_path / "rich.mp4"
    _rich(src)
    for name in ("out.mp4", "out.mov"):
        code, errors, warnings = _remove(capsys, src, tmp_path / name)
        assert (code, errors, warnings) == (0, [], []), name
        assert _streams(tmp_path / name)[0][:2] == ("video", "h264")
        assert sorted(_streams(tmp_path / name)[1:]) == [("audio", "aac", "eng"), ("audio", "aac", "fra"),
                                                         ("subtitle", "mov_text", "eng")]
        for index in (0, 1):  # copied packet for packet
            assert _packets(tmp_path / name, "audio", index) == _packets(src, "audio", index)
        assert _packets(tmp_path / name, "subtitles") == _packets(src, "subtitles")
    mkv = tmp_path / "subs.mkv"
    _rich(mkv, "subrip", attachments=(("font.ttf", "font/ttf", b"glyphs"),))  # a font for styled subtitles
    code, errors, warnings = _remove(capsys, mkv, tmp_path / "out.mkv")
    assert (code, errors, warnings) == (0, [], [])
    assert _packets(tmp_path / "out.mkv", "subtitles") == [(0.1, b"hello"), (0.6, b"bye")]
    with av.open(str(tmp_path / "out.mkv")) as container:
        assert [(a.mimetype, a.data) for a in container.streams.attachments] == [("font/ttf", b"glyphs")]


def test_streams_the_output_cannot_hold_are_named_in_one_warning(tmp_path: Path, capsys) -> None:
    src = tmp_path / "rich.mp4"
    _rich(src)
    code, errors, warnings = _remove(capsys, src, tmp_path / "out.webm")
    assert code == 0 and not errors
    assert warnings == ["unseen: warning: rich.mp4: left out subtitle #3 (mov_text, eng): a .webm file cannot "
                        "hold it"]
    # Both sound tracks are kept, as Opus: WebM holds no AAC.
    assert _streams(tmp_path / "out.webm") == [("video", "vp9", None), ("audio", "opus", "eng"),
                                               ("audio", "opus", "fra")]


# 4. A mask over the whole frame --------------------------------------------------------------------------------

def test_a_mask_over_the_whole_frame_warns(tmp_path: Path, capsys) -> None:
    photo = tmp_path / "photo.png"
    av.VideoFrame.from_ndarray(textured_frame(0, *SIZE), format="rgb24").save(str(photo))
    mask = _mask(tmp_path, whole=True)
    code, errors, warnings = run(capsys, "remove", photo, "--mask", mask, "-o", tmp_path / "out.png")
    assert code == 0 and not errors
    assert warnings == ["unseen: warning: the mask covers the whole frame: nothing is left around the hole to "
                        "fill it from (is the mask inverted?)"]


# 5. What the encoder keeps ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    (("--codec", "nope"), "unknown or unavailable codec 'nope'; this build can write: h264"),
    (("--codec", "prores"), "a .mp4 file cannot hold prores; choose one of h264, hevc"),
    (("--crf", "70"), "--crf must be between 0 and 51 for libx264, got 70"),
    (("--codec", "ffv1", "--crf", "10"), "--crf does not apply to ffv1"),
])
def test_unusable_codec_or_crf_is_one_line_and_exit_2(tmp_path: Path, capsys, options, message) -> None:
    src = tmp_path / "in.mkv"
    _video(src, STEADY[:4])
    code, errors, _ = _remove(capsys, src, tmp_path / ("out.mkv" if "ffv1" in options else "out.mp4"), *options)
    assert code == 2 and len(errors) == 1 and message in errors[0]
    assert _only(tmp_path, "in.mkv", "mask.png")


def test_codec_and_crf_choose_the_encoder(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.mp4"
    _video(src, STEADY[:6])
    code, errors, _ = _remove(capsys, src, tmp_path / "vp9.mkv", "--codec", "vp9", "--crf", "30")
    assert code == 0 and not errors and _streams(tmp_path / "vp9.mkv")[0][1] == "vp9"
    sizes = {}
    for crf in ("10", "40"):
        code, errors, _ = _remove(capsys, src, tmp_path / f"crf{crf}.mp4", "--crf", crf)
        assert code == 0 and not errors
        sizes[crf] = (tmp_path / f"crf{crf}.mp4").stat().st_size
    assert sizes["40"] < sizes["10"]
    code, errors, _ = _remove(capsys, src, tmp_path / "frames", "--crf", "20")
    assert code == 2 and "apply to video outputs only" in errors[0]


@pytest.mark.skipif(available_encoder("hevc") is None, reason="this FFmpeg build has no HEVC encoder")
def test_ten_bit_hevc_stays_ten_bit_hevc(tmp_path: Path, capsys) -> None:
    src = tmp_path / "hdr.mp4"
    _video(src, STEADY[:8], codec="libx265", pix_fmt="yuv420p10le",
           options={"x265-params": "log-level=error"})
    code, errors, warnings = _remove(capsys, src, tmp_path / "out.mp4")
    assert (code, errors, warnings) == (0, [], [])
    frames = _frames(tmp_path / "out.mp4")
    assert len(frames) == 8 and frames[0].format.name == "yuv420p10le"
    assert _streams(tmp_path / "out.mp4")[0][1] == "hevc"
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.streams.video[0].codec_tag == "hvc1"  # plays on Apple devices
    assert _seconds(tmp_path / "out.mp4") == pytest.approx([float(t) for t in STEADY[:8]], abs=1e-5)
    # WebM has no HEVC and this VP9 encoder no 10 bits: said once.
    code, errors, warnings = _remove(capsys, src, tmp_path / "out.webm")
    assert code == 0 and warnings == ["unseen: warning: the input is 10-bit; libvpx-vp9 writes 8-bit here"]


def test_colours_are_kept_and_tagged(tmp_path: Path, capsys) -> None:
    src = tmp_path / "hd.mp4"
    color = {"colorspace": 1, "color_range": 1, "color_primaries": 1, "color_trc": 1}  # BT.709, limited range
    _video(src, STEADY[:4], color=color)
    code, errors, _ = run(capsys, "remove", src, "--mask", _mask(tmp_path), "-o", tmp_path / "out.mp4",
                          "--dilate", "0", "--method", "telea")
    assert code == 0 and not errors
    with av.open(str(tmp_path / "out.mp4")) as container:
        context = container.streams.video[0].codec_context
        assert (context.colorspace, context.color_range, context.color_primaries, context.color_trc) == (1, 1, 1, 1)
    # Read as players read it (BT.709, as tagged), the picture outside the hole is the input's.
    outside = np.ones(SIZE[::-1], bool)
    outside[14:34, 18:38] = False
    for a, b in zip(_frames(src), _frames(tmp_path / "out.mp4"), strict=True):
        diff = a.to_ndarray(format="rgb24").astype(float) - b.to_ndarray(format="rgb24")
        assert 10 * np.log10(255 ** 2 / np.mean(diff[outside] ** 2)) > 38


def test_transparent_mov_is_prores_4444(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    _video(src, STEADY[:3])
    clip = open_clip(src)
    alpha = np.zeros(SIZE[::-1], np.uint8)
    alpha[10:30, 10:40] = 255
    with clip_writer(tmp_path / "cut.mov", clip, alpha=True) as sink:
        for frame in clip:
            sink.write(frame.with_image(np.dstack([frame.image, alpha])))
    with av.open(str(tmp_path / "cut.mov")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "prores" and stream.codec_context.profile == "4444"
        decoded = [f.to_ndarray(format="rgba") for f in container.decode(stream)]
    assert len(decoded) == 3 and all(np.abs(d[..., 3].astype(int) - alpha).max() <= 1 for d in decoded)
