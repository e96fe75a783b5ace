"""The ``unseen remove`` command end to end: every input form, and a clear answer to bad input."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from unseen.cli import main
from unseen.media import read_image, write_image

from conftest import make_video, probe, shared_path, textured_frame, write_mask


def run(capsys, *args: str) -> tuple[int, str]:
    """Run the command in-process; return its exit status and stderr."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _photo(tmp_path: Path, suffix: str = ".png", size: tuple[int, int] = (64, 48)) -> tuple[Path, Path]:
    """A striped photo with a dark square on it, and the square's mask."""
    image = textured_frame(0, *size)
    image[16:32, 20:36] = 10
    photo = tmp_path / f"photo{suffix}"
    write_image(photo, image)
    mask = np.zeros(size[::-1], bool)
    mask[16:32, 20:36] = True
    return photo, write_mask(tmp_path / "mask.png", mask)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".bmp", ".tif"])
def test_remove_from_a_photo(tmp_path: Path, capsys, suffix: str) -> None:
    photo, mask = _photo(tmp_path, suffix)
    code, err = run(capsys, "remove", photo, "--mask", mask, "-o", tmp_path / f"out{suffix}", "-q")
    assert code == 0, err
    out = read_image(tmp_path / f"out{suffix}")
    assert out.shape == (48, 64, 3)
    # The dark square is gone: its area now looks like its surroundings.
    assert out[18:30, 22:34].mean() > 60


def test_remove_from_a_folder_of_photos_with_masks_matched_by_name(tmp_path: Path, capsys) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "masks").mkdir()
    for name in ("b", "a"):
        photo, mask = _photo(tmp_path)
        photo.rename(tmp_path / "photos" / f"{name}.jpg")
        mask.rename(tmp_path / "masks" / f"{name}.png")
    code, err = run(capsys, "remove", tmp_path / "photos", "--mask", tmp_path / "masks",
                    "-o", tmp_path / "clean", "--frame-format", "jpg", "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "clean").iterdir()) == ["a.jpg", "b.jpg"]


def test_remove_from_a_video_with_a_mask_folder_keeps_timing_and_audio(tmp_path: Path, capsys,
                                                                       video_with_audio: Path) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    for i in range(24):
        mask = np.zeros((48, 64), bool)
        mask[10:20, i:i + 10] = True
        write_mask(masks / f"{i:05d}.png", mask)
    code, err = run(capsys, "remove", video_with_audio, "--mask", masks, "-o", tmp_path / "out.mp4", "-q")
    assert code == 0, err
    before, after = probe(video_with_audio), probe(tmp_path / "out.mp4")
    for key in ("frames", "pts_seconds", "avg_fps", "size", "audio_packets"):
        assert after[key] == before[key], key


def test_remove_with_a_mask_video_into_a_frame_folder(tmp_path: Path, capsys, video_with_audio: Path) -> None:
    mask_video = tmp_path / "mask.mp4"
    make_video(mask_video, audio=None)
    code, err = run(capsys, "remove", video_with_audio, "--mask", mask_video, "-o", tmp_path / "frames", "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "frames").iterdir())[:2] == ["00000.png", "00001.png"]
    assert len(list((tmp_path / "frames").iterdir())) == 24


def test_all_black_mask_warns_and_passes_frames_through(tmp_path: Path, capsys) -> None:
    photo, _ = _photo(tmp_path)
    black = write_mask(tmp_path / "black.png", np.zeros((48, 64), bool))
    code, err = run(capsys, "remove", photo, "--mask", black, "-o", tmp_path / "out.png")
    assert code == 0
    assert "warning" in err and "empty" in err
    assert np.array_equal(read_image(tmp_path / "out.png"), read_image(photo))


def test_same_aspect_mask_is_scaled_with_a_warning(tmp_path: Path, capsys) -> None:
    photo, _ = _photo(tmp_path)
    big = np.zeros((96, 128), bool)
    big[32:64, 40:72] = True
    mask = write_mask(tmp_path / "big.png", big)
    code, err = run(capsys, "remove", photo, "--mask", mask, "-o", tmp_path / "out.png")
    assert code == 0 and "128x96" in err and "scaling" in err


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list, str]]:
    """Each bad input, with the words its one-line error must contain."""
    photo, mask = _photo(tmp_path)
    video = tmp_path / "in.mp4"
    make_video(video, frames=6)
    data = video.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.png").write_text("not an image")
    with av.open(str(tmp_path / "sound.mp4"), "w") as out:  # a file with only an audio stream
        stream = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 48000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    write_mask(tmp_path / "square.png", np.ones((40, 40), bool))
    (tmp_path / "few").mkdir()
    for i in range(3):
        write_mask(tmp_path / "few" / f"{i:05d}.png", np.ones((48, 64), bool))
    (tmp_path / "a_file").write_text("")
    out = tmp_path / "out.png"
    cases = {
        "missing input": (["remove", tmp_path / "nope.png", "--mask", mask, "-o", out], "no such file"),
        "missing mask": (["remove", photo, "--mask", tmp_path / "nope.png", "-o", out], "no such mask"),
        "not an image": (["remove", tmp_path / "text.png", "--mask", mask, "-o", out], "not a readable image"),
        "not an image mask": (["remove", photo, "--mask", tmp_path / "text.png", "-o", out], "not a readable"),
        "truncated video": (["remove", tmp_path / "truncated.mp4", "--mask", mask, "-o", tmp_path / "o.mp4"],
                            "video"),
        "no video stream": (["remove", tmp_path / "sound.mp4", "--mask", mask, "-o", tmp_path / "o.mp4"],
                            "no video stream"),
        "other aspect mask": (["remove", photo, "--mask", tmp_path / "square.png", "-o", out], "40x40"),
        "mask count": (["remove", video, "--mask", tmp_path / "few", "-o", tmp_path / "o.mp4"], "3 masks"),
        "output is input": (["remove", photo, "--mask", mask, "-o", photo], "overwrite an input"),
        "output is the mask": (["remove", photo, "--mask", mask, "-o", mask], "overwrite an input"),
        "unwritable output": (["remove", photo, "--mask", mask, "-o", tmp_path / "a_file" / "o.png"],
                              "output folder"),
        "unknown option": (["remove", photo, "--mask", mask, "-o", out, "--bogus"], "--bogus"),
        "unknown method": (["remove", photo, "--mask", mask, "-o", out, "--method", "magic"], "magic"),
        "negative dilate": (["remove", photo, "--mask", mask, "-o", out, "--dilate", "-3"], "dilate"),
        "unknown output type": (["remove", photo, "--mask", mask, "-o", tmp_path / "o.xyz"], ".xyz"),
        "many frames into one image": (["remove", video, "--mask", mask, "-o", out], "cannot hold"),
        "zero frame step": (["remove", video, "--mask", mask, "-o", tmp_path / "o.mp4", "--frame-step", "0"],
                            "frame step"),
    }
    assert sorted(cases) == sorted(BAD_INPUTS)
    return cases


BAD_INPUTS = ["missing input", "missing mask", "not an image", "not an image mask", "truncated video",
              "no video stream", "other aspect mask", "mask count", "output is input", "unwritable output",
              "unknown option", "unknown method", "negative dilate", "unknown output type",
              "many frames into one image", "zero frame step", "output is the mask"]


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_gets_one_line_exit_2_and_leaves_no_trace(tmp_path: Path, capsys, case: str) -> None:
    args, words = _bad_inputs(tmp_path)[case]
    capsys.readouterr()
    before = _tree(tmp_path)
    code, err = run(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and words in err
    assert _tree(tmp_path) == before  # inputs untouched, no partial output


def test_the_installed_command_runs_and_fails_cleanly(tmp_path: Path) -> None:
    photo, mask = _photo(tmp_path)
    command = [sys.executable, "-m", "unseen", "remove", photo, "--mask", mask, "-o", tmp_path / "o.png", "-q"]
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert cv2.imread(str(tmp_path / "o.png")) is not None
    failed = subprocess.run(command[:4] + [tmp_path / "missing.png"] + command[5:], capture_output=True, text=True)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr


def test_models_list_and_path_find_the_shared_weights_and_ours(capsys, monkeypatch) -> None:
    monkeypatch.setenv("UNSEEN_MODELS", str(shared_path("models")))
    assert main(["models", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 14 and all("not here" not in line for line in listed)
    ours = [line for line in listed if "in the package" in line]
    assert [line.split()[0] for line in ours] == ["unseen-street-car", "unseen-street-person", "unseen-person-tuned"]
    pairs = {line.split()[0]: line for line in listed[-3:]}
    assert "espnetv2-pascal-s1 + unseen-street-car" in pairs["unseen-car"]
    assert "espnetv2-pascal + unseen-street-person" in pairs["unseen-person"]
    assert "espnetv2-pascal + unseen-person-tuned" in pairs["unseen-person-full"]
    assert main(["models", "path", "espnetv2-pascal"]) == 0
    assert capsys.readouterr().out.strip().endswith("espnetv2_s_2.0_pascal_384x384.pth")


def test_models_path_offline_says_what_to_put_where(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("UNSEEN_MODELS", str(tmp_path / "none"))
    monkeypatch.setenv("UNSEEN_CACHE", str(tmp_path / "cache"))
    code, err = run(capsys, "models", "path", "espnetv2-city")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "espnetv2_s_2.0_city_1024x512.pth" in err and str(tmp_path / "cache") in err
