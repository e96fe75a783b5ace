"""Train/val(/test) splits: by ratio with a seed, from ``splits/*.txt`` files, or by whole clips."""

from __future__ import annotations

import random
from pathlib import Path

from unseen.errors import InputError
from unseen.media.image import IMAGE_SUFFIXES


def _check_ratio(val_ratio: float) -> None:
    if not 0 < val_ratio < 1:
        raise InputError(f"val_ratio must be between 0 and 1 (the share of the data held out), got {val_ratio}")


def _held_out(count: int, val_ratio: float, where: Path, what: str) -> int:
    if count < 2:
        raise InputError(f"{where}: only {count} {what}; at least 2 are needed to train on one and validate "
                         "on another")
    return min(count - 1, max(1, round(count * val_ratio)))


def random_split(names: list[str], val_ratio: float, seed: int, where: Path) -> tuple[list[str], list[str]]:
    """A seeded split of ``names`` (kept in their order), the same for the same names, ratio and seed."""
    order = sorted(names)
    random.Random(seed).shuffle(order)
    val = set(order[:_held_out(len(names), val_ratio, where, "image")])
    return [n for n in names if n not in val], [n for n in names if n in val]


def _read_split(path: Path, stems: set[str], required: bool = True) -> list[str]:
    """The stems listed in a split file (one a line; an extension or folder before them is allowed)."""
    if not path.is_file():
        if required:
            raise InputError(f"{path}: missing; splits/ needs train.txt and val.txt (or remove splits/ to "
                             "split at random)")
        return []
    names = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        name = Path(entry).name
        stem = Path(name).stem if Path(name).suffix.lower() in IMAGE_SUFFIXES else name
        if stem not in stems:
            raise InputError(f"{path}: line {number} names {entry!r}, which is not in images/")
        names.append(stem)
    if required and not names:
        raise InputError(f"{path}: lists no images; put one image name a line")
    return list(dict.fromkeys(names))


def _file_splits(root: Path, stems: list[str]) -> tuple[list[str], list[str], list[str]]:
    known = set(stems)
    train, val = (_read_split(root / "splits" / f"{name}.txt", known) for name in ("train", "val"))
    test = _read_split(root / "splits" / "test.txt", known, required=False)
    both = set(train) & set(val)
    if both:
        raise InputError(f"{root / 'splits' / 'val.txt'}: {sorted(both)[0]!r} is also in train.txt; an image "
                         "trained on cannot measure the training")
    return train, val, test


def _clip_split(clips: dict[str, list[str]], val_ratio: float, seed: int,
                where: Path) -> tuple[list[str], list[str], str]:
    """Whole clips to val (seeded) until they hold ``val_ratio`` of the frames; one clip: its last frames."""
    if len(clips) == 1:
        frames = next(iter(clips.values()))
        held = _held_out(len(frames), val_ratio, where, "annotated frame")
        return frames[:-held], frames[-held:], f"last {held} frames to val"
    order = sorted(clips)
    random.Random(seed).shuffle(order)
    total = sum(len(frames) for frames in clips.values())
    val_clips: list[str] = []
    for name in order[:-1]:  # at least one clip stays for training
        if sum(len(clips[c]) for c in val_clips) >= val_ratio * total:
            break
        val_clips.append(name)
    train = [f for name, frames in clips.items() if name not in val_clips for f in frames]
    val = [f for name, frames in clips.items() if name in val_clips for f in frames]
    return train, val, f"split by clip, seed {seed}: {len(clips) - len(val_clips)} train, {len(val_clips)} val clips"
