"""Training data: each format opened from tiny datasets made here, bad data refused when opened, augmentation."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from pycocotools import mask as coco_mask

from unseen.errors import InputError
from unseen.segment.espnetv2 import network_size
from unseen.train.augment import eval_transform, train_transform
from unseen.train.data import SegmentationDataset, open_segmentation_data
from unseen.train.data.negatives import add_negatives

from conftest import shared_path

H, W = 24, 32


def picture(index: int, height: int = H, width: int = W) -> np.ndarray:
    rng = np.random.default_rng(index)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def index_mask(index: int, values: tuple[int, ...] = (0, 1, 2), height: int = H, width: int = W) -> np.ndarray:
    """Vertical bands of ``values``, shifted by ``index`` so that masks differ."""
    columns = (np.arange(width) + index) // max(1, width // len(values)) % len(values)
    return np.tile(np.asarray(values, np.uint8)[columns], (height, 1))


def make_folder(root: Path, masks: list[np.ndarray], image_suffix: str = ".jpg") -> Path:
    """images/ and masks/ with ``len(masks)`` pairs named im00, im01, ..."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, mask in enumerate(masks):
        height, width = mask.shape[:2]
        cv2.imwrite(str(root / "images" / f"im{i:02d}{image_suffix}"), picture(i, height, width))
        cv2.imwrite(str(root / "masks" / f"im{i:02d}.png"), mask[..., ::-1] if mask.ndim == 3 else mask)
    return root


def write_json(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def all_labels(samples: list) -> set[int]:
    return set().union(*(np.unique(sample.load()[1]).tolist() for sample in samples))


# ---------------------------------------------------------------------------------------------- image/mask folders


def test_binary_masks_name_the_object_and_split_at_random_reproducibly(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", [index_mask(i, (0, 255)) for i in range(20)], ".png")
    data = open_segmentation_data(root)
    assert data.classes == ("background", "object")
    assert "binary masks" in data.format and "random split" in data.format
    assert (len(data.train), len(data.val), data.test) == (17, 3, [])
    assert all_labels(data.train + data.val) == {0, 1}
    rgb, labels = data.train[0].load()
    assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8 and labels.shape == (H, W) and labels.dtype == np.uint8
    again = open_segmentation_data(root)
    assert [s.name for s in again.val] == [s.name for s in data.val]
    other = open_segmentation_data(root, seed=1, val_ratio=0.3)
    assert len(other.val) == 6 and {s.name for s in other.val} != {s.name for s in data.val}
    assert open_segmentation_data(root, classes=["person"]).classes == ("background", "person")
    data.check()


def test_index_masks_with_classes_json_and_splits(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", [index_mask(i, (0, 1, 2, 11)) for i in range(6)])
    entries = [{"value": v, "name": n, "color_rgb": [v * 50, 0, 0]} for v, n in ((0, "sky"), (1, "road"), (2, "car"))]
    write_json(root / "classes.json", {"ignore_value": 11, "classes": [*entries, {"value": 11, "name": "void"}]})
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("im00\nim01.jpg\nim02\n\n")
    (root / "splits" / "val.txt").write_text("im03\nim04\n")
    (root / "splits" / "test.txt").write_text("im05\n")
    data = open_segmentation_data(root)
    assert data.classes == ("sky", "road", "car")
    assert [s.name for s in data.train] == ["im00", "im01", "im02"]
    assert [s.name for s in data.val] == ["im03", "im04"] and [s.name for s in data.test] == ["im05"]
    assert data.format == "image/mask folder, index PNGs, 3 classes, splits/ (3 train, 2 val, 1 test)"
    assert all_labels(data.train) == {0, 1, 2, 255}
    mask = index_mask(0, (0, 1, 2, 11))
    assert np.array_equal(data.train[0].load()[1], np.where(mask == 11, 255, mask))


def test_rgb_index_masks_with_seed_colours(tmp_path: Path) -> None:
    masks = [np.repeat(index_mask(i, (0, 1, 2))[..., None], 3, axis=2) for i in range(5)]
    root = make_folder(tmp_path / "d", masks)
    write_json(root / "classes.json", {"classes": [{"value": v, "name": n} for v, n in enumerate("abc")],
                                       "seed_colors": ["black", "red", "lime"]})
    data = open_segmentation_data(root)
    assert data.classes == ("a", "b", "c") and "RGB index masks (R=G=B)" in data.format
    assert all_labels(data.train + data.val) == {0, 1, 2}


def test_colour_coded_masks_and_an_unknown_colour(tmp_path: Path) -> None:
    colours = np.asarray([[0, 0, 0], [200, 30, 40], [10, 220, 30]], np.uint8)
    root = make_folder(tmp_path / "d", [colours[index_mask(i)] for i in range(5)])
    write_json(root / "classes.json", {"classes": [{"name": n, "color": c} for n, c in
                                                   zip(["bg", "red", "green"], colours.tolist(), strict=True)]})
    data = open_segmentation_data(root)
    assert data.classes == ("bg", "red", "green") and "colour-coded" in data.format
    assert np.array_equal(data.train[0].load()[1], index_mask(int(data.train[0].name[2:])))
    bad = colours[index_mask(3)]
    bad[0, 0] = (1, 2, 3)
    cv2.imwrite(str(root / "masks" / "im03.png"), bad[..., ::-1])
    with pytest.raises(InputError, match=r"im03\.png: colour \(1, 2, 3\) is not a class colour"):
        open_segmentation_data(root)


def test_plain_name_list_and_a_class_subset(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", [index_mask(i, (0, 1, 2, 255)) for i in range(5)])
    write_json(root / "classes.json", {"classes": ["road", "car", "person"], "ignore_value": 255})
    data = open_segmentation_data(root, classes=["person", "car"])
    assert data.classes == ("background", "person", "car")
    raw = index_mask(int(data.train[0].name[2:]), (0, 1, 2, 255))
    expected = np.select([raw == 1, raw == 2, raw == 255], [2, 1, 255], 0)
    assert np.array_equal(data.train[0].load()[1], expected)
    with pytest.raises(InputError, match="no class 'bus'; its classes are road, car, person"):
        open_segmentation_data(root, classes=["bus"])


def test_index_masks_without_classes_json(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", [index_mask(i, (0, 1, 2, 3)) for i in range(4)])
    data = open_segmentation_data(root)
    assert data.classes == ("class_0", "class_1", "class_2", "class_3") and data.notes


def test_samples_pickle_and_the_dataset_normalises(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", [index_mask(i, (0, 255)) for i in range(4)], ".png")
    sample = open_segmentation_data(root).train[0]
    copy = pickle.loads(pickle.dumps(sample))
    assert len(pickle.dumps(sample)) < 4000
    assert all(np.array_equal(a, b) for a, b in zip(copy.load(), sample.load(), strict=True))
    x, y = SegmentationDataset([sample])[0]
    assert x.shape == (3, H, W) and x.dtype == torch.float32 and y.shape == (H, W) and y.dtype == torch.int64
    rgb = sample.load()[0]
    assert x[0, 0, 0].item() == pytest.approx((rgb[0, 0, 0] / 255 - 0.485) / 0.229, abs=1e-5)


# ---------------------------------------------------------------------------------------------- bad data


def test_bad_folders_are_refused_naming_the_file(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "missing", [index_mask(i, (0, 255)) for i in range(3)])
    (root / "masks" / "im01.png").unlink()
    with pytest.raises(InputError, match=r"im01\.jpg: no mask .*im01\.png"):
        open_segmentation_data(root)

    root = make_folder(tmp_path / "size", [index_mask(i, (0, 255)) for i in range(3)])
    cv2.imwrite(str(root / "masks" / "im00.png"), np.zeros((H + 1, W), np.uint8))
    with pytest.raises(InputError, match=r"im00\.png: labels are 32x25 but the image .*im00\.jpg is 32x24"):
        open_segmentation_data(root, val_ratio=0.5)

    root = make_folder(tmp_path / "value", [index_mask(i, (0, 1, 2)) for i in range(3)])
    write_json(root / "classes.json", {"classes": ["a", "b", "c"]})
    cv2.imwrite(str(root / "masks" / "im02.png"), index_mask(0, (0, 7)))
    with pytest.raises(InputError, match=r"im02\.png: pixel value 7 is not a class"):
        open_segmentation_data(root)

    (root / "images").rename(root / "old")
    (root / "images").mkdir()
    with pytest.raises(InputError, match="images: holds no images"):
        open_segmentation_data(root)
    with pytest.raises(InputError, match="no such file or folder"):
        open_segmentation_data(tmp_path / "nowhere")


def test_bad_splits_are_refused(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", [index_mask(i, (0, 255)) for i in range(3)])
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("im00\nim01\n")
    (root / "splits" / "val.txt").write_text("\n")
    with pytest.raises(InputError, match=r"val\.txt: lists no images"):
        open_segmentation_data(root)
    (root / "splits" / "val.txt").write_text("im09\n")
    with pytest.raises(InputError, match=r"val\.txt: line 1 names 'im09'"):
        open_segmentation_data(root)
    (root / "splits" / "val.txt").unlink()
    with pytest.raises(InputError, match=r"val\.txt: missing"):
        open_segmentation_data(root)
    single = make_folder(tmp_path / "one", [index_mask(0, (0, 255))])
    with pytest.raises(InputError, match="only 1 image"):
        open_segmentation_data(single)


def test_negative_images_are_all_background_capped_and_split(tmp_path: Path) -> None:
    data = open_segmentation_data(make_folder(tmp_path / "data", [index_mask(i, (0, 255)) for i in range(12)]))
    trained = len(data.train)
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(40):  # more frames than the cap lets in
        cv2.imwrite(str(clip / f"{i:05d}.jpg"), picture(100 + i, 30, 40))
    added = add_negatives(data, [clip], val_ratio=0.2, seed=0)
    negatives = [s for s in data.train if s.name.startswith("negative:")]
    assert added == len(negatives) and 0 < added <= round(trained / 3)   # at most a quarter after adding
    assert {s.image.parent for s in negatives} == {clip}
    assert any(s.name.startswith("negative:") for s in data.val)
    assert all_labels(negatives) == {0}
    assert negatives[0].load()[1].shape == (30, 40)
    with pytest.raises(InputError, match="no such folder"):
        add_negatives(data, [tmp_path / "nowhere"], val_ratio=0.2, seed=0)


def test_check_reads_every_pair(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", [index_mask(i, (0, 255)) for i in range(6)])
    data = open_segmentation_data(root)
    data.check()
    last = data.train[-1]
    cv2.imwrite(str(last.target.path), index_mask(0, (0, 255, 3)))  # changed after opening
    with pytest.raises(InputError, match=rf"{last.target.path.name}: pixel value 3 is not a class"):
        data.check()
    data.check(limit=1)


# ---------------------------------------------------------------------------------------------- COCO


def uncompressed_rle(mask: np.ndarray) -> dict:
    """Column-major run lengths starting with a run of zeros, as COCO stores crowds."""
    flat = mask.ravel(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return {"size": list(mask.shape), "counts": np.diff(np.concatenate([[0], changes])).tolist()}


def make_coco(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    for i in range(4):
        cv2.imwrite(str(root / "images" / f"p{i}.jpg"), picture(i))
    dog = np.zeros((H, W), np.uint8)
    dog[12:17, 15:26] = 1
    crowd = np.zeros((H, W), np.uint8)
    crowd[0:6, 20:30] = 1
    compressed = coco_mask.encode(np.asfortranarray(dog))
    compressed["counts"] = compressed["counts"].decode()
    square = [[2, 2, 10, 2, 10, 10, 2, 10]]
    annotations = [{"id": 1, "image_id": 0, "category_id": 1, "iscrowd": 0, "segmentation": square},
                   {"id": 2, "image_id": 0, "category_id": 2, "iscrowd": 0, "segmentation": compressed},
                   {"id": 3, "image_id": 0, "category_id": 1, "iscrowd": 1, "segmentation": uncompressed_rle(crowd)},
                   {"id": 4, "image_id": 1, "category_id": 2, "iscrowd": 0, "segmentation": uncompressed_rle(dog)},
                   {"id": 5, "image_id": 2, "category_id": 1, "iscrowd": 0, "segmentation": [[0, 0, 8, 0, 8, 8]]}]
    return write_json(root / "annotations" / "instances_mini.json", {
        "images": [{"id": i, "file_name": f"p{i}.jpg", "height": H, "width": W} for i in range(4)],
        "annotations": annotations, "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]})


def test_coco_polygons_rle_and_crowds(tmp_path: Path) -> None:
    json_path = make_coco(tmp_path / "coco")
    data = open_segmentation_data(tmp_path / "coco", val_ratio=0.4)
    assert data.classes == ("background", "cat", "dog") and data.format.startswith("COCO instances_mini.json")
    assert len(data.train) + len(data.val) == 3 and any("1 of 4 images" in note for note in data.notes)
    labels = {s.name: s.load()[1] for s in data.train + data.val}
    assert labels["p0"][6, 6] == 1 and labels["p0"][0, 0] == 0
    assert (labels["p0"][12:17, 15:26] == 2).all() and (labels["p1"][12:17, 15:26] == 2).all()
    assert (labels["p0"][0:6, 20:30] == 255).all()
    data.check()
    dogs = open_segmentation_data(json_path, coco_categories=["dog"], val_ratio=0.5)
    assert dogs.classes == ("background", "dog") and len(dogs.train) + len(dogs.val) == 2
    with pytest.raises(InputError, match="no category 'bird'"):
        open_segmentation_data(json_path, coco_categories=["bird"])
    (tmp_path / "coco" / "images" / "p1.jpg").unlink()
    with pytest.raises(InputError, match=r"p1\.jpg is listed but .* is missing"):
        open_segmentation_data(json_path)


# ---------------------------------------------------------------------------------------------- video clips


def make_clip(folder: Path, frames: int, masks: bool = True) -> Path:
    folder.mkdir(parents=True)
    if masks:
        (folder / "masks").mkdir()
    for i in range(frames):
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), picture(i))
        if masks:
            cv2.imwrite(str(folder / "masks" / f"{i:05d}.png"), index_mask(i, (0, 255)))
    return folder


def test_a_single_clip_holds_out_its_last_frames(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "walk", 20)
    data = open_segmentation_data(clip, classes=["dancer"])
    assert data.classes == ("background", "dancer")
    assert [s.name for s in data.val] == ["walk/00017", "walk/00018", "walk/00019"] and len(data.train) == 17
    assert all_labels(data.val) == {0, 1}


def test_a_folder_of_clips_splits_by_clip(tmp_path: Path) -> None:
    for i, name in enumerate(["a", "b", "c", "d", "e"]):
        make_clip(tmp_path / "clips" / name, 4 + i)
    make_clip(tmp_path / "clips" / "unlabelled", 3, masks=False)
    (tmp_path / "clips" / "a" / "masks" / "00003.png").unlink()
    data = open_segmentation_data(tmp_path / "clips", val_ratio=0.3)
    clip_of = {s.name.split("/")[0] for s in data.train}, {s.name.split("/")[0] for s in data.val}
    assert clip_of[0] and clip_of[1] and not clip_of[0] & clip_of[1]
    assert clip_of[0] | clip_of[1] == set("abcde")
    assert "unlabelled: no masks/ folder, skipped" in data.notes
    assert "a: 1 of 4 frames have no mask, skipped" in data.notes
    assert [s.name for s in open_segmentation_data(tmp_path / "clips", val_ratio=0.3).val] == [s.name for s in data.val]
    empty = make_clip(tmp_path / "nomasks" / "x", 3, masks=False).parent
    with pytest.raises(InputError, match="no frames with masks"):
        open_segmentation_data(empty)


# ---------------------------------------------------------------------------------------------- real data


def test_the_shared_training_sets_open() -> None:
    street = open_segmentation_data(shared_path("data", "train", "seg-street"))
    assert (len(street.train), len(street.val), len(street.test), len(street.classes)) == (367, 101, 62, 11)
    desk = open_segmentation_data(shared_path("data", "train", "seg-multiclass"))
    assert (len(desk.train), len(desk.val), len(desk.classes)) == (34, 8, 8)
    for data in (street, desk):
        for sample in data.train[:2] + data.val[:1]:
            labels = sample.load()[1]
            assert set(np.unique(labels).tolist()) <= set(range(len(data.classes))) | {255}
    street.check(limit=20)


# ---------------------------------------------------------------------------------------------- augmentation


def square_pair(height: int = 120, width: int = 160) -> tuple[np.ndarray, np.ndarray]:
    labels = np.zeros((height, width), np.uint8)
    labels[30:80, 50:110] = 1
    rgb = np.full((height, width, 3), 40, np.uint8)
    rgb[labels == 1] = (230, 230, 230)
    return rgb, labels


@pytest.mark.parametrize("strength", ["none", "default", "heavy"])
def test_train_transform_keeps_mask_and_image_aligned(strength: str) -> None:
    transform = train_transform(64, strength)
    transform.set_random_seed(7)
    rgb, labels = square_pair()
    kernel = np.ones((5, 5), np.uint8)
    contrasts = []
    for _ in range(12):
        out = transform(image=rgb, mask=labels)
        image, mask = out["image"], out["mask"]
        assert image.shape == (64, 64, 3) and mask.shape == (64, 64)
        assert set(np.unique(mask).tolist()) <= {0, 1, 255}
        grey = image.astype(np.float32).mean(axis=2)
        inside, outside = (cv2.erode((mask == v).astype(np.uint8), kernel) > 0 for v in (1, 0))
        if inside.any() and outside.any():
            contrasts.append(grey[inside].mean() - grey[outside].mean())
        if strength == "none" and inside.any():
            assert (grey[inside] == 230).all()
        if strength == "none" and (mask == 255).any():
            assert (image[cv2.erode((mask == 255).astype(np.uint8), kernel) > 0] == 0).all()
    # A shadow or fog can darken the square now and then; a misplaced mask would fail most draws.
    assert contrasts and np.mean(np.asarray(contrasts) > 60) >= 0.75


def test_eval_transform_resizes_as_inference_does() -> None:
    rgb, labels = square_pair(120, 170)
    out = eval_transform(256)(image=rgb, mask=labels)
    assert out["image"].shape[1::-1] == network_size(170, 120, 256) == (256, 192)
    assert out["mask"].shape == (192, 256) and set(np.unique(out["mask"]).tolist()) == {0, 1}


def test_bad_augmentation_options() -> None:
    with pytest.raises(InputError, match="strength 'wild'"):
        train_transform(64, "wild")
    with pytest.raises(InputError, match="multiple of 32"):
        train_transform(100)
