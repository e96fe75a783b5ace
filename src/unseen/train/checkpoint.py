"""Checkpoints: one ``.pt`` file that is both a usable model and, for ``last.pt``, a resumable run.

A checkpoint is a plain dict saved with :func:`torch.save` and read back with ``weights_only=True`` (no
code is unpickled from a file someone sent you):

- ``format``, ``task`` (``segmenter``), ``network`` (the architecture's ``config``: enough to rebuild it
  with :func:`unseen.nets.build_network`), ``classes``, ``size`` (longer side the network saw),
  ``mean``/``std`` (input normalisation) and ``model`` (the state dict): everything needed to use it;
- ``epoch``, ``metrics`` and ``created``: what it scored on its validation split and when;
- ``trainer`` (``last.pt`` only): optimiser, scheduler, random generators, position in the epoch and
  the options, so that ``--resume`` continues bit for bit.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from unseen.errors import InputError
from unseen.media.atomic import atomic_file

FORMAT = "unseen-checkpoint/1"
BEST, LAST = "best.pt", "last.pt"


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (with the format tag) to ``path`` atomically: a crash never leaves half a file."""
    path = Path(path)
    with atomic_file(path) as tmp:
        torch.save({"format": FORMAT, **payload}, tmp)
    return path


def is_checkpoint_path(name: str | os.PathLike) -> bool:
    """Whether ``name`` points at a checkpoint: a ``.pt`` file, or a run folder with ``best.pt`` (what it
    holds is checked when it is loaded)."""
    path = Path(name)
    return path.suffix == ".pt" and path.is_file() or (path / BEST).is_file()


def checkpoint_path(path: str | os.PathLike, name: str = BEST) -> Path:
    """``path`` itself if it is a file, else ``name`` inside the run folder ``path``."""
    path = Path(path)
    return path / name if path.is_dir() else path


def load_checkpoint(path: str | os.PathLike, name: str = BEST) -> dict[str, Any]:
    """A checkpoint written by :func:`save_checkpoint`, from its file or its run folder (``name`` in it).

    Raises
    ------
    InputError
        The file is missing, unreadable, or not one of ours (a published ``.pth`` state dict, say).
    """
    file = checkpoint_path(path, name)
    if not file.is_file():
        where = f"run folder {path} has no {name}" if Path(path).is_dir() else f"{file} does not exist"
        raise InputError(f"{where}; give a checkpoint written by `unseen train` (RUN/best.pt or RUN/last.pt)")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # any unpickling failure: the file is unusable
        raise InputError(f"{file} is not a readable checkpoint ({error.__class__.__name__})") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{file} is not an unseen checkpoint (no {FORMAT!r} tag); "
                         "published weights are used by name, e.g. --model espnetv2-city")
    return payload


def ship_checkpoint(source: str | os.PathLike, output: str | os.PathLike, keep: str | None = None) -> Path:
    """Write the usable part of a checkpoint (no trainer state) with its weights in float16, to ship it.

    ``keep``: only the weights under this prefix (``"generator."`` drops an inpainter's discriminator,
    which only training needs). Returns ``output``.
    """
    card = {key: value for key, value in load_checkpoint(source).items() if key not in ("trainer", "format")}
    weights = card["model"]
    if keep is not None:
        weights = {name: value for name, value in weights.items() if name.startswith(keep)}
        if not weights:
            raise InputError(f"{source} holds no weights under {keep!r}")
    card["model"] = {name: value.half() if value.is_floating_point() else value for name, value in weights.items()}
    return save_checkpoint(output, card)


def rng_state() -> dict[str, Any]:
    """The state of every random generator training draws from (Python, NumPy, torch CPU and CUDA)."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.copy()), position, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
    random.setstate(_tuples(state["python"]))
    kind, keys, position, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy(), position, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(value: Any) -> Any:
    """``random.setstate`` wants the nested tuples ``getstate`` gave (a saved file may hold lists)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list | tuple) else value
