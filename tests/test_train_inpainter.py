"""`unseen train inpainter` and trained inpainters as fillers: networks, pairs, a tiny GAN run, resume."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unseen.api import remove
from unseen.cli import main
from unseen.errors import InputError
from unseen.inpaint import get_filler
from unseen.inpaint.learned import LearnedFiller
from unseen.nets.inpaint import PatchDiscriminator, build_generator, push_pull
from unseen.train.checkpoint import ship_checkpoint
from unseen.train.data.pairs import InpaintPairs, free_form_hole, list_pictures, silhouette_hole
from unseen.train.inpainter import InpainterSpec, InpainterTrainer, train_inpainter
from unseen.train.loop import TrainOptions

from conftest import shared_path, textured_frame

# No smooth prior: the tiny run must show the loop itself teaching the generator to fill.
TINY = {"size": 32, "features": 0.0, "network": {"width": 8, "depth": 3, "prior": "none"}, "show_progress": False}


@pytest.fixture(scope="module")
def material(tmp_path_factory) -> tuple[Path, Path]:
    """24 textured backgrounds and three RGBA cut-outs (a disc, a box, a car-like blob)."""
    root = tmp_path_factory.mktemp("material")
    (root / "bg").mkdir(), (root / "cars").mkdir()
    for i in range(24):
        cv2.imwrite(str(root / "bg" / f"{i}.png"), textured_frame(4 * i, 96, 80))
    for k, draw in enumerate((lambda a: cv2.circle(a, (30, 30), 20, 255, -1),
                              lambda a: cv2.rectangle(a, (5, 15), (55, 45), 255, -1),
                              lambda a: cv2.ellipse(a, (30, 30), (26, 14), 0, 0, 360, 255, -1))):
        alpha = np.zeros((60, 60), np.uint8)
        draw(alpha)
        cut = np.dstack([np.full((60, 60, 3), 90, np.uint8), alpha])
        cv2.imwrite(str(root / "cars" / f"car{k}.png"), cut)
    return root / "bg", root / "cars"


@pytest.mark.parametrize("arch,side", [("unet", 64), ("seed000", 128)])
def test_generators_fill_images_of_their_size(arch: str, side: int) -> None:
    generator = build_generator(arch, width=8)
    image, hole = torch.rand(2, 3, side, side) * 2 - 1, torch.zeros(2, 1, side, side)
    out = generator(image, hole)
    assert out.shape == image.shape and out.abs().max() <= 1
    assert build_generator(**generator.config).config == generator.config
    assert PatchDiscriminator()(image, hole).shape[:2] == (2, 1)
    assert PatchDiscriminator(spectral=True)(image, hole).shape == PatchDiscriminator()(image, hole).shape


def test_training_pairs_are_drawn_from_their_seed(material: tuple[Path, Path]) -> None:
    backgrounds, objects = material
    pairs = InpaintPairs(list_pictures(backgrounds, "backgrounds"), list_pictures(objects, "cut-outs"), 64, True)
    (a, hole_a), (b, hole_b) = pairs[(3, 11)], pairs[(3, 11)]
    assert torch.equal(a, b) and torch.equal(hole_a, hole_b)
    assert a.shape == (3, 64, 64) and hole_a.shape == (1, 64, 64) and a.min() >= -1 and a.max() <= 1
    rng = np.random.default_rng(0)
    areas = [free_form_hole(128, rng).mean() for _ in range(30)]
    assert min(areas) > 0.01 and max(areas) < 0.5
    disc = np.zeros((60, 60), np.uint8)
    cv2.circle(disc, (30, 30), 20, 255, -1)
    hole = silhouette_hole(disc, 128, rng)
    ys, xs = np.nonzero(hole)
    assert 0.2 * 128 <= np.ptp(ys) + 1 <= 0.6 * 128 + 8 and abs(np.ptp(ys) - np.ptp(xs)) <= 2  # a round hole


def test_the_smooth_prior_fills_a_hole_from_its_surroundings_before_any_training() -> None:
    photo = torch.from_numpy(textured_frame(3, 96, 64)).permute(2, 0, 1)[None].float() / 127.5 - 1
    hole = torch.zeros(1, 1, 64, 96)
    hole[..., 20:44, 30:70] = 1
    smooth = push_pull(photo * (1 - hole), 1 - hole)
    assert torch.equal(smooth * (1 - hole), photo * (1 - hole))  # known pixels stay
    smoothed = push_pull(photo * (1 - hole), 1 - hole, smoothing=8)
    assert torch.equal(smoothed * (1 - hole), photo * (1 - hole))

    def error(fill: torch.Tensor) -> float:
        return float(((fill - photo).abs() * hole).sum() / hole.sum() / 3)

    assert error(smooth) < 0.6 * error(torch.zeros_like(photo))  # far better than a blank
    assert error(smoothed) < error(smooth)  # and smoothing brings it nearer still
    # An untrained generator with the prior gives that fill back.
    generator = build_generator("unet", width=8)
    assert generator.config["prior"] == "membrane"
    out = generator(photo * (1 - hole), hole)
    assert torch.allclose(out * hole, smoothed.clamp(-0.999, 0.999) * hole, atol=1e-5)
    with pytest.raises(InputError, match="prior"):
        build_generator("unet", prior="blur")


def _val_rows(run: Path) -> list[dict]:
    with open(run / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_a_tiny_gan_learns_to_fill_and_plugs_in_as_a_filler(material: tuple[Path, Path], tmp_path: Path,
                                                            capfd) -> None:
    backgrounds, objects = material
    run = tmp_path / "gan"
    best = train_inpainter(backgrounds, run, objects=objects, epochs=10, batch=4, lr=2e-3, **TINY)
    rows = _val_rows(run)
    assert len(rows) == 10
    # Measured (spectrally normalised discriminator): hole L1 0.49 -> 0.35, hole PSNR 11.6 -> 13.8 dB in 50 steps.
    assert float(rows[-1]["val_loss"]) < 0.85 * float(rows[0]["val_loss"])  # L1 in the holes falls
    assert float(best["psnr_hole"]) > float(rows[0]["val_psnr_hole"]) + 1
    assert (run / "best.pt").is_file() and (run / "curves.png").is_file()
    assert len(list((run / "samples").glob("epoch_*.png"))) == 10
    # The run is a filler: only the hole changes, and it becomes like its surroundings.
    filler = get_filler(str(run))
    assert isinstance(filler, LearnedFiller)
    # A run made before the generator had a smooth prior (its card does not say) still loads.
    card = torch.load(run / "best.pt", weights_only=False)
    del card["network"]["prior"]
    torch.save(card, tmp_path / "older.pt")
    assert get_filler(str(tmp_path / "older.pt")).generator.config["prior"] == "none"
    # Shipped (generator only, float16), it fills as the run does, at half the size or less.
    shipped = ship_checkpoint(run, tmp_path / "shipped.pt", keep="generator.")
    assert shipped.stat().st_size < 0.5 * (run / "best.pt").stat().st_size
    photo = textured_frame(7, 120, 90)
    hole = np.zeros((90, 120), bool)
    hole[30:55, 40:70] = True
    damaged = photo.copy()
    damaged[hole] = (255, 0, 255)
    out = filler.fill(damaged, hole)
    assert np.array_equal(out[~hole], photo[~hole])
    assert np.abs(get_filler(str(shipped)).fill(damaged, hole).astype(int) - out).max() <= 2
    assert np.abs(out[hole].astype(int) - photo[hole]).mean() < np.abs(damaged[hole].astype(int) - photo[hole]).mean()
    # ... and the command takes it as --method.
    cv2.imwrite(str(tmp_path / "in.png"), cv2.cvtColor(damaged, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "mask.png"), hole.astype(np.uint8) * 255)
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "--method", str(run),
                 "-o", str(tmp_path / "out.png"), "-q"])
    assert code == 0, capfd.readouterr().err
    assert cv2.imread(str(tmp_path / "out.png")).shape == (90, 120, 3)
    # ... and the video engine takes it for what no frame shows (a still camera, a still hole).
    frames = np.stack([photo] * 6)
    holes = np.stack([hole] * 6)
    by_run = remove(frames, mask=holes, method="flow", hidden_fill=str(run), dilate_px=0)
    by_patch = remove(frames, mask=holes, method="flow", dilate_px=0)
    assert np.array_equal(by_run[:, ~hole], frames[:, ~hole])
    assert not np.array_equal(by_run, by_patch)
    own = filler.fill(frames[0], hole)[hole].astype(int)
    # The engine keeps the run's fill (its seam correction and smoothing move it a little).
    assert np.abs(by_run[0][hole] - own).mean() < 0.5 * np.abs(by_patch[0][hole] - own).mean()
    capfd.readouterr()
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "--hidden-fill", "blur",
                 "-o", str(tmp_path / "out2.png"), "-q"])
    err = capfd.readouterr().err.strip()
    assert code == 2 and "unknown hidden fill 'blur'" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("spectral", [False, True])
def test_an_interrupted_run_resumes_exactly(material: tuple[Path, Path], tmp_path: Path, spectral: bool) -> None:
    backgrounds, objects = material
    settings = {**TINY, "epochs": 2, "batch": 4, "spectral_norm": spectral}
    train_inpainter(backgrounds, tmp_path / "whole", objects=objects, **settings)
    spec = InpainterSpec(backgrounds=str(backgrounds), objects=str(objects), size=32, features=0.0,
                         network=TINY["network"], spectral_norm=spectral)
    options = TrainOptions(epochs=2, batch=4, lr=2e-4, show_progress=False)
    stopped = InpainterTrainer(tmp_path / "cut", spec, options)
    steps = iter(range(100))
    stopped.stop_requested = lambda: next(steps) >= 2  # stop after the second batch of the first epoch
    stopped.fit()
    train_inpainter(None, tmp_path / "cut", resume=True)
    whole = torch.load(tmp_path / "whole" / "last.pt", weights_only=False)["model"]
    resumed = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)["model"]
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_bad_training_input_is_one_line(tmp_path: Path, capfd) -> None:
    (tmp_path / "empty").mkdir()
    for args, words in ((["train", "inpainter", "-o", str(tmp_path / "r")], "backgrounds"),
                        (["train", "inpainter", "--backgrounds", str(tmp_path / "empty"), "-o", str(tmp_path / "r")],
                         "holds no images"),
                        (["train", "inpainter", "--backgrounds", str(tmp_path / "nowhere"), "-o", str(tmp_path / "r")],
                         "no such folder")):
        assert main(args) == 2
        err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
        assert len(err) == 1 and words in err[0], err
    assert main(["remove", str(tmp_path / "x.png"), "--mask", str(tmp_path / "x.png"), "--method", "nothing",
                 "-o", str(tmp_path / "y.png")]) == 2


def test_the_feature_loss_compares_published_encoder_features() -> None:
    shared_path("models", "espnetv2_s_1.0_pascal_256x256.pth")
    from unseen.train.image_losses import FeatureLoss

    loss = FeatureLoss()
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    assert loss(image, image).item() == 0
    assert loss(image, torch.zeros_like(image)).item() > 0.05
    assert not any(p.requires_grad for p in loss.parameters())


def test_with_the_feature_term_the_best_checkpoint_is_the_one_nearest_the_truth_in_features(
        material: tuple[Path, Path], tmp_path: Path) -> None:
    shared_path("models", "espnetv2_s_1.0_pascal_256x256.pth")
    backgrounds, objects = material
    run = tmp_path / "features"
    best = train_inpainter(backgrounds, run, objects=objects, epochs=3, batch=4,
                           **{**TINY, "features": 0.2, "size": 64})
    rows = _val_rows(run)
    distances = [float(row["val_features"]) for row in rows]
    assert all(d > 0 for d in distances)
    assert best["features"] == pytest.approx(min(distances), abs=1e-6)
    assert best["score"] == pytest.approx(-100 * best["features"])


def test_an_interrupted_run_saves_where_to_resume_unless_its_folder_is_gone(material: tuple[Path, Path],
                                                                          tmp_path: Path) -> None:
    backgrounds, objects = material
    spec = InpainterSpec(backgrounds=str(backgrounds), objects=str(objects), size=32, features=0.0,
                         network=TINY["network"])

    def interrupted(run: Path, delete: bool) -> None:
        trainer = InpainterTrainer(run, spec, TrainOptions(epochs=2, batch=4, show_progress=False))

        def signal() -> bool:  # Ctrl-C (or SIGTERM, which unseen turns into it) in the middle of an epoch
            if delete:
                shutil.rmtree(run)
            raise KeyboardInterrupt

        trainer.stop_requested = signal
        with pytest.raises(KeyboardInterrupt):
            trainer.fit()

    interrupted(tmp_path / "kept", delete=False)
    assert (tmp_path / "kept" / "last.pt").is_file()
    interrupted(tmp_path / "gone", delete=True)  # no FileNotFoundError while saving
    assert not (tmp_path / "gone").exists()


def test_a_run_begun_before_the_prior_and_spectral_norm_resumes_as_it_began(material: tuple[Path, Path],
                                                                            tmp_path: Path) -> None:
    backgrounds, objects = material
    run = tmp_path / "old"
    spec = InpainterSpec(backgrounds=str(backgrounds), objects=str(objects), size=32, features=0.0,
                         network=TINY["network"], spectral_norm=False)
    stopped = InpainterTrainer(run, spec, TrainOptions(epochs=1, batch=4, show_progress=False))
    steps = iter(range(100))
    stopped.stop_requested = lambda: next(steps) >= 2
    stopped.fit()
    # What such a run's last.pt said: no prior in the generator's config, no spectral_norm in the spec.
    card = torch.load(run / "last.pt", weights_only=False)
    del card["network"]["prior"], card["spec"]["spectral_norm"]
    card["spec"]["network"] = {"width": 8, "depth": 3}
    torch.save(card, run / "last.pt")
    train_inpainter(None, run, resume=True, show_progress=False)
    resumed = torch.load(run / "last.pt", weights_only=False)
    assert resumed["network"]["prior"] == "none" and resumed["spec"]["spectral_norm"] is False
