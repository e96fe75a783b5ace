"""Segmenters trained with ``unseen train segmenter``: a run folder or its ``.pt`` checkpoint as a model.

The checkpoint says everything needed to use it (architecture, classes, input size, normalisation; see
:mod:`unseen.train.checkpoint`), so ``--model RUN`` or ``--model RUN/best.pt`` works wherever a shipped
model does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from unseen.errors import InputError
from unseen.nets import build_network
from unseen.nets.runtime import run_network
from unseen.segment.espnetv2 import DEFAULT_THREADS, network_size, softmax_probs, torch_device
from unseen.train.checkpoint import load_checkpoint


class TrainedSegmenter:
    """A trained checkpoint as a :class:`~unseen.segment.base.Segmenter`.

    Parameters
    ----------
    name : str
        A ``.pt`` checkpoint or a run folder (its ``best.pt`` is used).
    device : str
        ``cpu``, ``cuda`` or ``cuda:N``.
    size : int or None
        Longer side the network sees; None: the size it was trained at.
    threads : int or None
        CPU threads for torch (process-wide); see :class:`unseen.segment.espnetv2.ESPNetv2`.
    """

    def __init__(self, name: str | os.PathLike, device: str = "cpu", size: int | None = None,
                 threads: int | None = DEFAULT_THREADS) -> None:
        if threads is not None:
            torch.set_num_threads(threads)
        card = load_checkpoint(name)
        if card.get("task") != "segmenter":
            raise InputError(f"{name} holds a {card.get('task')} model, not a segmenter")
        self.name = str(name)
        self.classes = tuple(card["classes"])
        self.size = size or int(card["size"])
        self.device = torch_device(device)
        network = build_network(**card["network"])
        network.load_state_dict(card["model"])
        self.model = network.eval().to(self.device)
        self.side_multiple = network.side_multiple
        self._mean = np.asarray(card["mean"], np.float32) * 255
        self._std = np.asarray(card["std"], np.float32) * 255

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """Softmax probabilities (h x w x C float32) at the network's resolution."""
        return softmax_probs(self._logits(rgb))

    def predict_wanted(self, rgb: np.ndarray, wanted: Sequence[int]) -> np.ndarray:
        """The ``wanted`` channels' probabilities, "anything else" first (h x w x (1 + K)): see
        :func:`~unseen.segment.espnetv2.softmax_probs`."""
        return softmax_probs(self._logits(rgb), wanted)

    @torch.inference_mode()
    def _logits(self, rgb: np.ndarray) -> torch.Tensor:
        from unseen.segment.base import check_rgb, stretch

        h, w = check_rgb(rgb).shape[:2]
        size = network_size(w, h, self.size, self.side_multiple)
        x = (stretch(rgb, *size).astype(np.float32) - self._mean) / self._std
        tensor = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(self.device)
        return run_network(self.model, tensor)[0]
