"""`unseen batch` against a shell loop of `unseen remove`, in the same run: items/s, frames/s, overhead per item.

Two workloads of N generated videos (a panning texture, a fixed mask):
- **tiny**: 64x48, 3 frames, `--method telea`: the job costs next to nothing, so the wall time per item is
  what running an item costs (process start, imports, hashing, state, report): the overhead per item.
- **work**: WxH, F frames, the video engine (`--method flow`, the default for videos): real filling.

Each goes through the shell loop (`for f in ...; do unseen remove "$f" --mask m.png -o out/"$f"; done`),
`unseen batch` local with 1 worker (2 threads) and 2 workers (1 thread each), and Ray tasks on a local
Ray instance started here (2 CPUs, 1 per task; its start-up is timed apart). Outputs go to fresh folders,
so nothing is skipped. "x shell" is items/s over the shell loop's.

    .venv/bin/python bench/batch.py                       # N=6, 320x240, 24 frames; ~3 min on 2 cores
    .venv/bin/python bench/batch.py --items 20 --size 854x480 --frames 50
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from unseen.media import write_image

from common import markdown_table

UNSEEN = Path(sys.executable).with_name("unseen")


def make_video(path: Path, width: int, height: int, frames: int, seed: int) -> None:
    """A panning texture (different per video), H.264 at 25 fps."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (height // 4 + 1, (width + frames * 2) // 4 + 1, 3), dtype=np.uint8)
    base = np.kron(base, np.ones((4, 4, 1), np.uint8))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.ascontiguousarray(base[:height, 2 * i:2 * i + width])
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))


def make_inputs(folder: Path, count: int, width: int, height: int, frames: int) -> None:
    folder.mkdir(parents=True)
    for n in range(count):
        make_video(folder / f"v{n:03d}.mp4", width, height, frames, n)
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4:height // 2, width // 3:width // 2] = 255
    write_image(folder.parent / f"{folder.name}-mask.png", mask)


def shell_loop(inputs: Path, mask: Path, out: Path, method: str) -> float:
    out.mkdir()
    script = (f"for f in {shlex.quote(str(inputs))}/*.mp4; do {shlex.quote(str(UNSEEN))} remove \"$f\" "
              f"--mask {shlex.quote(str(mask))} --method {method} -q -o {shlex.quote(str(out))}/$(basename \"$f\") "
              "|| exit 1; done")
    started = time.monotonic()
    subprocess.run(["bash", "-c", script], check=True)
    return time.monotonic() - started


def batch(inputs: Path, mask: Path, out: Path, method: str, engine: str, workers: int | None,
          threads: int | None) -> tuple[float, dict]:
    import unseen

    started = time.monotonic()
    report = unseen.batch(inputs, out, job="remove", options=["--mask", str(mask), "--method", method],
                          engine=engine, workers=workers, threads=threads)
    if report["failed"]:
        raise SystemExit(f"{report['failed']} items failed: {report['items'][0]['error']}")
    return time.monotonic() - started, report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=6, help="videos per workload (default 6)")
    p.add_argument("--size", default="320x240", help="frame size of the work videos (default 320x240)")
    p.add_argument("--frames", type=int, default=24, help="frames of each work video (default 24)")
    p.add_argument("--no-ray", action="store_true", help="leave Ray out")
    p.add_argument("--out", type=Path, help="keep inputs and outputs here (default: a temporary folder)")
    args = p.parse_args()
    width, height = map(int, args.size.split("x"))
    root = args.out or Path(tempfile.mkdtemp(prefix="unseen-bench-batch-"))
    workloads = {"tiny": (64, 48, 3, "telea"), "work": (width, height, args.frames, "flow")}
    for name, (w, h, f, _) in workloads.items():
        make_inputs(root / name, args.items, w, h, f)

    ray_start = None
    if not args.no_ray:
        import ray

        started = time.monotonic()
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 << 20, _node_ip_address="127.0.0.1",
                 log_to_driver=False, logging_level="error")
        ray_start = time.monotonic() - started
    engines = [("local, 1 worker x 2 threads", "local", 1, 2), ("local, 2 workers x 1 thread", "local", 2, 1)]
    if not args.no_ray:
        engines.append(("ray, 2 CPUs, 1 per task", "ray", None, 1))

    rows = []
    for name, (w, h, frames, method) in workloads.items():
        inputs, mask = root / name, root / f"{name}-mask.png"
        shell = shell_loop(inputs, mask, root / f"{name}-out-shell", method)
        total_frames = args.items * frames
        rows.append([name, f"{w}x{h}x{frames}", "shell loop of `unseen remove`", args.items / shell,
                     total_frames / shell, shell / args.items, "-", 1.0])
        for label, engine, workers, threads in engines:
            wall, report = batch(inputs, mask, root / f"{name}-out-{engine}-{workers}", method, engine, workers,
                                 threads)
            in_items = sum(item["seconds"] for item in report["items"])
            slots = workers or 2
            # Worker-seconds per item not spent inside the item's job (start-up, hand-over, the driver).
            overhead = (wall * slots - in_items) / args.items
            rows.append([name, f"{w}x{h}x{frames}", label, args.items / wall, total_frames / wall,
                         wall / args.items, overhead, (args.items / wall) / (args.items / shell)])
        print(f"{name} done", file=sys.stderr)
    if not args.no_ray:
        ray.shutdown()
    print(markdown_table(["workload", "video", "how", "items/s", "frames/s", "wall s/item",
                          "overhead s/item (worker-s)", "x shell"], rows))
    if ray_start is not None:
        print(f"\nRay start-up (not counted above): {ray_start:.1f} s. {args.items} items per workload; "
              f"outputs in {root}")


if __name__ == "__main__":
    main()
