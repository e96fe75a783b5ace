"""Build the training folder ``unseen-person-tuned`` was fine-tuned on (docs/benchmarks.md, issue 13).

The person photos of ``train/seg-person`` (the trainer's own seeded split: ``--val-ratio 0.15``, seed 0) and
CamVid's train and val frames of ``train/seg-street``, labelled with PASCAL VOC's 21 classes so that the
fine-tune keeps every class it started from (a cow stays a cow): a person photo's mask is "person"; in CamVid
a pedestrian is "person", a car "car", a bicyclist and void are ignored, everything else background. CamVid's
val frames are the folder's val split (they pick the best epoch, as in the street models' runs); its test
split is left for the benchmark.

    UNSEEN_SHARED=../shared .venv/bin/python bench/make_person_mix.py person-mix21
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from unseen.segment.classes import PASCAL_CLASSES
from unseen.train.data.splits import random_split

from common import shared_dir

PERSON, CAR, IGNORE = PASCAL_CLASSES.index("person"), PASCAL_CLASSES.index("car"), 255
CAMVID = {9: PERSON, 8: CAR, 10: IGNORE, 11: IGNORE}  # pedestrian, car, bicyclist, void


def build(out: Path) -> tuple[int, int]:
    """Write the folder (images/, masks/, splits/, classes.json) to ``out``; returns its train and val sizes."""
    train_root = shared_dir() / "data" / "train"
    shutil.rmtree(out, ignore_errors=True)
    for folder in ("images", "masks", "splits"):
        (out / folder).mkdir(parents=True)
    splits: dict[str, list[str]] = {"train": [], "val": []}
    photos = train_root / "seg-person"
    stems = sorted(p.stem for p in (photos / "images").iterdir())
    _, held_out = random_split(stems, 0.15, 0, photos)
    for stem in stems:
        Image.open(next((photos / "images").glob(stem + ".*"))).convert("RGB").save(out / "images" / f"p{stem}.png")
        person = np.array(Image.open(photos / "masks" / f"{stem}.png").convert("L")) >= 128
        Image.fromarray(person.astype(np.uint8) * PERSON).save(out / "masks" / f"p{stem}.png")
        splits["val" if stem in held_out else "train"].append(f"p{stem}")
    street = train_root / "seg-street"
    for split, names in splits.items():
        for stem in (street / "splits" / f"{split}.txt").read_text().split():
            shutil.copy(street / "images" / f"{stem}.jpg", out / "images" / f"c{stem}.jpg")
            camvid = np.array(Image.open(street / "masks" / f"{stem}.png"))
            labels = np.zeros_like(camvid)
            for value, pascal in CAMVID.items():
                labels[camvid == value] = pascal
            Image.fromarray(labels).save(out / "masks" / f"c{stem}.png")
            names.append(f"c{stem}")
    for split, names in splits.items():
        (out / "splits" / f"{split}.txt").write_text("\n".join(names) + "\n")
    classes = [{"value": value, "name": name} for value, name in enumerate(PASCAL_CLASSES)]
    (out / "classes.json").write_text(json.dumps({"classes": classes, "ignore_value": IGNORE}))
    return len(splits["train"]), len(splits["val"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder to write (replaced if it exists)")
    train, val = build(parser.parse_args().out)
    print(f"{train} training and {val} validation images")


if __name__ == "__main__":
    main()
