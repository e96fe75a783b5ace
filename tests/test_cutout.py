"""`unseen cutout`: every whole object of a class cut out of photos, each an RGBA PNG cropped to it."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from unseen.cli import main
from unseen.render.objects import find_objects
from unseen.segment.base import register_segmenter

from conftest import shared_path

_MODEL = "test-green-cars"


class _GreenCars:
    """Green things are cars (sure inside, unsure on a 2 px rim): no weights needed."""

    name = _MODEL
    classes = ("background", "car")

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        green = ((rgb[..., 1] > 150) & (rgb[..., 0] < 100)).astype(np.float32)
        car = cv2.GaussianBlur(green, (5, 5), 1.0)
        return np.dstack([1 - car, car])


register_segmenter(_MODEL, lambda device: _GreenCars(), "green cars (tests)")


def _street(path: Path) -> Path:
    """Grey street with three green cars: a big one, a small one, one cut off by the right edge."""
    image = np.full((200, 320, 3), 110, np.uint8)
    image[::7] = 90  # some texture
    cv2.rectangle(image, (30, 60), (130, 120), (20, 200, 30), -1)  # 101 x 61: 6161 px
    cv2.rectangle(image, (170, 140), (200, 160), (20, 200, 30), -1)  # 31 x 21: too small
    cv2.rectangle(image, (250, 40), (319, 100), (20, 200, 30), -1)  # touches the edge
    image = cv2.GaussianBlur(image, (0, 0), 1.5)  # edges as a lens draws them: a few pixels wide
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def run(capfd, *args) -> tuple[int, list[str]]:
    code = main([str(a) for a in args])
    return code, [line for line in capfd.readouterr().err.splitlines() if line.strip()]


def test_whole_objects_are_cut_out_cropped_with_soft_edges(tmp_path: Path, capfd) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    _street(photos / "street.png")
    code, err = run(capfd, "cutout", photos, "--classes", "car", "--model", _MODEL, "-o", tmp_path / "cars")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "cars").iterdir()) == ["street_car_01.png"]
    car = cv2.imread(str(tmp_path / "cars" / "street_car_01.png"), cv2.IMREAD_UNCHANGED)
    assert car.shape[2] == 4
    assert 61 <= car.shape[0] <= 61 + 8 and 101 <= car.shape[1] <= 101 + 8  # the box and a 4 px margin
    alpha = car[..., 3]
    assert alpha[car.shape[0] // 2, car.shape[1] // 2] == 255 and alpha[0, 0] == 0
    opaque = car[alpha == 255][:, :3]
    assert (opaque[:, 1] > 150).mean() > 0.95  # the car itself (BGR: green is channel 1)
    # Smaller objects and objects cut off by the edge come with their options.
    code, err = run(capfd, "cutout", photos, "--classes", "car", "--model", _MODEL, "-o", tmp_path / "all",
                    "--min-area", "200", "--keep-cut-off")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        "street_car_01.png", "street_car_02.png", "street_car_03.png"]  # largest first
    sizes = [cv2.imread(str(tmp_path / "all" / f"street_car_0{k}.png"), cv2.IMREAD_UNCHANGED).shape[:2]
             for k in (1, 2, 3)]
    assert sizes[0][1] > sizes[1][1] > sizes[2][1]


def test_nothing_found_warns_and_bad_input_is_one_line(tmp_path: Path, capfd) -> None:
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), np.full((60, 80, 3), 110, np.uint8))
    code, err = run(capfd, "cutout", empty, "--model", _MODEL, "-o", tmp_path / "none")
    assert code == 0 and any("no car" in line for line in err), err
    code, err = run(capfd, "cutout", tmp_path / "missing.png", "-o", tmp_path / "x")
    assert code == 2 and len(err) == 1 and err[0].startswith("unseen: error:")
    code, err = run(capfd, "cutout", empty, "--min-area", "0", "-o", tmp_path / "x")
    assert code == 2 and "--min-area" in err[0]
    assert not (tmp_path / "x").exists()


def test_find_objects_splits_a_class_into_its_objects() -> None:
    labels = np.zeros((50, 60), np.uint8)
    labels[5:15, 5:25] = 1
    labels[30:45, 30:50] = 1
    labels[20:30, 0:10] = 2  # touches the left edge
    found = find_objects(labels, min_area=50)
    assert [(item.label, item.area) for item in found] == [(1, 300), (1, 200)]
    assert [item.label for item in find_objects(labels, min_area=50, keep_cut_off=True)] == [1, 1, 2]


def test_cars_are_cut_out_of_real_street_photos(tmp_path: Path, capfd) -> None:
    # Six photos spread over CamVid: in some every car touches the frame's edge or a bus (CamVid's "car"
    # includes buses, and so does our street model's) and is rightly left out.
    street = shared_path("data", "train", "seg-street", "images")
    photos = tmp_path / "photos"
    photos.mkdir()
    for photo in sorted(street.iterdir())[::100]:
        shutil.copy(photo, photos)
    code, err = run(capfd, "cutout", photos, "--classes", "car", "-o", tmp_path / "cars", "--min-area", "1500")
    assert code == 0, err
    cars = sorted((tmp_path / "cars").iterdir())
    assert cars, err
    for path in cars:
        car = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        alpha = car[..., 3]
        assert car.shape[2] == 4 and alpha.max() == 255 and alpha.min() == 0
        assert ((alpha > 0) & (alpha < 255)).any()  # soft edges where the network is unsure
