"""`unseen batch`: many files, one job each, on worker processes or a real local Ray instance.

Items are tiny generated videos (64x48, 6-9 frames) with a fixed mask and the Telea filler, so the batch
machinery is what is timed. Outputs are lossless (FFV1), so comparing them with the single-file command's
compares the pixels the job made (an H.264 output was once seen to differ from the single-file command's
in 1 of ~25 items, and never again in 150 runs: worth an issue of its own, not this test's subject).
One input is corrupt (a bad file: reported, not retried) and one kills its worker: the worker's test hook
(``UNSEEN_BATCH_TEST_KILL``, see unseen.batch.worker) makes the process that runs an item whose name
contains the given text SIGKILL itself, as the out-of-memory killer would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

import unseen
from unseen import cli
from unseen.batch.state import STATE_NAME
from unseen.batch.worker import KILL_HOOK

from conftest import make_video, write_mask

GOOD = ("a.mkv", "b.mkv", "c.mkv")
OPTIONS = "--mask mask.png --method telea --codec ffv1"


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Three good videos, a corrupt one, one whose worker dies, a mask, and the single-file outputs."""
    root = tmp_path_factory.mktemp("batch")
    for index, name in enumerate((*GOOD, "dies.mkv")):
        make_video(root / name, frames=6 + index, audio=None)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    mask = np.zeros((48, 64), bool)
    mask[12:30, 20:40] = True
    write_mask(root / "mask.png", mask)
    for name in GOOD:  # what the single-file command writes, for comparison
        unseen.remove(root / name, root / "direct" / name, mask=root / "mask.png", method="telea", codec="ffv1")
    return root


def _manifest(root: Path) -> Path:
    lines = ["input,job,options,output"]
    lines += [f"{name},remove,{OPTIONS}," for name in (*GOOD, "broken.mp4", "dies.mkv")]
    path = root / "jobs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _report(out: Path) -> dict[str, dict]:
    report = json.loads((out / "report.json").read_text())
    return {Path(item["input"]).name: item for item in report["items"]} | {"": report}


def _check_first_run(root: Path, out: Path, report: dict) -> None:
    items = report[""]["items"]
    assert [item["status"] for item in items[:2]] == ["failed", "failed"]  # failures first
    assert report["broken.mp4"]["attempts"] == 1  # bad input is not retried
    assert "broken.mp4: not a readable video" in report["broken.mp4"]["error"]
    assert report["dies.mkv"]["attempts"] == 2  # a crash is retried (--retries 1), then reported
    assert "worker died" in report["dies.mkv"]["error"]
    for name in GOOD:
        assert report[name]["status"] == "done" and report[name]["frames"] == len(_frames(root / name))
        assert report[name]["seconds"] > 0 and report[name]["peak_mb"] > 0
        for got, want in zip(_frames(out / name), _frames(root / "direct" / name), strict=True):
            assert np.array_equal(got, want)  # what `unseen remove` writes, decoded byte for byte
    assert sorted(p.name for p in out.iterdir()) == sorted([*GOOD, "report.json", STATE_NAME])  # no parts


def test_local_batch_survives_bad_items_skips_finished_redoes_changed(inputs: Path, tmp_path: Path, capsys,
                                                                      monkeypatch) -> None:
    manifest, out = _manifest(inputs), tmp_path / "out"
    monkeypatch.setenv(KILL_HOOK, "dies")
    status = cli.main(["batch", str(manifest), "-o", str(out), "--workers", "2", "--retries", "1"])
    said = capsys.readouterr()
    assert status == 1 and "2 of 5 items failed" in said.err
    assert "3 done, 2 failed" in said.out and said.out.index("broken.mp4") < said.out.index("a.mkv")
    _check_first_run(inputs, out, _report(out))

    # A rerun skips what is finished (outputs untouched) and tries the failures again.
    times = {name: (out / name).stat().st_mtime_ns for name in GOOD}
    assert cli.main(["batch", str(manifest), "-o", str(out), "-q"]) == 1
    report = _report(out)
    assert [report[name]["status"] for name in GOOD] == ["skipped"] * 3
    assert {name: (out / name).stat().st_mtime_ns for name in GOOD} == times
    assert report["dies.mkv"]["status"] == "failed" and report[""]["frames"] == 0

    # A changed input is redone, and so is an item whose options changed; the rest stays skipped, also an
    # input that was only touched (same content, new time: hashed again, found the same).
    changed = inputs / "b.mkv"
    original = changed.read_bytes()
    try:
        make_video(changed, frames=5, audio=None)
        os.utime(inputs / "a.mkv")
        manifest.write_text(manifest.read_text().replace("c.mkv,remove,--mask mask.png --method telea",
                                                         "c.mkv,remove,--mask mask.png --method ns"))
        monkeypatch.delenv(KILL_HOOK)
        assert cli.main(["batch", str(manifest), "-o", str(out), "-q"]) == 1
        report = _report(out)
        assert {name: report[name]["status"] for name in (*GOOD, "dies.mkv")} == {
            "a.mkv": "skipped", "b.mkv": "done", "c.mkv": "done", "dies.mkv": "done"}
        assert len(_frames(out / "b.mkv")) == 5 and report[""]["failed"] == 1
    finally:
        changed.write_bytes(original)


def test_a_folder_through_one_job_and_the_api(inputs: Path, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in GOOD[:2]:
        (folder / name).write_bytes((inputs / name).read_bytes())
    monkeypatch.chdir(inputs)  # the mask's path is read from here, as a shell would
    out = tmp_path / "clean"
    assert cli.main(["batch", str(folder), "-o", str(out), "-q", "remove", *OPTIONS.split()]) == 0
    assert sorted(p.name for p in out.glob("*.mkv")) == list(GOOD[:2])
    # The API takes dicts with options by name; relative paths are read from the working folder.
    report = unseen.batch([{"input": str(inputs / "c.mkv"), "job": "remove", "mask": "mask.png", "method": "telea",
                            "codec": "ffv1", "output": "sub/c-clean.mkv"}], out, workers=1)
    assert report["done"] == 1 and report["failed"] == 0
    for got, want in zip(_frames(out / "sub" / "c-clean.mkv"), _frames(inputs / "direct" / "c.mkv"), strict=True):
        assert np.array_equal(got, want)
    # A JSONL manifest: options as a list; a line without a job takes the one given after the manifest.
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text(json.dumps({"input": str(inputs / "a.mkv"), "output": "a.mkv",
                                    "options": ["--mask", str(inputs / "mask.png"), "--method", "telea", "--codec",
                                                "ffv1"]}) + "\n")
    assert cli.main(["batch", str(manifest), "-o", str(tmp_path / "jsonl"), "-q", "remove"]) == 0
    for got, want in zip(_frames(tmp_path / "jsonl" / "a.mkv"), _frames(inputs / "direct" / "a.mkv"), strict=True):
        assert np.array_equal(got, want)


@pytest.mark.parametrize(("line", "says"), [
    ("a.mkv,remove,--mask mask.png --colour red,", "jobs.csv:2: unrecognized arguments: --colour red"),
    ("missing.mp4,remove,--mask mask.png,", "jobs.csv:2: missing.mp4: no such file or folder"),
    ("a.mkv,erase,--mask mask.png,", "jobs.csv:2: unknown job 'erase'"),
    ("a.mkv,remove,--mask mask.png --target car,", "not allowed with argument --mask"),
    ("a.mkv,remove,--mask mask.png -o x.mp4,", "the output is given by the 'output' field"),
    ("a.mkv,remove,--mask mask.png,../a.mp4", "is not inside"),
])
def test_a_bad_manifest_line_is_one_line_exit_2_before_any_work(inputs: Path, tmp_path: Path, capsys, line: str,
                                                                says: str) -> None:
    manifest = inputs / "jobs.csv"
    manifest.write_text(f"input,job,options,output\n{line}\nb.mkv,remove,{OPTIONS},\n")
    out = tmp_path / "out"
    assert cli.main(["batch", str(manifest), "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert says in error and error.count("\n") == 1
    assert not out.exists()


def test_ray_engine_without_ray_says_how_to_get_it(inputs: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as if it were not installed
    assert cli.main(["batch", str(_manifest(inputs)), "-o", str(tmp_path / "out"), "--engine", "ray"]) == 2
    assert "pip install 'unseen[ray]'" in capsys.readouterr().err


def test_ray_batch_on_a_real_local_instance(inputs: Path, tmp_path: Path, monkeypatch) -> None:
    ray = pytest.importorskip("ray", reason="the ray extra: pip install -e '.[ray]'")
    # Small and private: two CPUs, no dashboard, 200 MB of object store, bound to the loopback address.
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 << 20, _node_ip_address="127.0.0.1",
             log_to_driver=False, logging_level="error")
    try:
        monkeypatch.setenv(KILL_HOOK, "dies")
        out = tmp_path / "out"
        report = unseen.batch(_manifest(inputs), out, engine="ray", retries=1)
        assert (report["done"], report["failed"]) == (3, 2)
        _check_first_run(inputs, out, _report(out))
        times = {name: (out / name).stat().st_mtime_ns for name in GOOD}
        again = unseen.batch(_manifest(inputs), out, engine="ray", retries=0)
        assert (again["skipped"], again["failed"]) == (3, 2)
        assert {name: (out / name).stat().st_mtime_ns for name in GOOD} == times
    finally:
        ray.shutdown()


def test_a_stopped_batch_leaves_no_partial_output_and_says_what_did_not_run(inputs: Path, tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    for n in range(3):  # long enough (the video engine, 40 frames) to be stopped in the middle
        make_video(folder / f"long{n}.mp4", frames=40, width=160, height=120, audio=None)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "unseen", "batch", str(folder), "-o", str(out), "--workers", "2", "-q",
               "remove", "--mask", str(inputs / "mask.png")]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not list(out.glob(".*.part*")) and time.monotonic() < deadline:  # until a worker is writing
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, said = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert said.strip().splitlines()[-1] == "unseen: terminated; finished items are kept: rerun the same command to " \
                                            "go on"
    assert not [p.name for p in out.iterdir() if ".part" in p.name]
    statuses = [item["status"] for item in json.loads((out / "report.json").read_text())["items"]]
    assert len(statuses) == 3 and "not run" in statuses
