"""Class names of the shipped models, in output order (importable without any model runtime)."""

from __future__ import annotations

PASCAL_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
# Cityscapes train ids 0-18, then the extra "background/ignore" output the published model has last.
CITYSCAPES_CLASSES = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle", "background",
)

# Names that mean the same class in different datasets (PASCAL VOC, Cityscapes, CamVid, COCO), so that
# weights trained on one keep their class rows when fine-tuned for another. Names are compared after
# normalisation (see :func:`class_key`), so "traffic sign", "traffic_sign" and "TrafficSign" are one.
CLASS_ALIASES = (
    ("person", "pedestrian", "people", "human"),
    ("rider", "bicyclist", "cyclist"),
    ("sidewalk", "pavement"),
    ("vegetation", "tree"),
    ("traffic sign", "sign_symbol"),
    ("motorcycle", "motorbike"),
    ("bicycle", "bike"),
    ("tv", "tvmonitor", "tv monitor"),
    ("airplane", "aeroplane"),
    ("couch", "sofa"),
    ("dining table", "diningtable"),
    ("potted plant", "pottedplant"),
)


def class_key(name: str) -> str:
    """``name`` lowercased without spaces, underscores or other punctuation, for comparing class names."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


_ALIAS_GROUP = {class_key(name): group for group, names in enumerate(CLASS_ALIASES) for name in names}


def match_classes(source: tuple[str, ...] | list[str], target: tuple[str, ...] | list[str]) -> dict[int, int]:
    """Target index -> source index for every target class the source also has, by name or by alias.

    Exact (normalised) names are matched first, aliases then; each source class serves one target class.
    """
    keys = [class_key(name) for name in source]
    matches: dict[int, int] = {}
    for same in (lambda a, b: a == b, lambda a, b: a in _ALIAS_GROUP and _ALIAS_GROUP[a] == _ALIAS_GROUP.get(b)):
        for t, name in enumerate(target):
            if t in matches:
                continue
            free = [s for s, key in enumerate(keys) if same(class_key(name), key) and s not in matches.values()]
            if free:
                matches[t] = free[0]
    return dict(sorted(matches.items()))
