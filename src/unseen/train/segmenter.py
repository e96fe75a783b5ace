"""The segmenter task: the shared loop (:mod:`unseen.train.loop`) with a network, labelled images and a loss.

:func:`train_segmenter` is what ``unseen train segmenter`` calls. The result is a run folder whose
``best.pt`` is a model like any other (``--model RUN/best.pt`` in ``segment``, ``remove --target`` and
``background``), because the checkpoint carries the architecture, the class names, the input size and
the normalisation.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from unseen.errors import InputError
from unseen.nets import build_network
from unseen.nets.espnetv2 import IMAGENET_MEAN, IMAGENET_STD
from unseen.nets.transfer import load_init_state, transfer_weights
from unseen.train.augment import eval_transform, train_transform
from unseen.train.data import SegmentationData, SegmentationDataset, open_segmentation_data
from unseen.train.data.negatives import add_negatives
from unseen.train.loop import Trainer, TrainOptions
from unseen.train.losses import get_loss
from unseen.train.metrics import ConfusionMatrix
from unseen.train.settings import resolve_settings

DEFAULT_ARCH = "espnetv2"
DEFAULT_SIZE = 384
DEFAULT_LOSS = "ce-dice"
# Transfer learning is what makes training on a CPU worth it: these architectures start from the
# published PASCAL ESPNetv2 unless told otherwise (``init="none"`` trains from scratch).
DEFAULT_INIT = {"espnetv2": "espnetv2-pascal", "deeplabv3plus": "espnetv2-pascal"}
NO_INIT = "none"
DISTILL_TEMPERATURE = 2.0  # softens the teacher's answers, so its second guesses (a dog rather than a cat) carry over


@dataclass
class SegmenterSpec:
    """What to train: data, network, start and objective (how long and how fast is :class:`TrainOptions`).

    Attributes
    ----------
    data : str
        A labelled dataset (see :func:`unseen.train.data.open_segmentation_data`).
    arch : str
        A network from :func:`unseen.nets.list_architectures`.
    init : str or None
        Starting weights: a published model name (``espnetv2-city``, ``espnetv2-pascal``...), a run
        folder or checkpoint, ``none``; None: :data:`DEFAULT_INIT` for the architecture.
    classes : list of str or None
        Train on these classes of the data only (the rest becomes background).
    coco_categories : list of str or None
        With COCO data: the categories to read.
    negatives : list of str or None
        Folders of images that hold none of the classes (every pixel background), mixed in to teach what
        is not a class (see :mod:`unseen.train.data.negatives`).
    size : int
        Longer side of the network's input in use (images are scaled around it in training).
    crop : int or None
        Side of the square training crops (None: ``size``). Smaller crops of the same scale train
        faster per image, which is what a CPU's time budget needs; the network sees the same scale.
    loss : str
        A loss from :func:`unseen.train.losses.get_loss` (``bce-dice:1,0.3`` weights a sum).
    class_weights : list of float or None
        Per-class weights of the loss (CE, focal, BCE, Dice, Jaccard).
    augment : str
        ``none``, ``default`` or ``heavy`` (see :func:`unseen.train.augment.train_transform`).
    network : dict
        More architecture options (``encoder``, ``width``...).
    distill : str or None
        A teacher (a published model or a run, read as ``init`` is) whose answers the network keeps where the
        labels say only "background" (or nothing): what the labels do not name is not unlearnt (learning
        without forgetting). Its classes are matched by name.
    distill_weight : float
        Weight of that term (the KL divergence at temperature :data:`DISTILL_TEMPERATURE`, times its square).
    """

    data: str
    arch: str = DEFAULT_ARCH
    init: str | None = None
    classes: list[str] | None = None
    coco_categories: list[str] | None = None
    negatives: list[str] | None = None
    size: int = DEFAULT_SIZE
    crop: int | None = None
    loss: str = DEFAULT_LOSS
    class_weights: list[float] | None = None
    augment: str = "default"
    val_ratio: float = 0.15
    network: dict[str, Any] = field(default_factory=dict)
    distill: str | None = None
    distill_weight: float = 1.0


class SampleSeeded(Dataset):
    """Training samples fetched as ``(index, seed)``: the augmentation draws from that seed alone."""

    def __init__(self, dataset: SegmentationDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item
        self.dataset.transform.set_random_seed(seed)
        return self.dataset[index]


class SegmenterTrainer(Trainer):
    """Per-pixel classification: cross-entropy-family losses, IoU/Dice validation, best by mean IoU."""

    task = "segmenter"
    score_key = "miou"

    def __init__(self, run: str | os.PathLike, spec: SegmenterSpec, options: TrainOptions,
                 resume: bool = False) -> None:
        super().__init__(run, options, resume)
        self.spec = spec
        self.data: SegmentationData = open_segmentation_data(
            spec.data, classes=spec.classes, coco_categories=spec.coco_categories, val_ratio=spec.val_ratio,
            seed=options.seed)
        if spec.negatives:
            add_negatives(self.data, spec.negatives, spec.val_ratio, options.seed)
        self.data.check()
        if spec.class_weights is not None and len(spec.class_weights) != len(self.data.classes):
            raise InputError(f"{len(spec.class_weights)} class weights for {len(self.data.classes)} classes "
                             f"({', '.join(self.data.classes)})")
        self.loss = get_loss(spec.loss, self.data.ignore_index, spec.class_weights)
        self.teacher: nn.Module | None = None

    def build_model(self) -> nn.Module:
        network = build_network(self.spec.arch, len(self.data.classes), **self.spec.network)
        self.network_config = network.config
        init = self.spec.init if self.spec.init is not None else DEFAULT_INIT.get(self.spec.arch, NO_INIT)
        if init != NO_INIT and not self.resume:
            report = self._load(network, init)
            if self.options.show_progress and self.rank == 0:
                print(f"unseen: started from {init}: {report}", file=sys.stderr, flush=True)
        if self.spec.distill:
            self.teacher = build_network(self.spec.arch, len(self.data.classes), **self.spec.network)
            self._load(self.teacher, self.spec.distill, "--distill")
            self.teacher.to(self.device).eval().requires_grad_(False)
            self.never_named = torch.tensor(never_named(self.data), dtype=torch.long, device=self.device)
        return network

    def _load(self, network: nn.Module, source: str, option: str = "--init") -> Any:
        state, source_classes, _ = load_init_state(source, option)
        return transfer_weights(network, state, source_classes, self.data.classes)

    def build_datasets(self) -> tuple[Dataset, Dataset]:
        transform = train_transform(self.spec.size, self.spec.augment, crop=self.spec.crop)
        train = SegmentationDataset(self.data.train, transform)
        val = SegmentationDataset(self.data.val, eval_transform(self.spec.size))
        return SampleSeeded(train), val

    def compute_loss(self, model: nn.Module, batch: Any) -> torch.Tensor:
        images, labels = batch
        logits = model(images)
        if self.teacher is None:
            return self.loss(logits, labels)
        with torch.no_grad():
            taught = self.teacher(images)
        unnamed = (labels == 0) | (labels == self.data.ignore_index)
        # "Background" in data that never labels a class does not mean "not that class": where the teacher sees
        # one there, only its own answer is learnt.
        theirs = (labels == 0) & torch.isin(taught.argmax(1), self.never_named)
        loss = self.loss(logits, labels.masked_fill(theirs, self.data.ignore_index))
        return loss + self.spec.distill_weight * distillation(logits, taught, unnamed)

    def validate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        matrix = ConfusionMatrix(len(self.data.classes), self.data.ignore_index)
        total = 0.0
        for images, labels in loader:
            images, labels = images.to(self.device), labels.to(self.device)
            logits = model(images)
            total += float(self.loss(logits, labels))
            matrix.update(logits.argmax(1), labels)
        return {"loss": total / max(1, len(loader)), **matrix.summary(self.data.classes)}

    def model_card(self) -> dict[str, Any]:
        return {"task": self.task, "network": self.network_config, "classes": list(self.data.classes),
                "size": self.spec.size, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
                "spec": asdict(self.spec)}


def never_named(data: SegmentationData) -> list[int]:
    """The classes (but background) that no training label uses."""
    named = set()
    for sample in data.train:
        named.update(np.unique(sample.labels()).tolist())
    return [c for c in range(1, len(data.classes)) if c not in named]


def distillation(logits: torch.Tensor, taught: torch.Tensor, where: torch.Tensor,
                 temperature: float = DISTILL_TEMPERATURE) -> torch.Tensor:
    """Mean KL divergence of the student's softened answers (N x C x H x W ``logits``) from the teacher's
    (``taught``) over the pixels ``where`` (N x H x W bool), times the temperature's square (Hinton et al.)."""
    if not bool(where.any()):
        return logits.sum() * 0.0
    student = torch.log_softmax(logits / temperature, dim=1).permute(0, 2, 3, 1)[where]
    teacher = torch.log_softmax(taught / temperature, dim=1).permute(0, 2, 3, 1)[where]
    kl = (teacher.exp() * (teacher - student)).sum(dim=1).mean()
    return kl * temperature ** 2


def train_segmenter(data: str | os.PathLike | None, run: str | os.PathLike, *, resume: bool = False,
                    **settings: Any) -> dict[str, float]:
    """Train a segmenter into the run folder ``run``; return the best validation scores.

    Parameters
    ----------
    data
        The labelled data (images/ + masks/ folder, COCO, frame folders); may be None with ``resume``.
    run
        The run folder: ``best.pt``, ``last.pt``, ``metrics.csv``, ``curves.png`` go there.
    resume
        Continue the interrupted run in ``run`` exactly where it stopped, with its own data and
        settings; only settings given here (e.g. a new ``time_limit`` or more ``epochs``) change.
    **settings
        What to train, :class:`SegmenterSpec` fields (``arch``, ``init``, ``classes``, ``size``, ``loss``...),
        and how, :class:`TrainOptions` fields (``epochs``, ``time_limit``, ``batch``, ``lr``, ``device``...).
        None means "the default" (or, when resuming, "as before").
    """
    if data is None and not resume:
        raise InputError("give the training data (a folder of images/ and masks/, COCO, or frame folders)")
    spec, options = resolve_settings(SegmenterSpec, SegmenterTrainer.task, run, resume, settings, {"data": data})
    trainer = SegmenterTrainer(run, SegmenterSpec(**spec), TrainOptions(**options), resume=resume)
    return trainer.fit()

