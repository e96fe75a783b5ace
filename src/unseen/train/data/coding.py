"""Which coding turns the masks into labels, told when the data is opened from a survey of its masks.

With a ``classes.json`` the masks hold its values or colours (grey masks whose values only its colours
explain are colour-coded); without one they are binary (one value or colour besides black, or
anti-aliased 0/255) or index masks whose classes are named ``class_0``, ``class_1``...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unseen.errors import InputError
from unseen.train.data.classes import _ClassSpec, _object_name, _subset
from unseen.train.data.masks import _ColourCoding, _MaskFile, _pack, _read_mask_file, _unpack, _ValueCoding
from unseen.train.data.samples import IGNORE, Sample

# Masks read at open time to tell binary, index and colour-coded masks apart (spread over the whole set).
SURVEY_SIZE = 32


def _mask_samples(named: list[tuple[str, Path, Path]], spec: _ClassSpec | None, classes: Sequence[str] | None,
                  where: Path) -> tuple[dict[str, Sample], tuple[str, ...], _Coding]:
    """Samples by name from (name, image, mask) triples: the coding told from a survey of the masks."""
    survey = _survey([mask for _, _, mask in named])
    coding = _coding_without_spec(survey, classes, where) if spec is None else _coding_from_spec(spec, survey)
    names, relabel = coding.classes, None
    if classes and not coding.binary:
        names, relabel = _subset(coding.classes, classes, spec.source if spec else where)
        coding.kind += f" ({len(names) - 1} of {len(coding.classes)} classes kept, the rest background)"
    samples = {name: Sample(name, image, _MaskFile(mask, coding.coding), relabel) for name, image, mask in named}
    return samples, names, coding


# ---------------------------------------------------------------------------------------------- mask survey


@dataclass
class _Survey:
    """What a spread of masks holds: per file, its grey values or colours, and how masks are stored."""

    grey: dict[Path, np.ndarray] = field(default_factory=dict)  # value -> pixel count (256 entries)
    colour: dict[Path, set[int]] = field(default_factory=dict)  # packed colours of colour-coded masks
    stored: set[str] = field(default_factory=set)

    def grey_counts(self) -> np.ndarray:
        return sum(self.grey.values(), np.zeros(256, np.int64))

    def keys(self) -> dict[Path, set[int]]:
        """Every surveyed file's pixels as packed colours (grey v as (v, v, v))."""
        keys = {path: {v * 0x010101 for v in np.flatnonzero(counts)} for path, counts in self.grey.items()}
        return keys | self.colour


def _survey(masks: Sequence[Path]) -> _Survey:
    picks = np.unique(np.linspace(0, len(masks) - 1, min(SURVEY_SIZE, len(masks))).round().astype(int))
    survey = _Survey()
    for index in picks:
        mask, stored = _read_mask_file(masks[index])
        survey.stored.add(stored)
        if mask.ndim == 2:
            survey.grey[masks[index]] = np.bincount(mask.ravel(), minlength=256)
        else:
            survey.colour[masks[index]] = set(np.unique(_pack(mask)).tolist())
    return survey


# ---------------------------------------------------------------------------------------------- codings


@dataclass
class _Coding:
    """How masks turn into labels: the coding, the class names, and words for the log."""

    coding: _ValueCoding | _ColourCoding
    classes: tuple[str, ...]
    kind: str
    notes: list[str] = field(default_factory=list)
    binary: bool = False


def _first_unknown(keys: dict[Path, set[int]], known: set[int]) -> tuple[Path, int] | None:
    for path, found in keys.items():
        extra = sorted(found - known)
        if extra:
            return path, extra[0]
    return None


def _grey_kind(survey: _Survey) -> str:
    if "palette" in survey.stored:
        return "palette PNGs"
    return "RGB index masks (R=G=B)" if "rgb-grey" in survey.stored else "index PNGs"


def _value_coding(spec: _ClassSpec, survey: _Survey) -> _Coding:
    table = [-1] * 256
    for label, value in enumerate(spec.values):
        table[value] = label
    for value in spec.ignore_values:
        table[value] = IGNORE
    hint = (f"{spec.source.name} gives values {_ranges(spec.values)}, ignore {_ranges(sorted(spec.ignore_values))}; "
            "fix the mask or add the value to classes.json")
    grey = {path: set(np.flatnonzero(counts).tolist()) for path, counts in survey.grey.items()}
    unknown = _first_unknown(grey, {v for v in range(256) if table[v] >= 0})
    if unknown:
        raise InputError(f"{unknown[0]}: pixel value {unknown[1]} is not a class ({hint})")
    return _Coding(_ValueCoding(tuple(table), hint), tuple(spec.names), _grey_kind(survey))


def _colour_coding(spec: _ClassSpec, survey: _Survey) -> _Coding:
    missing = [name for name, colour in zip(spec.names, spec.colours, strict=True) if colour is None]
    if missing:
        where = next(iter(survey.colour), spec.source)
        raise InputError(f"{where}: colour-coded masks, but {spec.source.name} gives no colour for class "
                         f"{missing[0]!r}; add \"color_rgb\": [r, g, b] to every class")
    table = {_pack(np.asarray(c)).item(): label for label, c in enumerate(spec.colours)}
    table |= {_pack(np.asarray(c)).item(): IGNORE for c in spec.ignore_colours}
    hint = f"{spec.source.name} gives {len(table)} colours; fix the mask or add the colour to classes.json"
    unknown = _first_unknown(survey.keys(), set(table))
    if unknown:
        raise InputError(f"{unknown[0]}: colour {_unpack(unknown[1])} is not a class colour ({hint})")
    colours = sorted(table)
    coding = _ColourCoding(tuple(colours), tuple(table[c] for c in colours), hint)
    return _Coding(coding, tuple(spec.names), "colour-coded masks")


def _coding_from_spec(spec: _ClassSpec, survey: _Survey) -> _Coding:
    if survey.colour:
        return _colour_coding(spec, survey)
    known = set(spec.values) | spec.ignore_values
    seen = set(np.flatnonzero(survey.grey_counts()).tolist())
    colours = {_pack(np.asarray(c)).item() for c in spec.colours + spec.ignore_colours if c is not None}
    # Grey masks are index masks, unless only the colours explain them (a colour-coded set whose colours
    # happen to be grey, e.g. CamVid's sky (128, 128, 128) and void (0, 0, 0)).
    if not seen <= known and all(c is not None for c in spec.colours) and {v * 0x010101 for v in seen} <= colours:
        return _colour_coding(spec, survey)
    return _value_coding(spec, survey)


def _binary_coding(value: int, name: str, soft: bool) -> _Coding:
    table = [-1] * 256
    table[0] = 0
    table[value] = 1
    if soft:
        table = [int(v >= 128) for v in range(256)]
    hint = f"binary masks hold 0 and {value} only; fix the mask, or add a classes.json naming every value"
    kind = "soft binary masks (thresholded at 128)" if soft else f"binary masks (0/{value})"
    return _Coding(_ValueCoding(tuple(table), hint), ("background", name), kind, binary=True)


def _is_soft(counts: np.ndarray) -> bool:
    """Anti-aliased 0/255 masks: mostly 0 and 255, with many rare values in between along the edges."""
    between = counts[1:255]
    return bool(counts[0] and counts[255] and np.count_nonzero(between) > 16
                and between.sum() < 0.1 * counts.sum())


def _coding_without_spec(survey: _Survey, classes: Sequence[str] | None, where: Path) -> _Coding:
    if survey.colour:
        found = set().union(*survey.keys().values()) - {0}
        if len(found) != 1:
            raise InputError(f"{next(iter(survey.colour))}: colour-coded masks ({len(found) + 1} colours) need a "
                             f"classes.json in {where} giving each class's \"color_rgb\"")
        colour = found.pop()
        hint = f"binary masks hold black and {_unpack(colour)} only; fix the mask, or add a classes.json"
        coding = _ColourCoding((0, colour), (0, 1), hint)
        kind = f"binary masks (black/{_unpack(colour)})"
        return _Coding(coding, ("background", _object_name(classes, where)), kind, binary=True)
    counts = survey.grey_counts()
    values = np.flatnonzero(counts[1:]) + 1
    if len(values) <= 1:
        return _binary_coding(int(values[0]) if len(values) else 255, _object_name(classes, where), False)
    if _is_soft(counts):
        return _binary_coding(255, _object_name(classes, where), True)
    return _index_without_names(values, survey, where)


def _index_without_names(values: np.ndarray, survey: _Survey, where: Path) -> _Coding:
    top = int(values[values != IGNORE].max())
    table = [v if v <= top else -1 for v in range(256)]
    table[IGNORE] = IGNORE
    names = tuple(f"class_{v}" for v in range(top + 1))
    note = f"no classes.json in {where}: classes named class_0..class_{top}, 255 ignored; add one to name them"
    hint = f"the masks read at opening hold values 0-{top} and 255 (ignore); add a classes.json naming every value"
    return _Coding(_ValueCoding(tuple(table), hint), names, _grey_kind(survey), [note])


def _ranges(values: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    parts: list[str] = []
    for value in values:
        if parts and value == int(parts[-1].split("-")[-1]) + 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{value}"
        else:
            parts.append(str(value))
    return ", ".join(parts) or "none"
