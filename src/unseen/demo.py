"""``make demo``: erase an object from a self-made photo and a self-made video, and say where they are.

The samples are drawn here (no download, no file from elsewhere): a scene with brick, sky and grass
and a red ball in front of it; in the video the ball crosses the scene while the camera pans.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from unseen.api import remove
from unseen.media import Frame, VideoWriter, open_clip, read_image, write_image


def scene(width: int, height: int, pan: int = 0) -> np.ndarray:
    """A small outdoor scene: sky gradient, a brick wall with mortar, grass with noise."""
    rng = np.random.default_rng(7)
    canvas_width = width + 200
    y, x = np.mgrid[0:height, 0:canvas_width]
    image = np.zeros((height, canvas_width, 3), np.float32)
    sky = y < height * 0.35
    image[sky] = np.stack([120 + 0.3 * y, 170 + 0.2 * y, 235 + 0 * y], axis=-1)[sky]
    wall = (y >= height * 0.35) & (y < height * 0.75)
    row = (y - int(height * 0.35)) // 14
    brick_edge = ((y - int(height * 0.35)) % 14 < 2) | (((x + 14 * (row % 2)) % 28) < 2)
    image[wall] = (170, 75, 55)
    image[wall & brick_edge] = (205, 200, 190)
    grass = y >= height * 0.75
    image[grass] = (70, 140, 50)
    image += rng.normal(0, 9, image.shape).astype(np.float32)
    return np.clip(image[:, pan:pan + width], 0, 255).astype(np.uint8)


def ball_mask(width: int, height: int, cx: int, cy: int, radius: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    cv2.circle(mask, (cx, cy), radius, 255, -1, lineType=cv2.LINE_AA)
    return mask


def with_ball(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Paint a shaded red ball with an anti-aliased edge (as a real object has)."""
    alpha = (mask.astype(np.float32) / 255)[..., None]
    red = np.zeros_like(image, dtype=np.float32)
    red[:] = (200, 30, 30)
    return (image * (1 - alpha) + red * alpha).astype(np.uint8)


def make_samples(folder: Path) -> dict[str, Path]:
    """Write the sample photo, video and their masks into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = 320, 240
    mask = ball_mask(width, height, 160, 130, 40)
    paths = {"photo": folder / "photo.png", "photo_mask": folder / "photo_mask.png",
             "video": folder / "video.mp4", "video_masks": folder / "video_masks"}
    write_image(paths["photo"], with_ball(scene(width, height), mask))
    write_image(paths["photo_mask"], (mask > 0).astype(np.uint8) * 255)
    paths["video_masks"].mkdir(exist_ok=True)
    with VideoWriter(paths["video"], fps=Fraction(25)) as writer:
        for i in range(50):
            frame_mask = ball_mask(width, height, 40 + 5 * i, 120 + int(20 * np.sin(i / 5)), 28)
            writer.write(Frame(with_ball(scene(width, height, pan=2 * i), frame_mask), i, f"{i:05d}"))
            write_image(paths["video_masks"] / f"{i:05d}.png", (frame_mask > 0).astype(np.uint8) * 255)
    return paths


def side_by_side(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    gap = np.full((before.shape[0], 8, 3), 255, np.uint8)
    return np.hstack([before, gap, after])


def main(argv: list[str] | None = None) -> int:
    out = Path((argv or sys.argv[1:] or ["demo-output"])[0])
    samples = make_samples(out / "samples")
    photo = remove(samples["photo"], out / "photo_clean.png", mask=samples["photo_mask"], show_progress=True)
    video = remove(samples["video"], out / "video_clean.mp4", mask=samples["video_masks"], show_progress=True)
    write_image(out / "compare_photo.png", side_by_side(read_image(samples["photo"]), read_image(photo)))
    middle = [next(f.image for f in open_clip(path) if f.index == 25) for path in (samples["video"], video)]
    write_image(out / "compare_video_frame25.png", side_by_side(*middle))
    print(f"Photo: {samples['photo']} -> {photo}  (side by side: {out / 'compare_photo.png'})")
    print(f"Video: {samples['video']} -> {video}  (frame 25 side by side: {out / 'compare_video_frame25.png'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
