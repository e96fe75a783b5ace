"""Starting a network from other weights (``--init``): every tensor that fits, class rows by class name.

Tensors are matched by key and shape. Encoder keys are translated between the published ESPNetv2 files
(``base_net.*``) and the registry's networks (``encoder.*``), so DeepLabV3+, FCN or a U-Net on the
ESPNetv2 encoder start from the Cityscapes or PASCAL backbone, and a bare encoder state dict (a
torchvision VGG16's ``features.*``, say) fits ``encoder.*`` too. The class layers (``net.head_keys``) are
copied row by row for the classes both sides have, matched by name or alias
(:func:`unseen.segment.classes.match_classes`); rows of new classes keep their fresh initialisation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from unseen.errors import InputError
from unseen.nets.espnetv2 import ESPNETV2_MODELS, HEAD_KEYS, as_state_dict, clean_state_dict, read_torch_file
from unseen.segment.classes import match_classes

# Encoder prefixes that name the same modules: the published ESPNetv2 files' and the registry's.
ENCODER_PREFIXES = ("encoder.", "base_net.")
CHECKPOINT_FILE = "best.pt"  # what a run folder given to --init stands for


@dataclass
class TransferReport:
    """What :func:`transfer_weights` did.

    Attributes
    ----------
    loaded : list of str
        Target keys copied whole from the source.
    by_class : list of str
        Class-layer keys whose rows were copied for the kept classes.
    fresh : list of str
        Target keys left at their initial values (absent from the source, or of another shape).
    unused : list of str
        Source keys that nothing took.
    kept_classes : dict
        Target class name -> the source class name its rows came from.
    new_classes : list of str
        Target classes that start untrained.
    """

    loaded: list[str] = field(default_factory=list)
    by_class: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    kept_classes: dict[str, str] = field(default_factory=dict)
    new_classes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        total = len(self.loaded) + len(self.by_class) + len(self.fresh)
        kept = ", ".join(t if t == s else f"{t} (from {s})" for t, s in self.kept_classes.items()) or "none"
        return (f"{len(self.loaded) + len(self.by_class)} of {total} tensors loaded "
                f"({len(self.by_class)} of them row by row, for the kept classes), {len(self.fresh)} left fresh, "
                f"{len(self.unused)} source tensors unused; classes kept: {kept}; "
                f"new: {', '.join(self.new_classes) or 'none'}")


def _source_key(key: str, state: Mapping[str, torch.Tensor]) -> str | None:
    """The source key holding the tensor for target ``key``: itself, or under another encoder prefix."""
    candidates = [key]
    for prefix in ENCODER_PREFIXES:
        if key.startswith(prefix):
            rest = key.removeprefix(prefix)
            candidates += [other + rest for other in ENCODER_PREFIXES if other != prefix] + [rest]
    return next((candidate for candidate in candidates if candidate in state), None)


def _fitting_heads(target: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor],
                   sources: Mapping[str, str | None], head_keys: Sequence[str]) -> set[str]:
    """The class-layer keys whose source rows fit, by whole layers: a bias without its weight is no use."""
    def fits(key: str) -> bool:
        return sources[key] is not None and state[sources[key]].shape[1:] == target[key].shape[1:]

    layers: dict[str, list[str]] = {}
    for key in head_keys:
        layers.setdefault(key.rsplit(".", 1)[0], []).append(key)
    return {key for keys in layers.values() if all(map(fits, keys)) for key in keys}


def transfer_weights(net: nn.Module, state: Mapping[str, torch.Tensor], source_classes: Sequence[str] | None,
                     target_classes: Sequence[str]) -> TransferReport:
    """Load into ``net`` every tensor of ``state`` that fits it, and the class rows of shared classes.

    Parameters
    ----------
    net : nn.Module
        A registry network (it has ``head_keys``), freshly built for ``target_classes``.
    state : mapping
        The source state dict (see :func:`load_init_state`).
    source_classes : sequence of str or None
        Names of the source's outputs, in order; None when unknown (then no class row is kept).
    target_classes : sequence of str
        Names of ``net``'s outputs, in order.

    Raises
    ------
    InputError
        Nothing at all fits: the weights are of another network.
    """
    target = net.state_dict()
    sources = {key: _source_key(key, state) for key in target}
    heads = _fitting_heads(target, state, sources, getattr(net, "head_keys", ()))
    matches = match_classes(tuple(source_classes), tuple(target_classes)) if source_classes else {}
    report, new_state = TransferReport(), dict(target)
    for key, value in target.items():
        source = state[sources[key]] if sources[key] is not None else None
        if key in heads and matches and max(matches.values()) < source.shape[0]:
            rows = value.clone()
            rows[list(matches)] = source[list(matches.values())].to(value.dtype)
            new_state[key] = rows
            report.by_class.append(key)
        elif key not in heads and source is not None and source.shape == value.shape:
            new_state[key] = source.to(value.dtype)
            report.loaded.append(key)
        else:
            report.fresh.append(key)
    if not report.loaded and not report.by_class:
        raise InputError(f"the initial weights share no tensor with this {type(net).__name__} "
                         "(other keys or shapes): they belong to another network")
    net.load_state_dict(new_state, strict=True)
    used = {sources[key] for key in report.loaded + report.by_class}
    report.unused = [key for key in state if key not in used]
    if report.by_class:
        report.kept_classes = {target_classes[t]: source_classes[s] for t, s in matches.items()}
    report.new_classes = [name for name in target_classes if name not in report.kept_classes]
    return report


def load_init_state(name_or_path: str | Path, option: str = "--init"
                    ) -> tuple[dict[str, torch.Tensor], tuple[str, ...] | None, str | None]:
    """The weights behind ``--init`` (or ``option``, as errors name it): (state dict, source class names or None,
    source architecture or None).

    ``name_or_path`` is a published model's name (``espnetv2-city``, ``espnetv2-pascal``,
    ``espnetv2-pascal-s1``, found or fetched through :mod:`unseen.zoo`), a ``.pth`` state dict, or one of
    our own checkpoints (a ``.pt`` file, or a run folder standing for its ``best.pt``).

    Raises
    ------
    InputError
        Unknown name, missing or unreadable file, or a file that holds no state dict.
    """
    from unseen import zoo

    path = Path(name_or_path)
    if path.is_dir():
        path = name_or_path = path / CHECKPOINT_FILE
    published = {*ESPNETV2_MODELS, *(zoo.model_info(name).file for name in ESPNETV2_MODELS)}
    if not path.exists() and str(name_or_path) not in published:
        raise InputError(f"{option} {name_or_path}: no such file; give a checkpoint, a .pth state dict or one of: "
                         f"{', '.join(ESPNETV2_MODELS)}")
    path, key = zoo.resolve(name_or_path, ESPNETV2_MODELS)
    data = read_torch_file(path)
    if key is not None:
        return as_state_dict(data, path), ESPNETV2_MODELS[key][1], "espnetv2"
    if _is_checkpoint(data):
        return _from_checkpoint(data, path)
    state = as_state_dict(data, path)
    return state, None, "espnetv2" if all(k in state for k in HEAD_KEYS) else None


# --- Hook: our own checkpoints -------------------------------------------------------------------------
# A checkpoint of `unseen train` is a dict with the state dict under ``model``, the output names under
# ``classes`` and the architecture's config (``net.config``) under ``network`` (``config`` is accepted
# too). Anything else about the format (its tag, the trainer's state) is the trainer's business.

def _is_checkpoint(data: object) -> bool:
    return isinstance(data, Mapping) and isinstance(data.get("model"), Mapping) and "classes" in data


def _from_checkpoint(data: Mapping, path: Path) -> tuple[dict[str, torch.Tensor], tuple[str, ...], str | None]:
    config = data.get("network") or data.get("config") or {}
    classes = tuple(str(name) for name in data["classes"])
    state = clean_state_dict(data["model"])
    if not classes:
        raise InputError(f"{path}: the checkpoint names no classes")
    return state, classes, config.get("arch") if isinstance(config, Mapping) else None
