"""The flow-completer task: a network that guesses the optical flow inside a hole, trained on flows of
real frames with holes cut out at random (and synthetic flows), in the shared loop (:mod:`unseen.train.loop`).

The loss is the end-point error (EPE: the length of the difference between the guessed and the true flow
vector, in pixels of the network's grid) averaged over the hole. Validation measures it on the held-out
clips for the network and for the engine's two hand-made completions (the camera's motion, the border's
flow carried inside), so every epoch says whether learning beats them; ``best.pt`` has the lowest EPE.

A network with ``confidence`` also learns the error to expect of its guess, pixel by pixel: the negative
log-likelihood of the EPE under an exponential distribution whose mean it predicts (its minimum is the
mean error there). The EPE it is scored on is detached, so learning the confidence does not bend the flow
towards pixels that are easy to be sure of. Validation then reports the EPE on the half of the hole pixels
the network is surest of (``epe_sure``): well below ``epe`` if the confidence means anything.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from unseen.errors import InputError
from unseen.inpaint.learned_flow import FLOW_UNIT, LOG_ERROR_RANGE, NET_SCALE
from unseen.nets.flow_completion import build_flow_completer
from unseen.train.checkpoint import load_checkpoint
from unseen.train.data.flows import FlowHoles, clip_flows, clip_shapes, frame_folders
from unseen.train.data.pairs import split_names
from unseen.train.loop import Trainer, TrainOptions
from unseen.train.settings import resolve_settings

# Without normalisation layers the network diverged at 1e-3 (output flows of 10^4 px after 4-6 epochs).
DEFAULT_OPTIONS = {"batch": 16, "lr": 3e-4}
# Pixels (network grid) of error beyond which a pixel counts only logarithmically: a few samples of a
# shaken camera whose truth (DIS's flow) is itself wrong by tens of pixels must not steer the rest. (A hard
# cap gave no gradient at all to a network whose output had run away, and it never came back.)
LOSS_CAP = 8.0
# Weight of the confidence's likelihood beside the EPE.
CONFIDENCE_WEIGHT = 0.1
# What a new confidence channel starts at: the log of a typical error (0.1 flow units, ~0.4 px).
LOG_ERROR_START = -2.3


@dataclass
class FlowCompleterSpec:
    """What to train (how long and how fast is :class:`TrainOptions`).

    Attributes
    ----------
    videos : str
        Folders of frame folders (one per clip; ``masks/`` inside a clip give hole shapes), separated by
        commas. Clips are split into training and validation clips, never frames of one clip.
    size : int
        Side of the square training crops on the network's grid (a multiple of 16).
    synthetic : float
        Share of training samples that are synthetic flows rather than real ones.
    free_form : float
        Share of holes that are strokes and boxes rather than object silhouettes.
    val_ratio : float
        Share of the clips held out for validation.
    network : dict
        The completer's options (``width``, ``depth``, ``confidence``...).
    init : str or None
        A flow completer (``.pt`` or run folder) to start from: every tensor that fits is copied, and a head
        grown by a confidence channel keeps its flow channels.
    """

    videos: str
    size: int = 112
    synthetic: float = 0.0
    free_form: float = 0.3
    val_ratio: float = 0.15
    network: dict[str, Any] = field(default_factory=dict)
    init: str | None = None


def _error_length(flow: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Per pixel, the length of the error vector (N x 1 x H x W; smooth at zero)."""
    return ((flow - truth).square().sum(1, keepdim=True) + 1e-6).sqrt()


def end_point_error(flow: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor, soft_cap: float | None = None
                    ) -> torch.Tensor:
    """Mean EPE over the hole's pixels (flows N x 2 x H x W, hole N x 1 x H x W). With ``soft_cap``, a
    pixel's error beyond it counts only logarithmically (``cap * (1 + log(error / cap))``): it still
    pulls towards the truth, but cannot outweigh the rest of the batch."""
    length = _error_length(flow, truth)
    if soft_cap is not None:
        length = torch.where(length > soft_cap, soft_cap * (1 + torch.log(length.clamp(min=soft_cap) / soft_cap)),
                             length)
    return (length * hole).sum() / hole.sum().clamp(min=1)


def split_output(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The network's residual flow (N x 2) and its log expected error (N x 1, clamped; None without
    confidence)."""
    if output.shape[1] < 3:
        return output, None
    return output[:, :2], output[:, 2:3].clamp(*LOG_ERROR_RANGE)


def confidence_loss(log_error: torch.Tensor, flow: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor
                    ) -> torch.Tensor:
    """Mean negative log-likelihood over the hole of the (detached) EPE, in flow units, under an exponential
    distribution of mean ``exp(log_error)``."""
    error = _error_length(flow, truth).detach() / FLOW_UNIT
    nll = error.clamp(max=LOSS_CAP) * torch.exp(-log_error) + log_error
    return (nll * hole).sum() / hole.sum().clamp(min=1)


def start_from(network: nn.Module, init: str | os.PathLike) -> None:
    """Copy a flow completer checkpoint's weights into ``network`` where they fit; a head with more output
    channels keeps the source's channels and starts the new one (the confidence) at a typical error."""
    card = load_checkpoint(init)
    if card.get("task") != FlowCompleterTrainer.task:
        raise InputError(f"--init {init}: holds a {card.get('task')} model, not a flow completer")
    own = network.state_dict()
    for key, value in card["model"].items():
        target = own.get(key)
        if target is None or target.shape[1:] != value.shape[1:] or target.shape[0] < value.shape[0]:
            continue
        with torch.no_grad():
            target[:value.shape[0]] = value.to(target.dtype)
            if target.shape[0] > value.shape[0]:
                target[value.shape[0]:] = 0 if target.dim() > 1 else LOG_ERROR_START
    network.load_state_dict(own)


class FlowCompleterTrainer(Trainer):
    """Completes flows: EPE in the hole; validated against the camera and border completions."""

    task = "flow-completer"
    score_key = "score"
    # A few samples of fast motion (a shaken camera: 60 px a frame) whose camera completion is far off give
    # huge gradients; unclipped, one such batch undid an epoch of training (loss 0.46 -> 10.3).
    max_grad_norm = 1.0

    def __init__(self, run: str | os.PathLike, spec: FlowCompleterSpec, options: TrainOptions,
                 resume: bool = False) -> None:
        super().__init__(run, options, resume)
        self.spec = spec
        clips = frame_folders(spec.videos)
        self.train_clips, self.val_clips = split_names(clips, spec.val_ratio, options.seed)

    def build_model(self) -> nn.Module:
        network = build_flow_completer(**self.spec.network)
        if self.spec.size % network.side_multiple:
            raise InputError(f"--size {self.spec.size}: the flow completer needs a multiple of {network.side_multiple}")
        self.network_config = network.config
        if self.spec.init and not self.resume:
            start_from(network, self.spec.init)
        return network

    def build_datasets(self) -> tuple[Dataset, Dataset]:
        show = self.options.show_progress
        shapes = clip_shapes(self.train_clips)
        return (FlowHoles(clip_flows(self.train_clips, show), shapes, self.spec.size, True, self.spec.synthetic,
                          self.spec.free_form),
                FlowHoles(clip_flows(self.val_clips, show), clip_shapes(self.val_clips) or shapes, self.spec.size,
                          False, free_form=self.spec.free_form))

    def compute_loss(self, model: nn.Module, batch: Any) -> torch.Tensor:
        maps, camera, truth, hole = batch
        residual, log_error = split_output(model(maps))
        flow = camera + FLOW_UNIT * residual
        loss = end_point_error(flow, truth, hole, soft_cap=LOSS_CAP)
        if log_error is not None:
            loss = loss + CONFIDENCE_WEIGHT * confidence_loss(log_error, flow, truth, hole)
        return loss

    def validate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        totals: dict[str, float] = {"epe": 0.0, "epe_camera": 0.0, "epe_border": 0.0}
        for maps, camera, truth, hole in loader:
            maps, camera, truth, hole = (t.to(self.device) for t in (maps, camera, truth, hole))
            residual, log_error = split_output(model(maps))
            border = camera + FLOW_UNIT * maps[:, 2:4]
            guesses = {"epe": camera + FLOW_UNIT * residual, "epe_camera": camera, "epe_border": border}
            for key, guess in guesses.items():
                totals[key] += float(end_point_error(guess, truth, hole))
            if log_error is not None:
                totals["nll"] = totals.get("nll", 0.0) + float(confidence_loss(log_error, guesses["epe"], truth, hole))
                totals["epe_sure"] = totals.get("epe_sure", 0.0) + _surest_half_error(
                    log_error, guesses["epe"], truth, hole)
        scores = {key: value / max(1, len(loader)) for key, value in totals.items()}
        return {"loss": scores["epe"], **scores, "score": -scores["epe"]}

    def model_card(self) -> dict[str, Any]:
        return {"task": self.task, "network": self.network_config, "net_scale": NET_SCALE, "flow_unit": FLOW_UNIT,
                "train_clips": [clip.name for clip in self.train_clips],
                "val_clips": [clip.name for clip in self.val_clips], "spec": asdict(self.spec)}


def _surest_half_error(log_error: torch.Tensor, flow: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor
                       ) -> float:
    """Mean EPE over the half of the hole pixels with the smallest expected error."""
    inside = hole[:, 0] > 0
    expected = log_error[:, 0][inside]
    if not len(expected):
        return 0.0
    error = _error_length(flow, truth)[:, 0][inside]
    return float(error[expected <= expected.median()].mean())


def train_flow_completer(videos: str | os.PathLike | None, run: str | os.PathLike, *, resume: bool = False,
                         **settings: Any) -> dict[str, float]:
    """Train a flow completer into the run folder ``run``; return the best validation scores.

    Parameters
    ----------
    videos
        Folders of frame folders (comma-separated); may be None with ``resume``.
    run
        The run folder: ``best.pt``, ``last.pt``, ``metrics.csv``, ``curves.png``.
    resume
        Continue the interrupted run in ``run`` exactly where it stopped.
    **settings
        :class:`FlowCompleterSpec` fields (``size``, ``synthetic``...) and :class:`TrainOptions` fields
        (``epochs``, ``time_limit``, ``batch``, ``lr``, ``device``...). None: the default (or as before).
    """
    if videos is None and not resume:
        raise InputError("give a folder of video frame folders (VIDEOS)")
    if not resume:
        settings = {**settings, **{k: v for k, v in DEFAULT_OPTIONS.items() if settings.get(k) is None}}
    spec, options = resolve_settings(FlowCompleterSpec, FlowCompleterTrainer.task, run, resume, settings,
                                     {"videos": videos})
    return FlowCompleterTrainer(Path(run), FlowCompleterSpec(**spec), TrainOptions(**options), resume=resume).fit()
