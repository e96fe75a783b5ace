"""`unseen train segmenter` end to end on generated data: it learns, resumes exactly, stops in time,
exports to ONNX, and its model works wherever a shipped one does."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import unseen
from unseen.cli import main
from unseen.nets import list_architectures
from unseen.segment.base import get_segmenter
from unseen.train.checkpoint import load_checkpoint
from unseen.train.loop import TrainOptions
from unseen.train.losses import LOSS_NAMES
from unseen.train.segmenter import SegmenterSpec, SegmenterTrainer, distillation

SIZE = 64
TINY = {"unet": {"encoder_options": {"width": 0.125, "depth": 4}}, "fcn": {"encoder_options": {"width": 0.125}},
        "unet-vgg16": {"encoder_options": {"width": 0.0625}}, "deeplabv3plus": {"encoder": "plain"},
        "espnetv2": {"scale": 1.0}}


pytestmark = pytest.mark.usefixtures("one_thread")


def disc_image(rng: np.random.Generator, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Noise with a bright disc somewhere (the object) and a dark square (a distractor)."""
    rgb = rng.integers(40, 120, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), np.uint8)
    cx, cy = (int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
    r = int(rng.integers(size // 10, size // 5))
    cv2.circle(mask, (cx, cy), r, 255, -1)
    rgb[mask > 0] = rng.integers(200, 255, 3)
    x, y = (int(v) for v in rng.integers(0, size - 12, 2))
    rgb[y:y + 10, x:x + 10][mask[y:y + 10, x:x + 10] == 0] = 10
    return rgb, mask


@pytest.fixture(scope="module")
def discs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """images/ + masks/ (binary) with a splits/ folder: 24 to train on, 8 to validate."""
    root = tmp_path_factory.mktemp("discs")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    (root / "splits").mkdir()
    rng = np.random.default_rng(0)
    for i in range(32):
        rgb, mask = disc_image(rng)
        cv2.imwrite(str(root / "images" / f"{i:03d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "masks" / f"{i:03d}.png"), mask)
    (root / "splits" / "train.txt").write_text("\n".join(f"{i:03d}" for i in range(24)))
    (root / "splits" / "val.txt").write_text("\n".join(f"{i:03d}" for i in range(24, 32)))
    return root


def trainer(data: Path, run: Path, arch: str = "unet", resume: bool = False, negatives: list[str] | None = None,
            **options) -> SegmenterTrainer:
    spec = SegmenterSpec(str(data), arch=arch, init="none", classes=["disc"], size=SIZE, network=TINY[arch],
                         augment="none", negatives=negatives)
    settings = {"batch": 4, "lr": 3e-3, "show_progress": False, "patience": 0, **options}
    return SegmenterTrainer(run, spec, TrainOptions(**settings), resume=resume)


def rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as file:
        return list(csv.DictReader(file))


@pytest.mark.parametrize("arch", list(TINY))
def test_every_architecture_learns_the_disc(arch: str, discs: Path, tmp_path: Path) -> None:
    best = trainer(discs, tmp_path / arch, arch, epochs=8).fit()
    log = rows(tmp_path / arch)
    assert float(log[-1]["train_loss"]) < 0.7 * float(log[0]["train_loss"])
    assert best["iou/disc"] > 0.5, best
    assert best["miou"] > float(log[0]["val_miou"]) or float(log[0]["val_miou"]) > 0.8


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_every_loss_trains_the_disc(loss: str, discs: Path, tmp_path: Path) -> None:
    spec = SegmenterSpec(str(discs), arch="unet", init="none", classes=["disc"], size=SIZE, network=TINY["unet"],
                         augment="none", loss=loss)
    best = SegmenterTrainer(tmp_path, spec, TrainOptions(epochs=6, batch=4, lr=3e-3, show_progress=False,
                                                         patience=0)).fit()
    log = rows(tmp_path)
    assert float(log[-1]["train_loss"]) < float(log[0]["train_loss"])
    assert best["iou/disc"] > 0.5, best


def bright_square(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """Noise with a bright square as bright as the discs: no disc, but what a colour-only model calls one."""
    rgb = rng.integers(40, 120, (size, size, 3), dtype=np.uint8)
    x, y = (int(v) for v in rng.integers(4, size - 28, 2))
    rgb[y:y + 24, x:x + 24] = rng.integers(200, 255, 3)
    return rgb


def square_share(run: Path, images: list[np.ndarray]) -> float:
    """The share of the bright squares' pixels that the trained model calls disc."""
    segmenter = get_segmenter(str(run / "best.pt"))
    called = [cv2.resize(segmenter.predict(rgb)[..., 1], (SIZE, SIZE)) > 0.5 for rgb in images]
    squares = [(rgb.min(axis=2) >= 200) for rgb in images]
    return float(sum((c & s).sum() for c, s in zip(called, squares, strict=True)) / sum(s.sum() for s in squares))


def test_negative_images_teach_what_is_not_the_class(discs: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    negatives = tmp_path / "squares"
    negatives.mkdir()
    for i in range(8):
        cv2.imwrite(str(negatives / f"{i:02d}.png"), bright_square(rng)[..., ::-1])
    unseen_squares = [bright_square(rng) for _ in range(6)]
    trainer(discs, tmp_path / "plain", epochs=16).fit()
    trainer(discs, tmp_path / "taught", epochs=16, negatives=[str(negatives)]).fit()
    plain, taught = square_share(tmp_path / "plain", unseen_squares), square_share(tmp_path / "taught", unseen_squares)
    assert taught < 0.5 * plain, (plain, taught)


def disc_and_square(root: Path, name_the_disc: bool, count: int = 32) -> Path:
    """images/ + masks/ of a bright disc and a bright square (classes disc = 1, square = 2); with
    ``name_the_disc`` False the disc's pixels are labelled background, as a person photo leaves its dog."""
    for folder in ("images", "masks", "splits"):
        (root / folder).mkdir(parents=True)
    rng = np.random.default_rng(2)
    for i in range(count):
        rgb, disc = disc_image(rng)
        labels = np.where(disc > 0, 1 if name_the_disc else 0, 0).astype(np.uint8)
        x, y = (int(v) for v in rng.integers(0, SIZE - 16, 2))
        free = labels[y:y + 14, x:x + 14] == 0
        rgb[y:y + 14, x:x + 14][free] = (250, 250, 40)
        labels[y:y + 14, x:x + 14][free] = 2
        cv2.imwrite(str(root / "images" / f"{i:03d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "masks" / f"{i:03d}.png"), labels)
    (root / "splits" / "train.txt").write_text("\n".join(f"{i:03d}" for i in range(count - 8)))
    (root / "splits" / "val.txt").write_text("\n".join(f"{i:03d}" for i in range(count - 8, count)))
    classes = [{"value": v, "name": n} for v, n in enumerate(("background", "disc", "square"))]
    (root / "classes.json").write_text(json.dumps({"classes": classes}))
    return root


def disc_share(run: Path, images: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """The share of the discs' pixels that the trained model calls disc."""
    segmenter = get_segmenter(str(run / "best.pt"))
    called = [cv2.resize(segmenter.predict(rgb), (SIZE, SIZE)).argmax(axis=2) == 1 for rgb, _ in images]
    return float(sum((c & (m > 0)).sum() for c, (_, m) in zip(called, images, strict=True))
                 / sum((m > 0).sum() for _, m in images))


def test_distilling_keeps_a_class_the_fine_tune_data_leaves_unnamed(tmp_path: Path) -> None:
    # The teacher knows discs and squares; the fine-tune's labels name only the squares (the discs are
    # "background" there). Plain fine-tuning unlearns the disc; with --distill the teacher's answer is kept.
    def run(data: Path, out: Path, init: str, distill: str | None = None, epochs: int = 10) -> None:
        spec = SegmenterSpec(str(data), arch="unet", init=init, size=SIZE, network=TINY["unet"], augment="none",
                             loss="ce", distill=distill)
        SegmenterTrainer(out, spec, TrainOptions(epochs=epochs, batch=4, lr=3e-3, show_progress=False,
                                                 patience=0)).fit()

    run(disc_and_square(tmp_path / "both", True), tmp_path / "teacher", "none", epochs=16)
    squares_only = disc_and_square(tmp_path / "squares", False)
    run(squares_only, tmp_path / "plain", str(tmp_path / "teacher"))
    run(squares_only, tmp_path / "distilled", str(tmp_path / "teacher"), distill=str(tmp_path / "teacher"))
    rng = np.random.default_rng(7)
    unseen_discs = [disc_image(rng) for _ in range(6)]
    teacher, plain = disc_share(tmp_path / "teacher", unseen_discs), disc_share(tmp_path / "plain", unseen_discs)
    distilled = disc_share(tmp_path / "distilled", unseen_discs)
    assert teacher > 0.7 and plain < 0.5 * teacher and distilled > 0.8 * teacher, (teacher, plain, distilled)


def test_distillation_is_zero_where_the_student_answers_as_the_teacher() -> None:
    logits = torch.randn(2, 3, 8, 8)
    everywhere = torch.ones(2, 8, 8, dtype=torch.bool)
    assert float(distillation(logits, logits.clone(), everywhere)) == pytest.approx(0.0, abs=1e-6)
    other = torch.randn(2, 3, 8, 8)
    assert float(distillation(logits, other, everywhere)) > 0.0
    nowhere = torch.zeros(2, 8, 8, dtype=torch.bool)
    assert float(distillation(logits, other, nowhere)) == 0.0


def test_run_folder_holds_usable_checkpoints_logs_and_curves(discs: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    trainer(discs, run, epochs=3).fit()
    assert {p.name for p in run.iterdir()} >= {"best.pt", "last.pt", "metrics.csv", "curves.png"}
    card = load_checkpoint(run / "best.pt")
    assert card["classes"] == ["background", "disc"] and card["size"] == SIZE
    assert "trainer" not in card                  # best.pt is the model alone
    assert "trainer" in load_checkpoint(run / "last.pt")
    assert [r["epoch"] for r in rows(run)] == ["1.0", "2.0", "3.0"]
    assert cv2.imread(str(run / "curves.png")).shape[1] > 400


def weights(run: Path, name: str = "last.pt") -> dict[str, torch.Tensor]:
    return load_checkpoint(run / name)["model"]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def stop_after(run: SegmenterTrainer, steps: int) -> SegmenterTrainer:
    """``run``, told to stop (as a time limit or Ctrl-C would) after ``steps`` batches."""
    count = iter(range(10 ** 6))
    run.stop_requested = lambda: next(count) >= steps - 1
    return run


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_continues_bit_for_bit(discs: Path, tmp_path: Path, workers: int) -> None:
    trainer(discs, tmp_path / "whole", epochs=3, workers=workers).fit()
    stop_after(trainer(discs, tmp_path / "parts", epochs=3, workers=workers), 6).fit()  # 6 batches: one epoch
    trainer(discs, tmp_path / "parts", epochs=3, workers=workers, resume=True).fit()
    assert_same_weights(weights(tmp_path / "whole"), weights(tmp_path / "parts"))


def test_more_epochs_on_resume_continue_a_plateau_run_exactly(discs: Path, tmp_path: Path) -> None:
    trainer(discs, tmp_path / "whole", epochs=3, schedule="plateau").fit()
    trainer(discs, tmp_path / "parts", epochs=1, schedule="plateau").fit()
    # As `unseen train segmenter --resume RUN --epochs 3` does: the run's own settings, but for the epochs.
    unseen.train_segmenter(None, tmp_path / "parts", resume=True, epochs=3, show_progress=False)
    assert_same_weights(weights(tmp_path / "whole"), weights(tmp_path / "parts"))


def test_a_stop_inside_an_epoch_resumes_from_that_batch(discs: Path, tmp_path: Path) -> None:
    trainer(discs, tmp_path / "whole", epochs=2).fit()
    stop_after(trainer(discs, tmp_path / "cut", epochs=2), 4).fit()  # the 4th of 6 batches of epoch 1
    assert float(rows(tmp_path / "cut")[-1]["epoch"]) == pytest.approx(4 / 6, abs=1e-3)
    trainer(discs, tmp_path / "cut", epochs=2, resume=True).fit()
    assert_same_weights(weights(tmp_path / "whole"), weights(tmp_path / "cut"))


def test_init_from_an_earlier_run_starts_where_it_ended(discs: Path, tmp_path: Path) -> None:
    first = trainer(discs, tmp_path / "first", epochs=6).fit()
    spec = SegmenterSpec(str(discs), arch="unet", init=str(tmp_path / "first"), classes=["disc"], size=SIZE,
                         network=TINY["unet"], augment="none")
    options = TrainOptions(epochs=1, batch=4, lr=1e-4, show_progress=False)
    again = SegmenterTrainer(tmp_path / "again", spec, options).fit()
    assert again["iou/disc"] > first["iou/disc"] - 0.1, (first, again)


def test_time_limit_stops_and_keeps_the_best(discs: Path, tmp_path: Path) -> None:
    best = trainer(discs, tmp_path / "run", time_limit=0.02, schedule="cosine").fit()  # 1.2 s: an epoch or two
    assert (tmp_path / "run" / "best.pt").exists()
    assert best["epoch"] < 50
    assert float(rows(tmp_path / "run")[-1]["lr"]) < 0.5 * 3e-3  # the cosine decays with the clock


def test_cli_trains_evaluates_exports_and_the_model_segments(discs: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    network = json.dumps(TINY["unet"])
    assert main(["train", "segmenter", str(discs), "-o", str(run), "--arch", "unet", "--init", "none", "--size",
                 str(SIZE), "--epochs", "6", "--batch", "4", "--lr", "3e-3", "--classes", "disc", "--augment",
                 "none", "--network", network, "-q"]) == 0
    assert main(["evaluate", "segmenter", str(discs), "--model", str(run), "--json", "-q"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["iou/disc"] > 0.5 and scores["images"] == 8
    assert main(["export", str(run / "best.pt"), "-o", str(tmp_path / "disc.onnx")]) == 0
    assert json.loads((tmp_path / "disc.json").read_text())["classes"] == ["background", "disc"]

    rgb, truth = disc_image(np.random.default_rng(99), 96)  # another size than in training
    unseen.media.image.write_image(tmp_path / "photo.png", rgb)
    masks = {}
    for model in (str(run / "best.pt"), str(tmp_path / "disc.onnx")):
        out = tmp_path / f"mask-{Path(model).suffix[1:]}.png"
        assert main(["segment", str(tmp_path / "photo.png"), "--model", model, "--classes", "disc", "-o", str(out),
                     "-q"]) == 0
        masks[model] = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE) > 0
        overlap = (masks[model] & (truth > 0)).sum() / ((masks[model] | (truth > 0)).sum())
        assert overlap > 0.5, model
    torch_mask, onnx_mask = masks.values()
    assert (torch_mask == onnx_mask).mean() > 0.99


@pytest.mark.parametrize("args, message", [
    (["--arch", "unet", "--init", "none", "--epochs", "1", "--loss", "hinge"], "unknown loss"),
    (["--arch", "resnet"], "unknown architecture"),
    (["--init", "nowhere.pt"], "nowhere.pt"),
    (["--arch", "unet", "--init", "none", "--distill", "nowhere.pt"], "--distill nowhere.pt"),
    (["--class-weights", "1,x"], "--class-weights"),
])
def test_bad_settings_are_one_line_and_exit_2(discs: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                               args: list[str], message: str) -> None:
    assert main(["train", "segmenter", str(discs), "-o", str(tmp_path / "run"), "--size", str(SIZE), "-q",
                 *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_bad_data_is_refused_before_training(discs: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    broken = tmp_path / "broken"
    (broken / "masks").mkdir(parents=True)
    (broken / "images").mkdir()
    for name in ("a", "b"):
        cv2.imwrite(str(broken / "images" / f"{name}.png"), np.zeros((32, 32, 3), np.uint8))
    cv2.imwrite(str(broken / "masks" / "a.png"), np.zeros((32, 32), np.uint8))
    assert main(["train", "segmenter", str(broken), "-o", str(tmp_path / "run"), "-q"]) == 2
    assert "b" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_used_run_folder_is_not_overwritten(discs: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    trainer(discs, run, epochs=1).fit()
    before = (run / "last.pt").read_bytes()
    assert main(["train", "segmenter", str(discs), "-o", str(run), "-q"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (run / "last.pt").read_bytes() == before


def test_torchrun_trains_on_two_processes(discs: Path, tmp_path: Path) -> None:
    """DistributedDataParallel on the CPU (gloo): the same loop that runs on several GPUs."""
    run = tmp_path / "ddp"
    with socket.socket() as free:  # a port nothing else holds now (Ray, started by other tests, takes many)
        free.bind(("127.0.0.1", 0))
        port = str(free.getsockname()[1])
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
               "-m", "unseen", "train", "segmenter", str(discs), "-o", str(run), "--arch", "unet", "--init", "none",
               "--size", str(SIZE), "--epochs", "2", "--batch", "4", "--classes", "disc", "--augment", "none",
               "--network", json.dumps(TINY["unet"]), "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    # What a rank said before it died is near the top; torchrun's summary at the end.
    assert done.returncode == 0, done.stderr[:3000] + "\n...\n" + done.stderr[-1500:]
    assert [r["epoch"] for r in rows(run)] == ["1.0", "2.0"]  # one process writes
    assert load_checkpoint(run / "best.pt")["classes"] == ["background", "disc"]


def test_the_registry_lists_every_architecture_tested_here() -> None:
    assert set(TINY) == set(list_architectures())
