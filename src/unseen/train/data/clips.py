"""Frame folders of videos: a clip is a folder of frames with ``masks/`` inside; one clip, or a folder of them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unseen.errors import InputError
from unseen.media.frames import has_images, list_images, natural_key
from unseen.train.data.classes import _read_class_spec
from unseen.train.data.coding import _mask_samples
from unseen.train.data.masks import _mask_of, _masks_by_stem
from unseen.train.data.samples import SegmentationData
from unseen.train.data.splits import _clip_split


def _clip_pairs(clip: Path, notes: list[str]) -> list[tuple[str, Path, Path]]:
    """A clip's (name, frame, mask) triples; frames without a mask are skipped (sparse annotation is usual)."""
    if not (clip / "masks").is_dir():
        notes.append(f"{clip.name}: no masks/ folder, skipped")
        return []
    masks = _masks_by_stem(clip / "masks")
    frames = list_images(clip)
    triples = [(f"{clip.name}/{f.stem}", f, m) for f in frames if (m := _mask_of(f, masks))]
    if len(triples) < len(frames):
        notes.append(f"{clip.name}: {len(frames) - len(triples)} of {len(frames)} frames have no mask, skipped")
    return triples


def _open_clips(path: Path, classes: Sequence[str] | None, val_ratio: float, seed: int) -> SegmentationData:
    single = has_images(path)
    folders = [path] if single else sorted((p for p in path.iterdir() if p.is_dir() and has_images(p)),
                                           key=natural_key)
    notes: list[str] = []
    clips = {folder.name: triples for folder in folders if (triples := _clip_pairs(folder, notes))}
    if not clips:
        raise InputError(f"{path}: no frames with masks; a clip is a folder of frames with masks/ inside it "
                         "holding a PNG of the same name per frame")
    named = [triple for triples in clips.values() for triple in triples]
    samples, names, coding = _mask_samples(named, _read_class_spec(path / "classes.json"), classes, path)
    frames = {clip: [name for name, _, _ in triples] for clip, triples in clips.items()}
    train, val, how = _clip_split(frames, val_ratio, seed, path)
    data = SegmentationData(classes=names, train=[samples[n] for n in train], val=[samples[n] for n in val],
                            notes=notes + coding.notes)
    data.format = (f"frame folders, {len(clips)} clip{'s' * (len(clips) > 1)}, {coding.kind}, {len(names)} "
                   f"classes, {how} ({len(train)} train, {len(val)} val frames)")
    return data
