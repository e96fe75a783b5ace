"""The fuzzing harness (bench/fuzz.py) in CI size, its referee on runs that go wrong on purpose, and what its
full runs found: files that declare huge sizes, sound that cannot be decoded or stored."""

from __future__ import annotations

import importlib.util
import os
import re
import resource
import stat
import struct
import subprocess
import sys
import zlib
from collections import Counter
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from unseen.cli import main

from conftest import ROOT, make_video, textured_frame, write_mask


def _load_harness():
    spec = importlib.util.spec_from_file_location("unseen_bench_fuzz", ROOT / "bench" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fuzz = _load_harness()


PROGRESS_LINE = re.compile(r"^[\w -]+: .*/s\]$")  # "remove:  50%|█████     | 6/12 [00:01<00:01,  9.4frame/s]"


def run(capfd, *args) -> tuple[int, list[str]]:
    """Run the command in-process; its exit status and its stderr lines (C libraries' included)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:
        code = exit_.code
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    # A progress bar shows once a job takes over a second, as these may on a loaded machine: not what is checked.
    return code, [line for line in err.splitlines() if line.strip() and not PROGRESS_LINE.match(line)]


def _mask(folder: Path) -> Path:
    mask = np.zeros((48, 64), bool)
    mask[16:32, 20:36] = True
    return write_mask(folder / "mask.png", mask)


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


# --- the harness, CI-sized -----------------------------------------------------------------------------------

def test_a_ci_sized_fuzz_run_finds_nothing(tmp_path: Path) -> None:
    records = fuzz.fuzz(mutants=20, seed=11, timeout=60, out=tmp_path / "fuzz")
    assert len(records) == 20
    found = Counter(record["category"] for record in records)
    failing = [r for r in records if r["category"] in fuzz.KEPT]
    assert not failing, "\n".join(f"{r['case']} {r['seed']} {r['detail']}: {r['category']}: {r['why']} "
                                  f"({r['command']})" for r in failing)
    assert found["ok"] and found["refused"]  # the cases exercise both the happy path and the refusals
    assert "| **all** | 20 |" in fuzz.tally_tables(records)


@pytest.fixture(scope="module")
def seeds() -> dict:
    return fuzz.build_seeds()


def test_cases_are_the_same_for_the_same_seed(seeds: dict) -> None:
    def cases(seed: int) -> list:
        return [(c.args, c.detail, c.files) for c in (fuzz.make_case(i, seed, seeds, True) for i in range(10))]

    assert cases(3) == cases(3)
    assert cases(3) != cases(4)


# --- the referee: a stand-in for the command that misbehaves in each way it should catch ------------------

_BEHAVIOUR = {
    "refused": "echo 'unseen: error: in/input.png: not a readable image' >&2; exit 2",
    "noisy": "echo 'libpng warning: iCCP' >&2; echo 'unseen: error: bad' >&2; exit 2",
    "traceback": "echo 'Traceback (most recent call last):' >&2; exit 1",
    "leftover": "mkdir -p out/new; touch out/.clean.1.abcdefgh.part.png; echo 'unseen: error: x' >&2; exit 2",
    "silent success": "exit 0",
    "hang": "sleep 30",
    "crash": "kill -SEGV $$",
    "input modified": "echo x >> in/input.png; echo 'unseen: error: x' >&2; exit 2",
    "ok": "cp in/input.png out/clean.png",
}


@pytest.mark.parametrize("category", list(_BEHAVIOUR))
def test_the_referee_tells_each_category(tmp_path: Path, seeds: dict, category: str) -> None:
    png = seeds["png"]
    case = fuzz.Case(0, "png", "input", "none", "intact", {"in/input.png": png.files["input.png"],
                                                          "in/mask.png": seeds["mask"].files["mask.png"]},
                     ["remove", "in/input.png", "--mask", "in/mask.png", "-o", "out/clean.png", "-q"],
                     "in/input.png", "out/clean.png", 1)
    fake = tmp_path / "fake-python"
    fake.write_text(f"#!/bin/sh\n{_BEHAVIOUR[category]}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    result = fuzz.run_case(case, tmp_path / "work", str(fake), timeout=3, env=dict(os.environ))
    assert result.category == category, result


# --- what the full runs found --------------------------------------------------------------------------------

def _png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header (with a valid CRC) declares another size."""
    data = bytearray(cv2.imencode(".png", textured_frame(0, 64, 48))[1].tobytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


# Pillow's error and libpng's; Pillow's warning; OpenCV's limit of 2^30 pixels (an assertion).
@pytest.mark.parametrize("size", [(2 ** 31, 2 ** 31), (12000, 12000), (100000, 100000)])
@pytest.mark.parametrize("role", ["photo", "frame of a folder", "mask"])
def test_an_image_declaring_a_huge_size_is_one_line(tmp_path: Path, size: tuple[int, int], role: str) -> None:
    # Found by bench/fuzz.py: Pillow, asked for the header only (the sizes of a folder's images), raised
    # DecompressionBombError (a traceback) or printed a DecompressionBombWarning. In a process of its own, as a
    # user runs it: Python's warnings go to stderr there.
    mask, photo = _mask(tmp_path), tmp_path / "photo.png"
    cv2.imwrite(str(photo), textured_frame(0, 64, 48))
    huge = _png_declaring(*size)
    if role == "frame of a folder":
        (tmp_path / "frames").mkdir()
        for i in range(3):
            cv2.imwrite(str(tmp_path / "frames" / f"{i:05d}.png"), textured_frame(i, 64, 48))
        bad = tmp_path / "frames" / "00001.png"
        bad.write_bytes(huge)
        args = [tmp_path / "frames", "--mask", mask]
    elif role == "photo":
        bad = photo
        bad.write_bytes(huge)
        args = [photo, "--mask", mask]
    else:
        bad = mask
        bad.write_bytes(huge)
        args = [photo, "--mask", mask]
    out = tmp_path / "out" / ("clean" if role == "frame of a folder" else "clean.png")
    done = subprocess.run([sys.executable, "-m", "unseen", "remove", *map(str, args), "-o", str(out), "-q"],
                          capture_output=True, text=True, timeout=120)
    reason = "its header declares more pixels than can be decoded" if size[0] == 100000 else \
        "empty, truncated or of an unknown format"
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"unseen: error: {bad}: not a readable image ({reason})"]
    assert not (tmp_path / "out").exists()


def _with_garbled_sound(source: Path, target: Path, garbled: tuple[int, ...]) -> None:
    """``source`` remuxed with the audio packets numbered ``garbled`` replaced by noise of the same size."""
    rng = np.random.default_rng(0)
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        video = out.add_stream_from_template(src.streams.video[0])
        sound = out.add_stream_from_template(src.streams.audio[0])
        number = 0
        for packet in src.demux():
            if not packet.size:
                continue
            kind = packet.stream.type
            if kind == "audio":
                number += 1
                if number in garbled:
                    noise = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                    noise.pts, noise.dts, noise.duration = packet.pts, packet.dts, packet.duration
                    noise.time_base = packet.time_base
                    packet = noise
            packet.stream = sound if kind == "audio" else video
            out.mux(packet)


def test_sound_the_decoder_refuses_is_left_out_with_a_warning(tmp_path: Path, capfd) -> None:
    # Found by bench/fuzz.py: AAC re-encoded to Opus for WebM; a damaged packet made the decoder raise.
    intact, damaged = tmp_path / "intact.mp4", tmp_path / "damaged.mp4"
    make_video(intact, frames=12)
    _with_garbled_sound(intact, damaged, (3, 7))
    before = damaged.read_bytes()
    code, lines = run(capfd, "remove", damaged, "--mask", _mask(tmp_path), "-o", tmp_path / "clean.webm")
    assert code == 0, lines
    assert lines[0].startswith("unseen: warning: damaged.mp4: left out damaged packets that cannot be decoded or "
                               "stored: ") and "of audio #1 (aac)" in lines[0], lines
    assert len(lines) == 2 and lines[1].startswith("unseen: wrote")
    assert _frames(tmp_path / "clean.webm") == 12
    with av.open(str(tmp_path / "clean.webm")) as container:
        assert [s.codec_context.name for s in container.streams.audio] == ["opus"]
        assert sum(1 for p in container.demux(container.streams.audio[0]) if p.size) > 10  # the rest is there
    assert damaged.read_bytes() == before
    # Copied as it is (no decoding), the same sound goes through without a word, as a remux does.
    code, lines = run(capfd, "remove", damaged, "--mask", _mask(tmp_path), "-o", tmp_path / "clean.mp4", "-q")
    assert (code, lines) == (0, [])


def test_sound_timestamps_the_output_cannot_hold_are_left_out_with_a_warning(tmp_path: Path, capfd) -> None:
    # Found by bench/fuzz.py: a Matroska file whose timestamp scale says nanoseconds instead of milliseconds;
    # the MP4 muxer refused its sound packets' timestamps (a traceback) after the whole video was encoded.
    intact, damaged = tmp_path / "intact.mkv", tmp_path / "damaged.mkv"
    make_video(intact, frames=12)
    data = bytearray(intact.read_bytes())
    at = data.find(b"\x2a\xd7\xb1")  # TimestampScale
    length = data[at + 3] & 0x0F
    data[at + 4:at + 4 + length] = (1).to_bytes(length, "big")
    damaged.write_bytes(bytes(data))
    code, lines = run(capfd, "remove", damaged, "--mask", _mask(tmp_path), "-o", tmp_path / "clean.mp4")
    assert code == 0, lines
    assert len(lines) == 2 and "damaged.mkv: left out damaged packets" in lines[0] and "audio #1 (aac)" in lines[0]
    assert _frames(tmp_path / "clean.mp4") == _frames(damaged)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.mp4", "damaged.mkv", "intact.mkv", "mask.png"]


def _patched(source: Path, target: Path, edit) -> Path:
    data = bytearray(source.read_bytes())
    edit(data)
    target.write_bytes(bytes(data))
    return target


def test_sound_of_a_codec_ffmpeg_does_not_know_is_left_out_with_a_warning(tmp_path: Path, capfd) -> None:
    # Found by bench/fuzz.py: a flipped bit in a QuickTime sound track's codec tag left PyAV no codec context;
    # reading its name was an AttributeError.
    intact = tmp_path / "intact.mov"
    make_video(intact, frames=12, audio="pcm_s16le")

    def unknown_codec(data: bytearray) -> None:
        at = data.find(b"sowt")
        data[at:at + 4] = b"xxxx"

    damaged = _patched(intact, tmp_path / "damaged.mov", unknown_codec)
    code, lines = run(capfd, "remove", damaged, "--mask", _mask(tmp_path), "-o", tmp_path / "clean.mkv")
    assert code == 0, lines
    assert lines == ["unseen: warning: damaged.mov: left out audio #1 (no codec): this FFmpeg has no decoder for it",
                     f"unseen: wrote {tmp_path / 'clean.mkv'}"]
    assert _frames(tmp_path / "clean.mkv") == 12


def test_a_stale_index_does_not_lose_the_first_frames(tmp_path: Path, capfd) -> None:
    # Found by bench/fuzz.py: with a run of bytes duplicated near its start, a Matroska file's index pointed
    # past its first frames; the reader, rewinding through the index after probing the first frame, lost
    # them without a word. A player (and the reader now) shows every frame the file holds.
    intact = tmp_path / "intact.mkv"
    make_video(intact, frames=12)
    damaged = _patched(intact, tmp_path / "damaged.mkv",
                       lambda data: data.__setitem__(slice(2248, 2248), data[200:2248]))
    shown = _frames(damaged)
    assert shown > 12
    code, lines = run(capfd, "remove", damaged, "--mask", _mask(tmp_path), "-o", tmp_path / "clean.mkv", "-q")
    assert (code, lines) == (0, [])
    assert _frames(tmp_path / "clean.mkv") == shown


def _timing_patched(tmp_path: Path, name: str, suffix: str, box: bytes, value: int) -> Path:
    intact = tmp_path / f"intact{suffix}"
    make_video(intact, frames=12)

    def edit(data: bytearray) -> None:
        at = data.find(box)
        if suffix == ".mp4":  # mdhd: version and flags, two times, then the time scale
            data[at + 16:at + 20] = value.to_bytes(4, "big")
        else:  # a Matroska unsigned integer element: its size byte, then the value
            length = data[at + len(box)] & 0x0F
            data[at + len(box) + 1:at + len(box) + 1 + length] = value.to_bytes(length, "big")

    return _patched(intact, tmp_path / f"{name}{suffix}", edit)


def test_an_absurd_declared_rate_gives_way_to_the_frames_own_timing(tmp_path: Path, capfd) -> None:
    # Found by bench/fuzz.py: a Matroska default duration of 1 ns made FFmpeg state 30000 fps for frames
    # timed at 30000/1001; the VP9 and H.264 encoders, set up for that rate, refused the frames (a traceback).
    damaged = _timing_patched(tmp_path, "damaged", ".mkv", b"\x23\xe3\x83", 1)  # DefaultDuration
    code, lines = run(capfd, "remove", damaged, "--mask", _mask(tmp_path), "-o", tmp_path / "clean.webm", "-q")
    assert (code, lines) == (0, [])
    with av.open(str(damaged)) as source, av.open(str(tmp_path / "clean.webm")) as output:
        seconds = [[round(float(f.time), 3) for f in c.decode(c.streams.video[0])] for c in (source, output)]
    assert len(seconds[0]) == 12 and seconds[1] == seconds[0]


@pytest.mark.parametrize("output", ["clean.mp4", "clean.webm"])
def test_timestamps_too_fine_for_a_video_are_refused(tmp_path: Path, capfd, output: str) -> None:
    # Found by bench/fuzz.py: a video track's time scale of 2^31-1 put 12 frames in 17 microseconds. An MP4
    # output then held frames no player shows (its edit list rounded to nothing), a WebM one a traceback.
    damaged = _timing_patched(tmp_path, "damaged", ".mp4", b"mdhd", 0x7FFFFFFF)
    code, lines = run(capfd, "remove", damaged, "--mask", _mask(tmp_path), "-o", tmp_path / "out" / output, "-q")
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"unseen: error: {damaged}: its timestamps put ")
    assert lines[0].endswith(" frames in a second; the timing is damaged")
    assert not (tmp_path / "out").exists()


def test_an_encoder_refusing_the_input_time_base_is_one_line(tmp_path: Path, capfd) -> None:
    # Found while fixing the above: VP9 takes time bases of 1/10^9 s at the finest; a valid MP4 may count in
    # finer ticks. The encoder's refusal was a traceback, and flushing the encoder that never opened a second.
    fine = tmp_path / "fine.mp4"
    time_base = Fraction(1, 2_000_000_000)
    with av.open(str(fine), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = time_base
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(textured_frame(i, 64, 48), format="rgb24")
            frame.pts, frame.time_base = round(Fraction(i, 24) / time_base), time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    mask = _mask(tmp_path)
    code, lines = run(capfd, "remove", fine, "--mask", mask, "-o", tmp_path / "out" / "clean.webm", "-q")
    assert code == 2
    assert lines == ["unseen: error: cannot encode the output with libvpx-vp9 (time base 1/2000000000, 64x48 "
                     "yuv420p): Invalid argument"]
    assert not (tmp_path / "out").exists()
    code, lines = run(capfd, "remove", fine, "--mask", mask, "-o", tmp_path / "clean.mp4", "-q")
    assert (code, lines) == (0, []) and _frames(tmp_path / "clean.mp4") == 6


def test_an_image_too_large_for_the_memory_is_one_line(tmp_path: Path) -> None:
    # Found by bench/fuzz.py (which bounds each run's memory): a JPEG whose header says 30000x30000, under
    # OpenCV's pixel limit but more than the memory there is; OpenCV's allocation error was a traceback.
    data = bytearray(cv2.imencode(".jpg", textured_frame(0, 64, 48))[1].tobytes())
    at = data.find(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", 30000, 30000)
    photo = tmp_path / "huge.jpg"
    photo.write_bytes(bytes(data))

    def two_gib() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    done = subprocess.run([sys.executable, "-m", "unseen", "remove", str(photo), "--mask", str(_mask(tmp_path)),
                           "-o", str(tmp_path / "out" / "clean.png"), "-q"], capture_output=True, text=True,
                          timeout=120, preexec_fn=two_gib)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"unseen: error: {photo}: not enough memory to decode the image (its header "
                                        "declares more pixels than fit)"]
    assert not (tmp_path / "out").exists()


def test_a_matroska_file_cut_in_its_last_frame_is_kept_with_a_warning(tmp_path: Path, capfd) -> None:
    # Found by bench/fuzz.py: a cut that takes only the last frame stays within the tolerance of the declared
    # length (a last frame's rounding, a longer sound), and FFmpeg says "File ended prematurely" only in its log.
    whole = tmp_path / "whole.mkv"
    make_video(whole, frames=24)
    with av.open(str(whole)) as container:
        last = [p.pos for p in container.demux(container.streams.video[0]) if p.size][-1]
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[:last + 2])
    code, lines = run(capfd, "remove", cut, "--mask", _mask(tmp_path), "-o", tmp_path / "clean.mkv")
    assert code == 0, lines
    said = [line for line in lines if not line.startswith("remove:")]  # a progress bar shows on a slow machine
    assert said[0] == (f"unseen: warning: {cut}: FFmpeg found damage in the file (File ended prematurely); kept "
                        "the 23 frames that decode, but frames may be missing")
    assert _frames(tmp_path / "clean.mkv") == 23
    code, lines = run(capfd, "remove", whole, "--mask", _mask(tmp_path), "-o", tmp_path / "whole-clean.mkv")
    said = [line for line in lines if not line.startswith("remove:")]  # a progress bar shows on a slow machine
    assert code == 0 and len(said) == 1, lines  # the whole file: nothing to say but where the output is


@pytest.mark.parametrize("seed, case", [(0, 962), (1, 121), (1, 667), (1, 742)])
def test_frames_the_demuxer_skips_are_not_lost_silently(tmp_path: Path, seeds: dict, seed: int, case: int) -> None:
    # Found by bench/fuzz.py (the cases, replayed; the same bytes as long as the encoders that make the seed
    # files do not change): bytes zeroed or repeated inside a Matroska cluster, which FFmpeg's demuxer skips
    # with a frame in them, saying so only in its log.
    made = fuzz.make_case(case, seed, seeds, segmenting=False)
    made.reference = fuzz.reference_declarations(seeds).get(made.seed)
    result = fuzz.run_case(made, tmp_path / "work", sys.executable, timeout=120, env=dict(os.environ))
    assert result.category in ("ok", "refused"), result
