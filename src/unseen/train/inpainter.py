"""The inpainter task: a mask-aware generator trained against a conditional PatchGAN, on pairs made on the
fly (:mod:`unseen.train.data.pairs`), in the shared loop (:mod:`unseen.train.loop`).

Both networks live in one module (:class:`InpaintGAN`) and one optimiser steps both at once: the
discriminator's loss sees the generator's fill detached, and the generator's adversarial loss runs the
discriminator with its weights detached (``torch.func.functional_call``), so each loss moves only its
own network. The loop's checkpoints, resume, time limit, curves and DDP then work unchanged.

Validation fills the held-out pairs and scores them as the referee does (hole PSNR, detail) and by the
distance of their features (the feature term's frozen encoder) to the truth's. ``best.pt`` is the
checkpoint with the best ``score``: the feature distance (x -100), which ranks a plausible texture above a
blur and both above a GAN's stripes (on bench/inpaint.py's photo cases: patch 0.087, membrane 0.093, two
striped checkpoints 0.101-0.102), where hole PSNR alone picks the blurriest checkpoint and PSNR - 10 x
|1 - detail| picked the stripes (their "detail" is as high as the truth's). Without the feature term,
``score`` is that last rule. Each validation also writes ``samples/epoch_NNNN.png`` (holes, fills, truth)
to look at.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.utils.data import DataLoader, Dataset

from unseen.errors import InputError
from unseen.inpaint.quality import RemovalScores
from unseen.nets.inpaint import PatchDiscriminator, build_generator, saved_generator_config
from unseen.train.checkpoint import LAST, load_checkpoint
from unseen.train.data.pairs import InpaintPairs, list_pictures, split_names
from unseen.train.image_losses import FEATURE_NET, FeatureLoss, hinge_discriminator, hinge_generator, masked_l1
from unseen.train.loop import Trainer, TrainOptions
from unseen.train.settings import resolve_settings

DETAIL_WEIGHT = 10.0  # dB of score per unit of |1 - detail| (runs without the feature term)
FEATURE_SCALE = 100.0  # the score is minus this times the feature distance (readable numbers)
# What a GAN wants of the loop, where the segmenters' defaults differ: smaller batches, a lower rate.
DEFAULT_OPTIONS = {"batch": 4, "lr": 2e-4}
SAMPLES = 4  # validation pairs drawn in each sample grid


@dataclass
class InpainterSpec:
    """What to train (how long and how fast is :class:`TrainOptions`).

    Attributes
    ----------
    backgrounds : str
        A folder of clean photos (sub-folders too), or several separated by commas: the truths.
    objects : str or None
        A folder of RGBA cut-outs (``unseen cutout``) whose silhouettes make object-shaped holes; None:
        free-form holes only.
    arch : str
        ``unet`` or ``seed000`` (:data:`unseen.nets.inpaint.GENERATORS`).
    size : int
        Side of the square training crops (a multiple of the generator's ``side_multiple``).
    free_form : float
        Share of holes that are strokes and boxes rather than silhouettes.
    l1, adversarial, features : float
        Weights of the reconstruction, GAN and feature terms (features 0: no feature network needed).
    spectral_norm : bool
        A spectrally normalised discriminator (see :class:`~unseen.nets.inpaint.PatchDiscriminator`): of
        the five runs in docs/benchmarks.md, the only one whose fills never turned to stripes.
    hole_weight : float
        How much more the reconstruction term weighs hole pixels.
    feature_net : str
        The frozen network of the feature term (a published ESPNetv2; see :mod:`unseen.train.image_losses`).
    network : dict
        The generator's options (``width``, ``depth``...).
    """

    backgrounds: str
    objects: str | None = None
    arch: str = "unet"
    size: int = 256
    free_form: float = 0.5
    l1: float = 1.0
    adversarial: float = 0.05
    features: float = 0.2
    spectral_norm: bool = True
    hole_weight: float = 6.0
    feature_net: str = FEATURE_NET
    val_ratio: float = 0.15
    network: dict[str, Any] = field(default_factory=dict)


class InpaintGAN(nn.Module):
    """The generator and the discriminator, trained together; only the generator fills holes later."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator, self.discriminator = generator, discriminator

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """The filled image: the generator's output in the hole, ``image`` elsewhere."""
        return image * (1 - hole) + self.generator(image * (1 - hole), hole) * hole


class InpainterTrainer(Trainer):
    """Fills holes: masked L1 + hinge GAN + feature loss; validated by hole PSNR and detail."""

    task = "inpainter"
    score_key = "score"

    def __init__(self, run: str | os.PathLike, spec: InpainterSpec, options: TrainOptions,
                 resume: bool = False) -> None:
        super().__init__(run, options, resume)
        self.spec = spec
        backgrounds = [path for folder in spec.backgrounds.split(",") for path in list_pictures(folder, "backgrounds")]
        objects = list_pictures(spec.objects, "cut-outs") if spec.objects else []
        self.train_backgrounds, self.val_backgrounds = split_names(backgrounds, spec.val_ratio, options.seed)
        if len(objects) >= 2:
            self.train_objects, self.val_objects = split_names(objects, spec.val_ratio, options.seed)
        else:
            self.train_objects = self.val_objects = objects
        self._features: FeatureLoss | None = None
        if spec.features > 0:
            self._features = FeatureLoss(spec.feature_net)

    def build_model(self) -> nn.Module:
        generator = build_generator(self.spec.arch, **self.spec.network)
        if self.spec.size % generator.side_multiple:
            raise InputError(f"--size {self.spec.size}: the {self.spec.arch} generator needs a multiple of "
                             f"{generator.side_multiple}")
        self.network_config = generator.config
        return InpaintGAN(generator, PatchDiscriminator(spectral=self.spec.spectral_norm))

    def build_datasets(self) -> tuple[Dataset, Dataset]:
        return (InpaintPairs(self.train_backgrounds, self.train_objects, self.spec.size, True, self.spec.free_form),
                InpaintPairs(self.val_backgrounds, self.val_objects, self.spec.size, False, self.spec.free_form))

    def compute_loss(self, model: nn.Module, batch: Any) -> torch.Tensor:
        real, hole = batch
        gan = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
        fake = gan.generator(real * (1 - hole), hole)
        filled = real * (1 - hole) + fake * hole
        # The discriminator learns on the fill as it is; the generator learns through a copy of the
        # discriminator whose weights take no gradient.
        loss_d = hinge_discriminator(gan.discriminator(real, hole), gan.discriminator(filled.detach(), hole))
        frozen = {name: value.detach() for name, value in gan.discriminator.named_parameters()}
        loss_g = hinge_generator(functional_call(gan.discriminator, frozen, (filled, hole)))
        loss = self.spec.l1 * masked_l1(fake, real, hole, self.spec.hole_weight) + self.spec.adversarial * loss_g
        if self._features is not None:
            loss = loss + self.spec.features * self._features.to(real.device)(filled, real)
        return loss + loss_d

    def validate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        scores, l1, features, shown = RemovalScores(), 0.0, 0.0, []
        for real, hole in loader:
            real, hole = real.to(self.device), hole.to(self.device)
            filled = model(real, hole)
            l1 += float((filled - real).abs().sum() / (3 * hole.sum()).clamp(min=1))
            if self._features is not None:
                features += float(self._features.to(real.device)(filled, real))
            truth, result = _to_uint8(real), _to_uint8(filled)
            scores.add(truth, result, hole[0, 0].cpu().numpy() > 0.5)
            if len(shown) < SAMPLES:
                shown.append(_sample_row(truth, result, hole[0, 0].cpu().numpy() > 0.5))
        result = scores.scores(len(loader))
        detail = result["detail"] if np.isfinite(result["detail"]) else 0.0
        if shown and self.rank == 0:
            (self.run / "samples").mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(self.run / "samples" / f"epoch_{self.state.epoch + 1:04d}.png"),
                        cv2.cvtColor(np.vstack(shown), cv2.COLOR_RGB2BGR))
        count = max(1, len(loader))
        out = {"loss": l1 / count, "psnr_hole": result["psnr_hole"], "detail": detail}
        if self._features is None:
            return out | {"score": result["psnr_hole"] - DETAIL_WEIGHT * abs(1 - detail)}
        return out | {"features": features / count, "score": -FEATURE_SCALE * features / count}

    def model_card(self) -> dict[str, Any]:
        return {"task": self.task, "network": self.network_config, "size": self.spec.size, "spec": asdict(self.spec)}


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    return ((image[0].detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


def _sample_row(truth: np.ndarray, filled: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Input (hole in magenta) | fill | truth."""
    shown = truth.copy()
    shown[hole] = (255, 0, 255)
    return np.hstack([shown, filled, truth])


def train_inpainter(backgrounds: str | os.PathLike | None, run: str | os.PathLike, *,
                    objects: str | os.PathLike | None = None, resume: bool = False,
                    **settings: Any) -> dict[str, float]:
    """Train an inpainter into the run folder ``run``; return the best validation scores.

    Parameters
    ----------
    backgrounds
        A folder of clean photos (the truths); may be None with ``resume``.
    run
        The run folder: ``best.pt``, ``last.pt``, ``metrics.csv``, ``curves.png``, ``samples/``.
    objects
        A folder of RGBA cut-outs (``unseen cutout``) for object-shaped holes.
    resume
        Continue the interrupted run in ``run`` exactly where it stopped.
    **settings
        :class:`InpainterSpec` fields (``arch``, ``size``, ``adversarial``...) and :class:`TrainOptions` fields
        (``epochs``, ``time_limit``, ``batch``, ``lr``, ``device``...). None: the default (or as before).
    """
    if backgrounds is None and not resume:
        raise InputError("give a folder of background photos (--backgrounds)")
    if not resume:
        settings = {**settings, **{k: v for k, v in DEFAULT_OPTIONS.items() if settings.get(k) is None}}
    inputs = {"backgrounds": backgrounds, "objects": objects}
    spec, options = resolve_settings(InpainterSpec, InpainterTrainer.task, run, resume, settings, inputs)
    if resume:
        # A run goes on with the networks it began with, whatever the defaults have become since.
        begun = load_checkpoint(run, LAST)
        config = saved_generator_config(begun["network"])
        spec["arch"], spec["network"] = config.pop("arch"), config
        spec.setdefault("spectral_norm", False)  # runs begun before the option had instance norm
    return InpainterTrainer(Path(run), InpainterSpec(**spec), TrainOptions(**options), resume=resume).fit()
