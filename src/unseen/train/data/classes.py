"""Class names: what a ``classes.json`` says, the object of binary masks, and the subset ``classes=`` keeps."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import ImageColor

from unseen.errors import InputError
from unseen.train.data.samples import IGNORE

# What binary masks call their object when --classes does not name it.
OBJECT = "object"


# ---------------------------------------------------------------------------------------------- classes.json


def _read_json(path: Path) -> Any:
    """The document in a JSON file; ``InputError`` if it cannot be read or parsed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not readable JSON ({error})") from None


@dataclass
class _ClassSpec:
    """What a ``classes.json`` says: class names with their mask values and colours, and what is ignored."""

    source: Path
    names: list[str]
    values: list[int]
    colours: list[tuple[int, int, int] | None]
    ignore_values: set[int]
    ignore_colours: list[tuple[int, int, int]]


def _parse_colour(source: Path, name: str, colour: Any) -> tuple[int, int, int] | None:
    if colour is None:
        return None
    try:
        if isinstance(colour, str):
            return ImageColor.getrgb(colour)[:3]
        if len(colour) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in colour):
            return tuple(colour)
    except (TypeError, ValueError):
        pass
    raise InputError(f'{source}: class {name!r} has colour {colour!r}; give "color_rgb": [r, g, b] (0-255)')


def _class_entry(source: Path, index: int, entry: Any, seed_colours: list) -> tuple[str, int, Any]:
    """(name, value, colour) of the ``index``-th entry: a name, or an object with name, value and colour."""
    colour = seed_colours[index] if index < len(seed_colours) else None
    if isinstance(entry, str):
        name, value = entry, index
    elif isinstance(entry, dict):
        name, value = entry.get("name"), entry.get("value", index)
        colour = entry.get("color_rgb", entry.get("color", colour))
    else:
        name = value = None
    if not isinstance(name, str) or not name or not isinstance(value, int) or not 0 <= value <= 255:
        raise InputError(f'{source}: class {index} is {entry!r}; give a name, or {{"value": 0-255, "name": '
                         '"...", "color_rgb": [r, g, b]}')
    return name, value, _parse_colour(source, name, colour)


def _read_class_spec(path: Path) -> _ClassSpec | None:
    """The ``classes.json`` at ``path`` (formats of seg-street, seg-multiclass and a plain name list)."""
    if not path.is_file():
        return None
    document = _read_json(path)
    entries = document.get("classes") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise InputError(f'{path}: needs a "classes" list of names, or of {{"value", "name", "color_rgb"}}')
    options = document if isinstance(document, dict) else {}
    ignore = options.get("ignore_value", options.get("ignore_index"))
    ignore_values = set(ignore if isinstance(ignore, list) else [] if ignore is None else [ignore])
    spec = _ClassSpec(path, [], [], [], ignore_values, [])
    for index, entry in enumerate(entries):
        name, value, colour = _class_entry(path, index, entry, options.get("seed_colors") or [])
        if value in ignore_values:
            spec.ignore_colours += [colour] if colour else []
            continue
        if name in spec.names or value in spec.values:
            raise InputError(f"{path}: class {name!r} (value {value}) is listed twice")
        spec.names.append(name)
        spec.values.append(value)
        spec.colours.append(colour)
    if ignore is None and IGNORE not in spec.values:
        spec.ignore_values.add(IGNORE)  # the usual void value, unless it names a class
    return spec


# ---------------------------------------------------------------------------------------------- class subset


def _object_name(classes: Sequence[str] | None, where: Path) -> str:
    names = [c for c in classes or () if c != "background"]
    if len(names) > 1:
        raise InputError(f"{where}: binary masks hold one class, but {len(names)} were asked for ({', '.join(names)}); "
                         "give one name")
    return names[0] if names else OBJECT


def _subset(names: tuple[str, ...], wanted: Sequence[str], source: Path) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The kept classes (background first) and the table from the data's labels to theirs."""
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise InputError(f"{source}: has no class {unknown[0]!r}; its classes are {', '.join(names)}")
    kept = tuple(dict.fromkeys(name for name in wanted if name != "background"))
    table = [0] * 256  # labelled pixels of the other classes become background
    table[IGNORE] = IGNORE
    for label, name in enumerate(names):
        if name in kept:
            table[label] = kept.index(name) + 1
    return ("background", *kept), tuple(table)
