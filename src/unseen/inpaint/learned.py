"""Inpainters trained with ``unseen train inpainter``: a run folder or its ``.pt`` checkpoint as a filler.

``remove ... --method RUN`` (or ``RUN/best.pt``) fills with it; :func:`unseen.inpaint.get_filler` takes
such a path wherever it takes a filler's name. Like the patch filler it works on a box around each group
of holes (the generator sees the holes' surroundings, not the whole photo); a box larger than the
network's working side is scaled down for the network and the fill scaled back up.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import torch

from unseen.errors import InputError
from unseen.inpaint.base import Context, fill_hole
from unseen.nets.inpaint import build_generator, saved_generator_config
from unseen.train.checkpoint import load_checkpoint

# Longest side the generator works at, as a multiple of its training crop: it learned at that scale.
WORK_SCALE = 2
_PREFIX = "generator."


class LearnedFiller:
    """A trained generator as a :class:`~unseen.inpaint.Filler`.

    Parameters
    ----------
    checkpoint
        A ``.pt`` checkpoint of an inpainter run, or the run folder (its ``best.pt``).
    device
        Where the generator runs (``cpu``, ``cuda``...).
    """

    def __init__(self, checkpoint: str | os.PathLike, device: str = "cpu") -> None:
        card = load_checkpoint(checkpoint)
        if card.get("task") != "inpainter":
            raise InputError(f"{checkpoint} holds a {card.get('task')} model, not an inpainter")
        self.name = str(checkpoint)
        self.generator = build_generator(**saved_generator_config(card["network"]))
        state = {key[len(_PREFIX):]: value for key, value in card["model"].items() if key.startswith(_PREFIX)}
        self.generator.load_state_dict(state or card["model"])
        self.device = torch.device(device)
        self.generator.eval().to(self.device)
        self.work_side = WORK_SCALE * int(card["size"])
        self.context = Context(share=1.0)

    def fill(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Fill the masked pixels; see :class:`unseen.inpaint.Filler`."""
        return fill_hole(image, mask, self._complete, self.context)

    @torch.inference_mode()
    def _complete(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        h, w = hole.shape
        scale = min(1.0, self.work_side / max(h, w))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1 else image
        small_hole = (cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_AREA) > 0) if scale < 1 else hole
        multiple = self.generator.side_multiple
        pad_h, pad_w = -size[1] % multiple, -size[0] % multiple
        # Reflected padding: the network sees plausible surroundings at the edges, not a black frame.
        padded = cv2.copyMakeBorder(small, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
        padded_hole = np.pad(small_hole, ((0, pad_h), (0, pad_w)))
        x = torch.from_numpy(padded).permute(2, 0, 1)[None].float().to(self.device) / 127.5 - 1
        m = torch.from_numpy(padded_hole.astype(np.float32))[None, None].to(self.device)
        out = self.generator(x * (1 - m), m)[0, :, :size[1], :size[0]]
        filled = ((out.clamp(-1, 1) + 1) * 127.5).permute(1, 2, 0).cpu().numpy()
        return cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC) if scale < 1 else filled
