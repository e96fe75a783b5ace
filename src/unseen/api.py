"""What users call: the same jobs as the ``unseen`` command, on paths or NumPy arrays.

>>> import unseen
>>> unseen.remove("photo.jpg", "clean.jpg", mask="mask.png")          # doctest: +SKIP
>>> clean = unseen.remove(rgb_array, mask=mask_array)                  # doctest: +SKIP
>>> unseen.remove("clip.mp4", "clean.mp4", target="car")               # doctest: +SKIP
>>> unseen.segment("clip.mp4", "overlay.mp4", classes=["person", "car"], render="overlay")  # doctest: +SKIP
>>> unseen.replace_background("call.mp4", "white.mp4", background="white")  # doctest: +SKIP
>>> unseen.train_segmenter("camvid/", "runs/street", init="espnetv2-city", time_limit=10)  # doctest: +SKIP
>>> unseen.evaluate_segmenter("camvid/", "runs/street", split="test")  # doctest: +SKIP

Training, evaluation and export import PyTorch and the training stack only when called.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from unseen.errors import InputError, warn
from unseen.inpaint import DEFAULT_FILLER, list_fillers
from unseen.inpaint.stepped import SteppedFiller
from unseen.inpaint.video import FlowVideoFiller, PerFrameFiller
from unseen.masks import dilate, masks_for
from unseen.masks.segmented import DEFAULT_SMOOTHING, Segmentation, segment_frames, warn_floods
from unseen.masks.sources import FramesWithMasks
from unseen.media import Clip, Frame, clip_writer, open_clip
from unseen.media.atomic import atomic_folder
from unseen.media.clip import check_folder_mode
from unseen.media.image import write_image
from unseen.progress import progress
from unseen.render import background as backgrounds
from unseen.render.objects import DEFAULT_MIN_AREA, find_objects, object_cutout
from unseen.render.palette import colors_for
from unseen.render.views import RENDER_KINDS, render_view
from unseen.segment.base import default_segmenter, get_segmenter
from unseen.segment.focus import Focus
from unseen.track import parse_prompts, prompted_labels
from unseen.train.checkpoint import is_checkpoint_path

# Object masks stop short of the object's soft (anti-aliased, motion-blurred) edge. bench/dilate.py pastes
# real objects with soft edges over real backgrounds and measures the fill against the truth for each
# width: 2 px is best for the photo filler at every edge softness and for the video engine on average
# (docs/benchmarks.md); wider holes cost more than the halo they avoid.
DEFAULT_DILATE = 2
# A segmenter's outline is uncertain by a network pixel or two (~2.7 frame pixels at 854x480), and what it
# misses stays in the video as a ghost outline: bench/segment.py measures how much of the GT object a
# grown mask covers, and 6 px takes in nearly all of it.
DEFAULT_TARGET_DILATE = 6
# A followed object's outline is a guess carried from frame to frame: bench/track.py measures how much of
# the true object the grown mask covers on the DAVIS clips.
DEFAULT_PROMPT_DILATE = 8

MaskLike = str | os.PathLike | np.ndarray
MediaLike = str | os.PathLike | np.ndarray
# A box (x, y, w, h) or a point (x, y): a tuple, a string "X,Y,W,H@FRAME", or a list of them.
PromptLike = str | tuple | list | None


AUTO = "auto"
VIDEO_METHOD = "flow"
# How the video engine guesses the flow inside the holes: the routes it follows (see
# unseen.inpaint.video.ROUTES), weighed pixel by pixel by how well their views agree. ``learned`` is the
# default because it measured better (docs/benchmarks.md): on 12 of the 13 hole cases its fill is as good
# or better (PSNR +0.15 dB on the four 432x240 cases, +0.69 dB at 854x480), sharper and flickers less;
# following all three routes was no better than camera + border.
FLOW_COMPLETIONS = {"learned": ("learned", "camera"), "camera": ("camera", "border")}
DEFAULT_FLOW_COMPLETION = "learned"
# The photo filler the video engine uses for what no frame shows: the patch fill with the mean of its votes, not the
# photos' sharper copy of the best one, which flickered more where frames are filled one by one
# (schoolgirls_x_car-roundabout of bench/video.py: flicker 1.82 -> 2.26, 0.33 -> 0.41 of Telea's).
DEFAULT_HIDDEN_FILL = "patch-soft"
# What a folder of images is (the ``folder`` argument, besides ``auto``): see :func:`unseen.media.open_clip`.
SEQUENCE, PHOTOS = "sequence", "photos"


def methods() -> list[str]:
    """Names ``method`` accepts: ``auto``, the video engine ``flow`` and every photo filler."""
    return [AUTO, VIDEO_METHOD, *list_fillers()]


def remove(input: MediaLike, output: str | os.PathLike | None = None, *, mask: MaskLike | None = None,
           target: str | list[str] | None = None, box: PromptLike = None, point: PromptLike = None,
           frame: int = 0, model: str | None = None, upside_down: bool = False, dilate_px: int | None = None,
           method: str = AUTO, frame_step: int = 1, flow_completion: str = DEFAULT_FLOW_COMPLETION,
           hidden_fill: str = DEFAULT_HIDDEN_FILL, frame_format: str = "png", device: str = "cpu",
           folder: str = AUTO, codec: str | None = None, crf: int | None = None, accept_truncated: bool = False,
           show_progress: bool = False) -> Path | np.ndarray:
    """Erase the masked object from a photo, a video or a folder of frames (or of photos).

    Parameters
    ----------
    input
        An image, video or frame-folder path, or an RGB ``uint8`` array: ``HxWx3`` (a photo) or
        ``TxHxWx3`` (frames).
    output
        Where to write the result (image, video or folder, by its extension); required for path input,
        ignored for arrays. Written atomically; never the input itself.
    mask
        White (non-zero) = remove. An image for every frame, a folder of per-frame masks (matched by
        name), a mask video, or an array (``HxW`` or ``TxHxW``).
    target
        Instead of ``mask``: class names (``"car"``, ``"person,car"`` or a list) found in every frame by a
        segmenter (see :func:`segment`).
    box, point
        Instead of ``mask``: the object(s) to remove, pointed at on one frame and followed through the
        video (forwards and backwards): ``box=(x, y, w, h)``, ``point=(x, y)``, a string
        ``"X,Y,W,H@FRAME"`` / ``"X,Y@FRAME"``, or a list of them (several objects).
    frame
        The frame index of prompts that do not say ``@FRAME`` (default 0).
    model
        With ``target``: the segmenter (a registry name or an ``.onnx`` file); default: the best shipped
        model that knows the classes. With ``box``/``point``: the class segmenter that recognises known
        objects (default ``espnetv2-pascal``).
    upside_down
        With ``target``: the segmenter also looks at every frame upside down (:class:`Focus`), for people in
        flips, handstands or a breakdancer's freeze, whom it half misses the right way up; twice its time.
    dilate_px
        Grow the mask by this many pixels first, to take the object's soft edge with it (default
        :data:`DEFAULT_DILATE` for masks, :data:`DEFAULT_TARGET_DILATE` for segmenter masks,
        :data:`DEFAULT_PROMPT_DILATE` for followed objects).
    method
        ``flow``: the temporally consistent video engine (copies background seen in other frames);
        a photo filler name (see :func:`unseen.inpaint.list_fillers`): each frame on its own;
        ``auto``: ``flow`` for videos and frame folders, the default photo filler for photos.
    frame_step
        With ``flow``: run the engine on every Nth frame only and fill the others from their filled
        neighbours along the flow (faster, a little less exact).
    flow_completion
        With ``flow``: how the motion behind the object is guessed, to follow it into other frames:
        ``learned`` (the flow completer that ships with unseen), ``camera`` (the camera's motion and the
        border's, carried inside), or a run of ``unseen train flow-completer`` (RUN or a ``.pt``); see
        :data:`FLOW_COMPLETIONS`.
    hidden_fill
        With ``flow``: the photo filler (a name of :func:`unseen.inpaint.list_fillers` or a trained
        inpainter, RUN or a ``.pt``) for the part of the hole that no frame of the video shows.
    frame_format
        Image format of the frames when ``output`` is a folder.
    device
        Where the segmenter of ``target`` runs: ``cpu``, ``cuda`` or ``cuda:N`` (PyTorch models; the
        filling runs on the CPU).
    folder
        A folder of images is ``"sequence"`` (frames of one video: one size; looked at across frames),
        ``"photos"`` (each image on its own: no smoothing across them, each filled alone) or ``"auto"``: a
        sequence when its images share a size and neighbours look alike. A ``TxHxWx3`` array is a sequence
        unless ``"photos"``.
    codec, crf
        For a video output: the encoder family (``h264``, ``hevc``, ``vp9``, ``av1``, ``prores``, ``ffv1``,
        ``mpeg4``; what this build of FFmpeg has) and its quality (lower is better). Default: the input's
        family and bit depth where the output's container holds them, at a visually lossless CRF.
    accept_truncated
        A video input cut short (it stops before the length its container declares) is an
        :class:`InputError` unless this is set: then the frames it has are used, with a warning.
    show_progress
        Show a progress bar on stderr for work longer than a second.

    Returns
    -------
    The output path, or the cleaned array for array input. Image files keep their alpha channel (what was
    transparent stays so) and their 16 bits per channel where the output's format holds them.
    """
    prompts = parse_prompts(box, point, frame)
    if (mask is not None) + (target is not None) + bool(prompts) != 1:
        raise InputError("give exactly one of a mask, a target class or a box/point prompt")
    if dilate_px is None:
        dilate_px = DEFAULT_PROMPT_DILATE if prompts else DEFAULT_DILATE if target is None else DEFAULT_TARGET_DILATE
    if dilate_px < 0:
        raise InputError(f"dilate must be 0 or more pixels, got {dilate_px}")
    if frame_step < 1:
        raise InputError(f"frame step must be 1 or more, got {frame_step}")
    routes, completer = _flow_completion(flow_completion)
    _check_filler("method", method, methods())
    _check_filler("hidden fill", hidden_fill, list_fillers())
    focus = None if target is None else _focus(_class_list(target), model, device, upside_down=upside_down)
    nothing = (f"no {', '.join(focus.classes)} found in any frame" if focus else "the mask is empty (all black)")

    def filled(frames: Iterable[Frame], sequence: bool) -> Iterator[Frame]:
        clip = frames if isinstance(frames, Clip) else None
        if method == VIDEO_METHOD and clip is not None and clip.kind == "folder" and not sequence:
            raise InputError(f"{clip.path}: --method flow fills frames of one video, and these images are photos "
                             "(of different sizes, or unlike each other); add --sequence if they are frames")
        engine = _engine(method, sequence, frame_step, routes, completer, str(hidden_fill))
        if prompts:
            pairs = ((f, labels > 0) for f, labels in _prompted(frames, prompts, clip, sequence, model, device))
            return engine.fill_frames(_grown(pairs, dilate_px, nothing))
        return engine.fill_frames(_grown(_mask_pairs(frames, mask, focus, clip, sequence), dilate_px, nothing))

    protected = () if mask is None or isinstance(mask, np.ndarray) else (mask,)
    return _run(input, output, filled, "remove", frame_format, show_progress, folder, protected=protected,
                keep_original=True, codec=codec, crf=crf, accept_truncated=accept_truncated)


def segment(input: MediaLike, output: str | os.PathLike | None = None, *, classes: str | list[str] = "person",
            box: PromptLike = None, point: PromptLike = None, frame: int = 0,
            render: str = "mask", model: str | None = None, upside_down: bool = False,
            smoothing: int = DEFAULT_SMOOTHING, largest: bool = False, frame_format: str = "png",
            device: str = "cpu", folder: str = AUTO,
            codec: str | None = None, crf: int | None = None, accept_truncated: bool = False,
            show_progress: bool = False) -> Path | np.ndarray:
    """Find objects of the given classes in a photo, a video or a folder of frames, and render them.

    Parameters
    ----------
    input
        An image, video or frame-folder path, or an RGB ``uint8`` array (``HxWx3`` or ``TxHxWx3``).
    output
        Image, video (``.gif`` too) or folder; required for path input. A mask folder gets one PNG per
        input frame with the input frame's name.
    classes
        Class names, e.g. ``"person,car"`` or ``["person", "car"]``, as the model names them.
    box, point, frame
        Instead of classes: the objects pointed at on one frame, followed through the video (see
        :func:`remove`); each is a class of its own (``object 1``, ``object 2``, ...).
    render
        ``mask`` (one class: 0/255; several: the class index 1..K per pixel, 0 elsewhere, written as a
        colour-indexed PNG), ``overlay`` or ``contours`` (with a legend for several classes), ``cutout``
        (RGBA: PNG, WebP, TIFF, ``.webm`` or ``.mov``) or ``collage`` (frame | mask | object on white).
    model
        A registry name (``unseen models list``) or an ``.onnx`` file; default: the best shipped model
        that knows the classes (``bench/segment.py``).
    upside_down
        Also look at every frame upside down: people turned over (see :func:`remove`); twice the time.
    smoothing
        Frames on each side whose class probabilities are averaged in, so masks do not flicker.
    largest
        Keep only the largest object of each class in each frame.
    device
        Where PyTorch segmenters run: ``cpu``, ``cuda`` or ``cuda:N``.
    folder
        A folder of images is ``"sequence"`` (frames of one video: one size; looked at across frames),
        ``"photos"`` (each image on its own: no smoothing across them, each filled alone) or ``"auto"``: a
        sequence when its images share a size and neighbours look alike. A ``TxHxWx3`` array is a sequence
        unless ``"photos"``.
    codec, crf
        For a video output: the encoder family (``h264``, ``hevc``, ``vp9``, ``av1``, ``prores``, ``ffv1``,
        ``mpeg4``; what this build of FFmpeg has) and its quality (lower is better). Default: the input's
        family and bit depth where the output's container holds them, at a visually lossless CRF.
    accept_truncated
        A video input cut short (it stops before the length its container declares) is an
        :class:`InputError` unless this is set: then the frames it has are used, with a warning.

    Returns
    -------
    The output path, or the rendered frames for array input.
    """
    if render not in RENDER_KINDS:
        raise InputError(f"unknown render {render!r}; choose one of: {', '.join(RENDER_KINDS)}")
    if smoothing < 0:
        raise InputError(f"smoothing must be 0 or more frames, got {smoothing}")
    prompts = parse_prompts(box, point, frame)
    names = [f"object {k + 1}" for k in range(len(prompts))] if prompts else _class_list(classes)
    focus = None if prompts else _focus(names, model, device, upside_down=upside_down)
    colors = colors_for(names)
    # An index image of several classes is shown in the classes' colours where the format allows (PNG).
    palette = colors if render == "mask" and len(names) > 1 else None

    def found_in(frames: Iterable[Frame], sequence: bool) -> Iterator[tuple[Frame, Segmentation]]:
        if not prompts:
            return _segmented(frames, focus, sequence, smoothing, largest)
        return ((f, Segmentation(labels, (labels > 0).astype(np.float32)))
                for f, labels in _prompted(frames, prompts, frames if isinstance(frames, Clip) else None,
                                           sequence, model, device))

    def rendered(frames: Iterable[Frame], sequence: bool) -> Iterator[Frame]:
        for frame, found in found_in(frames, sequence):
            picture = render_view(render, frame.image, found.labels, found.foreground, colors, names)
            yield frame.with_image(picture, palette)

    return _run(input, output, rendered, "segment", frame_format, show_progress, folder, alpha=render == "cutout",
                codec=codec, crf=crf, accept_truncated=accept_truncated)


def replace_background(input: MediaLike, output: str | os.PathLike | None = None, *, background: str = "white",
                       model: str | None = None, upside_down: bool = False, smoothing: int = DEFAULT_SMOOTHING,
                       frame_format: str = "png",
                       device: str = "cpu", folder: str = AUTO, codec: str | None = None, crf: int | None = None,
                       accept_truncated: bool = False, show_progress: bool = False) -> Path | np.ndarray:
    """Put people on another background: a colour, a blur of their own, an image, a video or transparency.

    Parameters
    ----------
    input
        An image, video or frame-folder path, or an RGB ``uint8`` array (``HxWx3`` or ``TxHxWx3``).
    output
        Image, video or folder; required for path input. ``transparent`` needs an output that holds
        alpha (PNG, WebP, TIFF, ``.webm``, ``.mov`` or a folder).
    background
        ``white``, ``black``, ``#RRGGBB``, ``blur`` (``blur:STRENGTH``), ``transparent``, an image path or
        a video / frame-folder path (looped when shorter than the input).
    model
        The person segmenter: a registry name or an ``.onnx`` file; default: the best shipped one.
    upside_down
        Also look at every frame upside down: people turned over (see :func:`remove`); twice the time.
    smoothing
        Frames on each side whose probabilities are averaged in, so the edge does not flicker.
    device
        Where PyTorch segmenters run: ``cpu``, ``cuda`` or ``cuda:N``.
    folder
        A folder of images is ``"sequence"`` (frames of one video: one size; looked at across frames),
        ``"photos"`` (each image on its own: no smoothing across them, each filled alone) or ``"auto"``: a
        sequence when its images share a size and neighbours look alike. A ``TxHxWx3`` array is a sequence
        unless ``"photos"``.
    codec, crf
        For a video output: the encoder family (``h264``, ``hevc``, ``vp9``, ``av1``, ``prores``, ``ffv1``,
        ``mpeg4``; what this build of FFmpeg has) and its quality (lower is better). Default: the input's
        family and bit depth where the output's container holds them, at a visually lossless CRF.
    accept_truncated
        A video input cut short (it stops before the length its container declares) is an
        :class:`InputError` unless this is set: then the frames it has are used, with a warning.
    """
    if smoothing < 0:
        raise InputError(f"smoothing must be 0 or more frames, got {smoothing}")
    backdrop = backgrounds.parse_background(background)
    focus = _focus(["person"], model, device, background=True, upside_down=upside_down)

    def composited(frames: Iterable[Frame], sequence: bool) -> Iterator[Frame]:
        for frame, found in _segmented(frames, focus, sequence, smoothing):
            picture = backgrounds.replace_background(frame.image, found.foreground, backdrop, frame.index)
            yield frame.with_image(picture)

    return _run(input, output, composited, "background", frame_format, show_progress, folder,
                alpha=backdrop.transparent, codec=codec, crf=crf, accept_truncated=accept_truncated)


def cutout(input: str | os.PathLike, output: str | os.PathLike, *, classes: str | list[str] = "car",
           model: str | None = None, min_area: int = DEFAULT_MIN_AREA, keep_cut_off: bool = False,
           device: str = "cpu", upside_down: bool = False, show_progress: bool = False) -> list[Path]:
    """Cut every object of the given classes out of photos, each as its own RGBA PNG.

    Parameters
    ----------
    input
        A photo, or a folder of photos (each looked at on its own).
    output
        The folder the cut-outs go to (created; written all at once when the job succeeds), named
        ``PHOTO_CLASS_NN.png``, largest object first.
    classes, model, device, upside_down
        As in :func:`segment`: what to cut out and the segmenter that finds it.
    min_area
        Objects smaller than this many pixels are left out (too small to be worth pasting).
    keep_cut_off
        Also keep objects that touch the photo's edge (left out by default: they show a straight cut).

    Returns
    -------
    The paths written (none when nothing was found: a warning says so).
    """
    if min_area < 1:
        raise InputError(f"--min-area must be 1 pixel or more, got {min_area}")
    names = _class_list(classes)
    clip = open_clip(input, folder=PHOTOS)
    if clip.kind == "video":
        raise InputError(f"{clip.path}: cutout takes photos or a folder of photos; for a video, use "
                         "segment --render cutout")
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise InputError(f"{output}: exists and is not a folder; cut-outs go into a folder")
    focus = _focus(names, model, device, upside_down=upside_down)
    written: list[Path] = []
    with atomic_folder(output) as folder:
        for frame, found in progress(_segmented(clip, focus, sequence=False), clip.frame_count, "cutout",
                                     show_progress):
            counts: dict[int, int] = {}
            for item in find_objects(found.labels, min_area, keep_cut_off):
                counts[item.label] = counts.get(item.label, 0) + 1
                name = f"{frame.name}_{names[item.label - 1].replace(' ', '-')}_{counts[item.label]:02d}.png"
                write_image(folder / name, object_cutout(frame.image, found.foreground, item))
                written.append(output / name)
    if not written:
        warn(f"no {', '.join(names)} of {min_area} pixels or more found"
             + ("" if keep_cut_off else " away from the photos' edges (--keep-cut-off keeps those)"))
    return written


def _class_list(classes: str | list[str] | tuple[str, ...]) -> list[str]:
    names = [c.strip() for c in classes.split(",")] if isinstance(classes, str) else [str(c) for c in classes]
    names = [c for c in names if c]
    if not names:
        raise InputError("no class given; name one or more, e.g. person,car")
    return list(dict.fromkeys(names))


def _focus(classes: list[str], model: str | None, device: str = "cpu", background: bool = False,
           upside_down: bool = False) -> Focus:
    return Focus(get_segmenter(model or default_segmenter(classes, background), device), classes,
                 upside_down=upside_down)


def _segmented(frames: Iterable[Frame], focus: Focus, sequence: bool, smoothing: int = DEFAULT_SMOOTHING,
               largest: bool = False) -> Iterator[tuple[Frame, Segmentation]]:
    """:func:`segment_frames` over frames of a video, or over photos: each on its own (no smoothing, no zoom
    box carried over from the photo before)."""
    if not sequence:
        focus.refresh = 1
        return segment_frames(frames, focus, 0, largest)
    return warn_floods(segment_frames(frames, focus, smoothing, largest), focus.classes)


def _prompted(frames: Iterable[Frame], prompts: list, clip: Clip | None, sequence: bool, model: str | None,
              device: str) -> Iterator[tuple[Frame, np.ndarray]]:
    """Frames with the labels of the prompted objects (checked now: bad prompts fail before any output)."""
    if clip is not None:
        size, count = clip.size, clip.frame_count if clip.exact_count else None
    else:
        frames = list(frames)
        size, count = frames[0].size, len(frames)
    return prompted_labels(frames, prompts, size, count, sequence, model, device)


def _mask_pairs(frames, mask: MaskLike | None, focus: Focus | None, clip: Clip | None = None,
                sequence: bool = True) -> FramesWithMasks:
    if focus is None:
        return masks_for(frames, mask, clip)
    return ((frame, found.mask) for frame, found in _segmented(frames, focus, sequence))


def _array_frames(input: np.ndarray) -> tuple[list[Frame], bool]:
    """Frames of an HxWx3 or TxHxWx3 uint8 array, and whether it was one picture."""
    if input.dtype != np.uint8 or input.ndim not in (3, 4) or input.shape[-1] != 3:
        raise InputError(f"expected an RGB uint8 array (HxWx3 or TxHxWx3), got {input.dtype} {input.shape}")
    stack = input[None] if input.ndim == 3 else input
    return [Frame(image, i, f"{i:05d}") for i, image in enumerate(stack)], input.ndim == 3


def _run(input: MediaLike, output: str | os.PathLike | None, job: Callable[[Iterable[Frame], bool], Iterator[Frame]],
         name: str, frame_format: str, show_progress: bool, folder: str = AUTO, alpha: bool = False,
         protected: tuple[str | os.PathLike, ...] = (), keep_original: bool = False, codec: str | None = None,
         crf: int | None = None, accept_truncated: bool = False) -> Path | np.ndarray:
    """Frames of ``input`` through ``job`` into ``output`` (or back as an array for array input).

    ``job`` gets the :class:`Clip` itself for path input (it knows its kind and frame count), a list of
    frames for arrays, and whether they are a sequence (see ``folder``); ``protected`` paths (a mask) may
    not be the output either. ``keep_original``: image files' alpha and 16 bits are written back.
    ``codec``, ``crf`` and ``accept_truncated`` are :func:`remove`'s.
    """
    check_folder_mode(folder)
    if isinstance(input, np.ndarray):
        frames, single = _array_frames(input)
        out = np.stack([f.image for f in job(frames, not single and folder != PHOTOS)])
        return out[0] if single else out
    if output is None:
        raise InputError("an output path is needed for path input")
    clip = open_clip(input, folder, keep_original, accept_truncated)
    # The job is set up (its mask found and read) before the output is: bad input leaves nothing behind.
    frames = job(clip, clip.sequence)
    with clip_writer(output, clip, frame_format, protected, alpha=alpha, codec=codec, crf=crf) as sink:
        for frame in progress(frames, clip.frame_count, name, show_progress):
            sink.write(frame)
    return Path(output)


def _check_filler(what: str, name: str | os.PathLike, names: list[str]) -> None:
    """``name`` must be one of ``names`` or a trained inpainter's run; else one line naming the choices."""
    if str(name) not in names and not is_checkpoint_path(name):
        raise InputError(f"unknown {what} {str(name)!r}; choose one of: {', '.join(names)}, or a trained "
                         "inpainter (RUN or RUN/best.pt of `unseen train inpainter`)")


def _engine(method: str, sequence: bool, frame_step: int = 1, routes: tuple[str, ...] = FLOW_COMPLETIONS["camera"],
            completer: str | None = None, hidden_fill: str = DEFAULT_HIDDEN_FILL) -> SteppedFiller | PerFrameFiller:
    if method == AUTO:
        method = VIDEO_METHOD if sequence else DEFAULT_FILLER
    if method != VIDEO_METHOD:
        return PerFrameFiller(method)
    return SteppedFiller(FlowVideoFiller(routes=routes, completer=completer, keyframe_filler=hidden_fill), frame_step)


def _flow_completion(name: str | os.PathLike) -> tuple[tuple[str, ...], str | None]:
    """The engine's routes and trained completer (None: the shipped one) for ``flow_completion``."""
    if str(name) in FLOW_COMPLETIONS:
        return FLOW_COMPLETIONS[str(name)], None
    if not is_checkpoint_path(name):
        raise InputError(f"unknown flow completion {str(name)!r}; choose one of: {', '.join(FLOW_COMPLETIONS)}, "
                         "or a trained flow completer (RUN or RUN/best.pt of `unseen train flow-completer`)")
    return FLOW_COMPLETIONS["learned"], str(name)


def _grown(pairs: FramesWithMasks, dilate_px: int, nothing: str) -> FramesWithMasks:
    """Dilate each mask; warn at the end (saying ``nothing``) if no frame had anything to remove, and if a
    mask took a whole frame (nothing is left around the hole to fill it from)."""
    anything, count, whole = False, 0, []
    for frame, mask in pairs:
        grown = dilate(mask, dilate_px)
        anything = anything or bool(grown.any())
        if grown.all():
            whole.append(frame.name)
        count += 1
        yield frame, grown
    if not anything:
        warn(f"{nothing}: nothing to remove, frames passed through unchanged")
    if whole:
        which = "the whole frame" if count == 1 else f"the whole frame in {len(whole)} of {count} frames " \
            f"(first: {whole[0]})"
        warn(f"the mask covers {which}: nothing is left around the hole to fill it from (is the mask inverted?)")


def train_segmenter(data: str | os.PathLike | None, run: str | os.PathLike, *, resume: bool = False,
                    **settings) -> dict[str, float]:
    """Train a segmenter on labelled images into the run folder ``run``; return its best validation scores.

    ``run/best.pt`` is then a model like the shipped ones (``model="run/best.pt"`` in :func:`segment`,
    :func:`remove` and :func:`replace_background`). Settings: what to train (``arch``, ``init``, ``classes``,
    ``coco_categories``, ``negatives``, ``size``, ``loss``, ``class_weights``, ``augment``, ``network``) and
    how (``epochs``, ``time_limit`` in minutes, ``batch``, ``lr``, ``schedule``, ``patience``, ``workers``,
    ``device``, ``seed``, ``show_progress``); see :func:`unseen.train.segmenter.train_segmenter`.
    """
    from unseen.train.segmenter import train_segmenter as train

    return train(data, run, resume=resume, **settings)


def train_inpainter(backgrounds: str | os.PathLike | None, run: str | os.PathLike, *,
                    objects: str | os.PathLike | None = None, resume: bool = False,
                    **settings) -> dict[str, float]:
    """Train a learned hole filler (``unseen train inpainter``); its run folder then works as ``method``
    in :func:`remove`. See :func:`unseen.train.inpainter.train_inpainter` for the settings."""
    from unseen.train.inpainter import train_inpainter as train

    return train(backgrounds, run, objects=objects, resume=resume, **settings)


def train_flow_completer(videos: str | os.PathLike | None, run: str | os.PathLike, *, resume: bool = False,
                         **settings) -> dict[str, float]:
    """Train the video engine's flow completer (``unseen train flow-completer``) on frame folders; its run
    folder then works as ``flow_completion`` in :func:`remove`. See
    :func:`unseen.train.flow_completer.train_flow_completer` for the settings."""
    from unseen.train.flow_completer import train_flow_completer as train

    return train(videos, run, resume=resume, **settings)


def evaluate_segmenter(data: str | os.PathLike, model: str, *, split: str = "val", classes: list[str] | None = None,
                       device: str = "cpu", show_progress: bool = False) -> dict:
    """IoU and Dice per class and their means of ``model`` (a name, run folder, ``.pt`` or ``.onnx``) on a
    split of labelled ``data``; see :func:`unseen.train.evaluate.evaluate_segmenter`."""
    from unseen.train.evaluate import evaluate_segmenter as evaluate

    return evaluate(data, model, split=split, classes=classes, device=device, show_progress=show_progress)


def evaluate_removal(case: str | os.PathLike, result: str | os.PathLike) -> dict[str, float]:
    """PSNR, hole PSNR, SSIM, detail and flicker of a removal ``result`` against the truth in ``case``;
    see :func:`unseen.inpaint.quality.score_removal`."""
    from unseen.inpaint.quality import score_removal

    return score_removal(case, result)


def export_model(checkpoint: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Write a trained segmenter as ONNX (any input size) with its JSON description beside it."""
    from unseen.train.export import export_onnx

    return export_onnx(checkpoint, output)


def batch(items: str | os.PathLike | Iterable[dict | str], out: str | os.PathLike, *, job: str | None = None,
          options: Iterable[str] = (), engine: str = "local", workers: int | None = None, threads: int | None = None,
          memory_mb: int | None = None, address: str | None = None, retries: int = 1, resume: bool = True,
          show_progress: bool = False) -> dict:
    """Run ``remove``, ``segment`` or ``background`` over many files into the folder ``out``, resumably.

    ``items`` is a manifest (``.csv`` with a header, or ``.jsonl``: one item a line, with ``input``, ``job``,
    its options as the command takes them and optionally ``output``), a folder (every image and video in
    it through ``job`` and ``options``) or a list of such dicts or input paths; see
    :mod:`unseen.batch.manifest`. ``engine``: ``local`` runs ``workers`` processes here (``threads``
    each); ``ray`` runs Ray tasks on the cluster at ``address`` (or the Ray already started in this
    process, or a new local one), reserving ``memory_mb`` per item. Items finished by an earlier run into
    ``out`` with the same input content and options are skipped unless ``resume`` is false; a failed item
    is retried ``retries`` times (bad input is not). A bad manifest is an :class:`InputError` before any
    work; a failed item is not: it is in the returned report (also ``out/report.json``), whose ``failed``
    counts them.
    """
    from unseen.batch import run_batch

    return run_batch(items, out, job=job, options=options, engine=engine, workers=workers, threads=threads,
                     memory_mb=memory_mb, address=address, retries=retries, resume=resume,
                     show_progress=show_progress)
