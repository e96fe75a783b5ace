"""The ``unseen`` command: parses arguments and calls the public API, nothing more."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import warnings

from unseen import __version__
from unseen.errors import InputError, UnseenWarning
from unseen.signals import describe, exit_quietly_on_signals, exit_status, signals_interrupt

with exit_quietly_on_signals():  # Ctrl-C while NumPy, OpenCV and PyAV load: one line, no traceback
    from unseen import api, zoo
    from unseen.progress import say
    from unseen.segment.builtins import CONFIRMED, OURS

EXIT_BAD_INPUT = 2


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Wraps one-paragraph text (descriptions) to the terminal; text laid out in lines (the epilogs'
    examples) is kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


class _Parser(argparse.ArgumentParser):
    """Reports a usage mistake as one line and exit status 2, like every other bad input."""

    def error(self, message: str) -> None:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _BatchParser(_Parser):
    """``unseen batch``: what follows the job's name (its second positional word) is that job's options,
    passed on unparsed; argparse's REMAINDER would also swallow the batch's own options before it."""

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        takes_value = {name for action in self._actions if action.option_strings and action.nargs != 0
                       for name in action.option_strings}
        index, words = 0, 0
        while index < len(args):
            if args[index] in takes_value:
                index += 2
                continue
            if not args[index].startswith("-"):
                words += 1
                if words == 2:
                    break
            index += 1
        namespace, extras = super().parse_known_args(args[:index], namespace)
        namespace.job = args[index] if index < len(args) else None
        namespace.options = args[index + 1:]
        return namespace, extras


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="unseen", description="Make objects disappear from photos and videos.")
    parser.add_argument("--version", action="version", version=f"unseen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    remove = commands.add_parser(
        "remove", help="erase masked objects from a photo, a video or a folder of frames",
        description="Erase the objects under a mask (white = remove), or every object of a class found by a "
                    "segmenter (--target), and fill in what was behind them. "
                    "INPUT and OUTPUT may each be an image (.png .jpg .webp .bmp .tif), a video "
                    "(.mp4 .mov .mkv .avi .webm: fps, frame count, size, rotation and audio are kept) or a "
                    "folder of frames (output frames keep the input names).",
        epilog="examples:\n  unseen remove photo.jpg --mask mask.png -o clean.jpg\n"
               "  unseen remove clip.mp4 --mask masks/ -o clean.mp4\n"
               "  unseen remove frames/ --mask masks/ -o clean/ --frame-format jpg\n"
               "  unseen remove street.mp4 --target car -o no-cars.mp4\n"
               "  unseen remove clip.mp4 --box 120,80,60,40 -o clean.mp4\n"
               "  unseen remove clip.mp4 --point 140,95@30 -o clean.mp4",
        formatter_class=_Formatter)
    remove.add_argument("input", metavar="INPUT", help="image, video or folder of frames")
    remove.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                        help="where to write the result; never the input itself")
    # Not required by argparse: --box and --point are sources too (the API says when none or two are given).
    source = remove.add_mutually_exclusive_group()
    source.add_argument("--mask", metavar="PATH",
                        help="one mask image for every frame, a folder of per-frame masks (matched by "
                             "name) or a mask video; non-zero pixels are removed")
    source.add_argument("--target", metavar="CLASS[,CLASS]",
                        help="remove every object of these classes, found by a segmenter in each frame "
                             "(e.g. person, car; see `unseen segment --help`)")
    _add_prompts(remove, "remove")
    _add_model(remove)
    remove.add_argument("--dilate", type=int, default=None, metavar="PX",
                        help="grow the mask by PX pixels first, to take the object's soft edge "
                             f"(default: {api.DEFAULT_DILATE} with --mask, {api.DEFAULT_TARGET_DILATE} "
                             f"with --target, {api.DEFAULT_PROMPT_DILATE} with --box/--point)")
    remove.add_argument("--method", default=api.AUTO, metavar="{" + ",".join(api.methods()) + "}|RUN",
                        help="how to fill the hole: 'flow' copies the background that other frames show "
                             "(temporally consistent, for videos); a photo filler fills each frame on its "
                             "own, as does a trained inpainter (RUN or RUN/best.pt of `unseen train "
                             "inpainter`); 'auto' (default) is 'flow' for videos and folders of frames, "
                             f"'{api.DEFAULT_FILLER}' for photos")
    remove.add_argument("--frame-step", type=int, default=1, metavar="N",
                        help="with the flow engine: process every Nth frame fully and fill the frames in "
                             "between from them (faster; default 1: every frame)")
    remove.add_argument("--flow-completion", default=api.DEFAULT_FLOW_COMPLETION,
                        metavar="{" + ",".join(api.FLOW_COMPLETIONS) + "}|RUN",
                        help="with the flow engine: how the motion behind the object is guessed: 'learned' "
                             "(unseen's trained flow completer), 'camera' (the camera's motion and the border's "
                             "carried inside) or your own (RUN of `unseen train flow-completer`) "
                             f"(default: {api.DEFAULT_FLOW_COMPLETION})")
    remove.add_argument("--hidden-fill", default=api.DEFAULT_HIDDEN_FILL,
                        metavar="{" + ",".join(api.list_fillers()) + "}|RUN",
                        help="with the flow engine: the photo filler for what no frame of the video shows "
                             f"(a trained inpainter too) (default: {api.DEFAULT_HIDDEN_FILL})")
    remove.add_argument("--frame-format", default="png", metavar="EXT",
                        help="image format of output frames when OUTPUT is a folder (default: png)")
    _add_folder(remove)
    _add_video_output(remove)
    remove.add_argument("-q", "--quiet", action="store_true", help="no progress bar or warnings")
    _add_segment(commands)
    _add_background(commands)
    _add_cutout(commands)
    _add_batch(commands)

    _add_train(commands)
    _add_evaluate(commands)
    _add_export(commands)
    _add_serve(commands)

    models = commands.add_parser(
        "models", help="list, locate or download the published model weights",
        description="Models are looked up in the folders of $UNSEEN_MODELS, then in the user cache "
                    "($UNSEEN_CACHE or ~/.cache/unseen/models); `fetch` downloads a missing one from its "
                    "official address into the cache and checks its sha256.")
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    actions.add_parser("list", help="every known model, and whether it is here")
    for action, text in (("path", "where the model's file is (no download)"), ("fetch", "download if missing")):
        actions.add_parser(action, help=text).add_argument("name", metavar="NAME", help="a name from `models list`")
    return parser


_MEDIA = ("INPUT and OUTPUT may each be an image (.png .jpg .webp .bmp .tif), a video (.mp4 .mov .mkv .avi "
          ".webm, and .gif as output: fps, frame count, size and audio are kept) or a folder of frames "
          "(output frames keep the input names).")


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="NAME|RUN|FILE",
                        help="segmenter: a name from `unseen models list`, a run folder or .pt of `unseen train "
                             "segmenter`, or an ONNX file (described by a JSON file beside it); default: the best "
                             "shipped model for the classes")
    parser.add_argument("--device", default="cpu", metavar="cpu|cuda[:N]",
                        help="where the segmenter runs (PyTorch models; default: cpu)")
    parser.add_argument("--upside-down", action="store_true",
                        help="the segmenter also looks at every frame upside down: for people in flips, "
                             "handstands or breakdance, whom it half misses otherwise (twice its time)")


def _add_prompts(parser: argparse.ArgumentParser, verb: str) -> None:
    prompts = parser.add_argument_group("objects pointed at (followed through a video, forwards and backwards)")
    prompts.add_argument("--box", action="append", metavar="X,Y,W,H[@FRAME]",
                         help=f"{verb} the object in this box (pixels) on frame FRAME (default 0); repeat for "
                              "several objects")
    prompts.add_argument("--point", action="append", metavar="X,Y[@FRAME]",
                         help=f"{verb} the object under this point on frame FRAME (default 0); repeat for several")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT", help="image, video or folder of frames")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                        help="where to write the result; never the input itself")
    _add_model(parser)
    parser.add_argument("--smoothing", type=int, default=api.DEFAULT_SMOOTHING, metavar="N",
                        help="average the segmenter's output over N frames on each side so masks do not "
                             "flicker, and keep what the last frame's mask held where the network is fairly sure "
                             f"(default: {api.DEFAULT_SMOOTHING}; 0: every frame alone)")
    parser.add_argument("--frame-format", default="png", metavar="EXT",
                        help="image format of output frames when OUTPUT is a folder (default: png)")
    _add_folder(parser)
    _add_video_output(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or warnings")


def _add_video_output(parser: argparse.ArgumentParser) -> None:
    video = parser.add_argument_group("video input and output")
    video.add_argument("--codec", metavar="NAME",
                       help="encoder of a video OUTPUT: h264, hevc, vp9, av1, prores, ffv1 or mpeg4, where this "
                            "build has it and the container holds it (default: the input's, with its bit depth, "
                            "where the container holds it; else h264, vp9 for .webm, mpeg4 for .avi)")
    video.add_argument("--crf", type=int, metavar="N",
                       help="quality of a video OUTPUT, lower is better (default: visually lossless: 17 for h264 "
                            "and hevc, 24 for vp9, 20 for av1)")
    video.add_argument("--accept-truncated", action="store_true",
                       help="use the frames of a video INPUT that stops before its declared length (a download "
                            "or copy cut short) instead of refusing it")


def _add_folder(parser: argparse.ArgumentParser) -> None:
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--sequence", dest="folder", action="store_const", const=api.SEQUENCE, default=api.AUTO,
                      help="INPUT is a folder of one video's frames (one size): smooth across them, fill "
                           "them with the video engine (default: when its images share a size and look alike)")
    kind.add_argument("--photos", dest="folder", action="store_const", const=api.PHOTOS,
                      help="INPUT is a folder of unrelated photos: each is segmented and filled on its own, "
                           "outputs keep their names (default: when their sizes differ or they look unalike)")


def _add_segment(commands) -> None:
    segment = commands.add_parser(
        "segment", help="find people, cars and other classes; write masks, overlays, contours, cut-outs",
        description="Segment the given classes in every frame and render them. " + _MEDIA,
        epilog="render kinds:\n"
               "  mask      one class: white on black; several: pixel value = class number (1, 2, ...)\n"
               "  overlay   translucent colour per class over the frame\n"
               "  contours  each class's outline in its own colour on the darkened frame\n"
               "  cutout    the objects with soft transparent edges (PNG/WebP/TIFF, .webm, .mov)\n"
               "  collage   frame | mask | object on white, side by side (a .gif works too)\n"
               "examples:\n  unseen segment clip.mp4 --classes person -o masks/\n"
               "  unseen segment street.mp4 --classes person,car --render contours -o contours.mp4\n"
               "  unseen segment clip.mp4 --classes person --render collage -o collage.gif\n"
               "  unseen segment clip.mp4 --box 120,80,60,40@12 --render overlay -o tracked.mp4",
        formatter_class=_Formatter)
    _add_common(segment)
    segment.add_argument("--classes", default="person", metavar="CLASS[,CLASS]",
                         help="what to find, e.g. person, car, bus, bicycle, dog (PASCAL VOC) or road, "
                              "building, rider, truck (Cityscapes) (default: person); an unknown name gets "
                              "the list")
    segment.add_argument("--render", default="mask", choices=api.RENDER_KINDS,
                         help="what to write (default: mask)")
    segment.add_argument("--largest", action="store_true", help="keep only the largest object of each class")
    _add_prompts(segment, "segment")


def _add_background(commands) -> None:
    background = commands.add_parser(
        "background", help="replace the background behind people",
        description="Find the people in every frame and put them on another background, with soft edges. "
                    + _MEDIA,
        epilog="examples:\n  unseen background call.mp4 --with white -o white.mp4\n"
               "  unseen background call.mp4 --with blur -o blurred.mp4\n"
               "  unseen background portrait.jpg --with '#0a6e3c' -o green.png\n"
               "  unseen background call.mp4 --with beach.jpg -o beach.mp4\n"
               "  unseen background call.mp4 --with transparent -o person.webm",
        formatter_class=_Formatter)
    _add_common(background)
    background.add_argument("--with", dest="background", default="white", metavar="BACKGROUND",
                            help="white, black, '#RRGGBB', blur (or blur:STRENGTH), transparent, an image, "
                                 "or a video or folder of frames (looped) (default: white)")


def _add_cutout(commands) -> None:
    cutout = commands.add_parser(
        "cutout", help="cut single objects out of photos, each as its own RGBA PNG",
        description="Find every object of the classes in each photo and write it on its own: an RGBA PNG "
                    "cropped to it, with soft edges and nothing of its neighbours. Objects smaller than "
                    "--min-area pixels and objects cut off by the photo's edge are left out (they make "
                    "poor material: a straight cut shows). For training pairs (unseen train inpainter), "
                    "product shots and collages.",
        epilog="examples:\n  unseen cutout street-photos/ --classes car -o cars/\n"
               "  unseen cutout team.jpg --classes person --min-area 500 -o people/", formatter_class=_Formatter)
    cutout.add_argument("input", metavar="PHOTOS", help="a photo or a folder of photos")
    cutout.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the cut-outs "
                                                                              "(PHOTO_CLASS_NN.png)")
    cutout.add_argument("--classes", default="car", help="classes to cut out, comma-separated (default: car)")
    cutout.add_argument("--min-area", type=int, default=3000, metavar="PX",
                        help="smallest object kept, in pixels (default: 3000)")
    cutout.add_argument("--keep-cut-off", action="store_true", help="also keep objects touching the edge")
    _add_model(cutout)
    cutout.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def _add_batch(commands) -> None:
    batch = commands.add_parser(
        "batch", help="run remove, segment or background over many files, resumably, here or on Ray",
        description="Run one job per file over a manifest or a folder. MANIFEST is a CSV (with a header) or "
                    "JSONL file, one item a line: input, job (remove, segment, background), its options as "
                    "the single-file command takes them (an 'options' command line, or one column or key "
                    "per option: mask, target, classes, render, with, ...), optionally an output name inside "
                    "OUT; relative paths are read from the manifest's folder. A folder instead means every "
                    "image and video in it, through the JOB and options given after it (also the default "
                    "for manifest lines without a job). Items run in worker processes (one that crashes costs "
                    "its item only) and failed ones are retried; a rerun skips the items finished before (same "
                    "input content, same options), redoes changed ones and retries failed ones. "
                    "OUT/report.json lists every item, failures first. Exit status 1 when an item failed, 2 for "
                    "a bad manifest.",
        epilog="examples:\n  unseen batch jobs.csv -o clean/\n"
               "  unseen batch videos/ -o clean/ remove --target person\n"
               "  unseen batch videos/ -o masks/ --workers 2 segment --classes car --render mask\n"
               "  unseen batch jobs.jsonl -o clean/ --engine ray --address ray://head:10001\n"
               "manifest (CSV):\n  input,job,mask,method,output\n  a.mp4,remove,a-mask.png,,a-clean.mp4\n"
               "  b.mp4,remove,b-masks/,telea,\n"
               "manifest (JSONL):\n  {\"input\": \"c.mp4\", \"job\": \"background\", \"with\": \"blur\"}\n"
               "  {\"input\": \"d.mp4\", \"job\": \"segment\", \"options\": \"--classes person,car --render "
               "contours\"}",
        formatter_class=_Formatter)
    batch.__class__ = _BatchParser  # subparsers make every command's parser of one class
    batch.add_argument("manifest", metavar="MANIFEST|FOLDER", help="a .csv or .jsonl manifest, or a folder of inputs")
    batch.add_argument("-o", "--output", required=True, metavar="OUT",
                       help="the folder for outputs, the state file and report.json")
    batch.add_argument("--engine", default="local", choices=("local", "ray"),
                       help="local: worker processes on this machine (default); ray: Ray tasks on the cluster of "
                            "--address (pip install 'unseen[ray]')")
    batch.add_argument("--workers", type=int, metavar="N",
                       help="items at a time (default: local: half the cores, at least 1; ray: as many as the "
                            "cluster's CPUs and memory hold)")
    batch.add_argument("--threads", type=int, metavar="N",
                       help="CPU threads per item (default: local: the cores shared among the workers; ray: 1)")
    batch.add_argument("--memory", type=int, metavar="MB",
                       help="with ray: memory reserved per item, so nodes are not overfilled (default: "
                            "estimated from each input's frame size)")
    batch.add_argument("--address", metavar="RAY_ADDRESS",
                       help="with ray: the cluster (auto, HOST:PORT or ray://HOST:10001; default: $RAY_ADDRESS, "
                            "else a Ray instance started on this machine)")
    batch.add_argument("--retries", type=int, default=1, metavar="N",
                       help="run a failed item up to N more times (default: 1); bad input is not retried")
    batch.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                       help="skip items finished by an earlier run into OUT (default); --no-resume redoes them all")
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary table")
    # Parsed by _BatchParser; declared for the usage line and --help.
    batch.add_argument("job", nargs="?", metavar="JOB", help="with a folder: remove, segment or background; with "
                                                             "a manifest: the job of lines that name none")
    batch.add_argument("options", nargs="*", metavar="OPTIONS",
                       help="the job's options, as its own command takes them (after JOB)")


def _add_train(commands) -> None:
    train = commands.add_parser("train", help="train your own segmenter, inpainter or flow completer",
                                description="Train networks on your data; the result is a run folder whose "
                                            "best.pt works as --model in segment, remove and background "
                                            "(a segmenter), as --method in remove (an inpainter) or as "
                                            "--flow-completion in remove (a flow completer).")
    tasks = train.add_subparsers(dest="task", required=True, metavar="TASK", parser_class=_Parser)
    segmenter = tasks.add_parser(
        "segmenter", help="per-pixel classes (people, cars, your own objects)",
        description="Train a segmenter on labelled images. DATA is a folder with images/ and masks/ (binary "
                    "masks, index PNGs, R=G=B index masks, or colour masks described by classes.json; "
                    "splits/train.txt and val.txt if present, else a seeded split), a COCO instances JSON "
                    "with its images, or frame folders of videos with a masks/ folder beside the frames. "
                    "RUN gets best.pt, last.pt, metrics.csv and curves.png. Ctrl-C keeps last.pt: "
                    "--resume RUN goes on exactly where it stopped.",
        epilog="examples:\n"
               "  unseen train segmenter camvid/ -o runs/street --init espnetv2-city --time-limit 10\n"
               "  unseen train segmenter people/ -o runs/person --classes person --size 320\n"
               "  unseen train segmenter desk/ -o runs/desk --arch unet --init none --loss bce-dice:1,0.3\n"
               "  unseen train segmenter coco/ -o runs/coco --coco-categories person --arch unet-vgg16\n"
               "  unseen train segmenter --resume runs/street --time-limit 20\n"
               "  torchrun --nproc_per_node 4 -m unseen train segmenter data/ -o runs/big --device cuda\n"
               "then:\n  unseen segment clip.mp4 --model runs/street/best.pt --classes car -o cars.mp4\n"
               "  unseen export runs/street/best.pt -o street.onnx",
        formatter_class=_Formatter)
    segmenter.add_argument("data", nargs="?", metavar="DATA", help="labelled images (optional with --resume)")
    _add_run_folder(segmenter)
    what = segmenter.add_argument_group("what to train")
    what.add_argument("--arch", metavar="NAME",
                      help="network: espnetv2 (default), deeplabv3plus (seed 003), unet (seed 004), "
                           "unet-vgg16 (seed 002) or fcn (seed 001)")
    what.add_argument("--init", metavar="MODEL|RUN",
                      help="starting weights: a published model (espnetv2-city, espnetv2-pascal, "
                           "espnetv2-pascal-s1), a run folder or .pt, or none (default: espnetv2-pascal for "
                           "espnetv2 and deeplabv3plus, none otherwise); classes it knows keep their weights")
    what.add_argument("--classes", metavar="A,B", help="train on these classes only (others become background); "
                                                         "for binary masks, the object's name")
    what.add_argument("--coco-categories", metavar="A,B", help="with COCO data: the categories to read")
    what.add_argument("--negatives", metavar="DIR[,DIR]",
                      help="folders of images (or a clip's frames) holding none of the classes: every pixel is "
                           "background, to teach what is not a class (at most 25 %% of the training images)")
    what.add_argument("--size", type=int, metavar="PX", help="longer side of the network's input (default: 384)")
    what.add_argument("--crop", type=int, metavar="PX", help="side of the square training crops, at that scale "
                                                             "(default: --size; smaller trains faster)")
    what.add_argument("--loss", metavar="NAME", help="ce, focal, bce, dice, jaccard, bce-dice, ce-dice; a sum "
                                                     "takes weights: bce-dice:1,0.3 (default: ce-dice)")
    what.add_argument("--class-weights", metavar="W,W,...", help="one loss weight per class, in class order")
    what.add_argument("--network", metavar="JSON",
                      help="architecture options, e.g. '{\"encoder_options\": {\"width\": 0.5}}' for a wider unet "
                           "or '{\"encoder\": \"vgg16\"}' for deeplabv3plus")
    what.add_argument("--augment", choices=("none", "default", "heavy"),
                      help="augmentation (default: default; heavy adds large rotations and strong shadows)")
    what.add_argument("--distill", metavar="MODEL|RUN",
                      help="keep this teacher's answers (e.g. the --init model's) where the labels name nothing: "
                           "a fine-tune then does not forget the classes its data never shows")
    what.add_argument("--distill-weight", type=float, metavar="W", help="weight of that term (default: 1)")
    _add_how_to_train(segmenter, batch=8, lr=0.001)

    inpainter = tasks.add_parser(
        "inpainter", help="a learned hole filler (GAN), on clean photos and object cut-outs",
        description="Train a mask-aware generator against a conditional PatchGAN discriminator on pairs made "
                    "on the fly: crops of the background photos (the truth, with the seed's weather and colour "
                    "augmentations) with holes shaped like the cut-outs' silhouettes (make them with `unseen "
                    "cutout`) or like free-form strokes and boxes. Loss: L1 (holes weighing more) + hinge GAN "
                    "+ a feature loss on a frozen published ESPNetv2 encoder (no VGG weights can be had "
                    "here). RUN gets best.pt (fills nearest the truth in that encoder's features on held-out pairs: a "
                    "plausible texture before a blur, a blur before a GAN's stripes), last.pt, "
                    "metrics.csv, curves.png and samples/ (holes, fills, truth per validation).",
        epilog="examples:\n"
               "  unseen cutout street-photos/ --classes car -o cars/\n"
               "  unseen train inpainter --backgrounds streets/ --objects cars/ -o runs/gan --time-limit 120\n"
               "  unseen train inpainter --resume runs/gan --time-limit 60\n"
               "then:\n  unseen remove photo.jpg --mask car.png --method runs/gan -o clean.jpg",
        formatter_class=_Formatter)
    inpainter.add_argument("--backgrounds", metavar="DIR[,DIR]", help="photos to learn from (sub-folders too)")
    inpainter.add_argument("--objects", metavar="DIR", help="RGBA cut-outs whose shapes make the holes "
                                                            "(default: free-form holes only)")
    _add_run_folder(inpainter)
    what = inpainter.add_argument_group("what to train")
    what.add_argument("--arch", choices=("unet", "seed000"),
                      help="generator: unet (default: dilated residual bottleneck, 2.6 M weights, adding to a "
                           "smooth fill of the hole) or seed000 (the seed's two-branch U-Net, 20 M)")
    what.add_argument("--size", type=int, metavar="PX", help="side of the training crops (default: 256)")
    what.add_argument("--free-form", type=float, metavar="SHARE",
                      help="share of holes that are strokes and boxes rather than silhouettes (default: 0.5)")
    what.add_argument("--adversarial", type=float, metavar="W", help="weight of the GAN term (default: 0.05)")
    what.add_argument("--features", type=float, metavar="W", help="weight of the feature term (default: 0.2; 0 "
                                                                  "trains without the ESPNetv2 weights)")
    what.add_argument("--spectral-norm", action=argparse.BooleanOptionalAction, default=None,
                      help="spectrally normalised discriminator (SN-PatchGAN; default) or instance norm")
    what.add_argument("--network", metavar="JSON", help="generator options, e.g. '{\"width\": 32}', or "
                                                        "'{\"prior\": \"none\"}' for a unet without the smooth fill")
    _add_how_to_train(inpainter, batch=4, lr=0.0002)

    completer = tasks.add_parser(
        "flow-completer", help="a learned guess of the motion behind removed objects, for the video engine",
        description="Train the video engine's flow completer, self-supervised: the optical flow of the clips' "
                    "frames (computed as the engine computes it) is the truth, holes shaped like the objects "
                    "of the clips' masks/ folders (or free-form strokes and boxes) are cut out of it, and the "
                    "network learns the flow inside from the flow around. VIDEOS: folders of frame folders "
                    "(one per clip), comma-separated; whole clips are held out for validation. RUN gets "
                    "best.pt (lowest end-point error in the holes on the held-out clips; metrics.csv also "
                    "gives the camera and border completions' errors), last.pt, metrics.csv, curves.png.",
        epilog="examples:\n"
               "  unseen train flow-completer clips/ -o runs/flow --time-limit 60\n"
               "  unseen train flow-completer clips/,more-clips/ -o runs/flow --synthetic 0.3\n"
               "  unseen train flow-completer --resume runs/flow --time-limit 30\n"
               "then:\n  unseen remove clip.mp4 --mask masks/ --flow-completion runs/flow -o clean.mp4",
        formatter_class=_Formatter)
    completer.add_argument("videos", nargs="?", metavar="VIDEOS", help="frame folders (optional with --resume)")
    _add_run_folder(completer)
    what = completer.add_argument_group("what to train")
    what.add_argument("--size", type=int, metavar="PX", help="side of the training crops on the network's grid, "
                                                             "half the engine's flow grid (default: 112)")
    what.add_argument("--synthetic", type=float, metavar="SHARE",
                      help="share of samples that are synthetic flows: object shapes moving over a camera's "
                           "motion (default: 0)")
    what.add_argument("--free-form", type=float, metavar="SHARE",
                      help="share of holes that are strokes and boxes rather than object shapes (default: 0.3)")
    what.add_argument("--network", metavar="JSON",
                      help="network options, e.g. '{\"width\": 16}'; '{\"confidence\": true}' also learns the error "
                           "to expect of each guess, which the engine uses to trust what it copies")
    what.add_argument("--init", metavar="RUN", help="start from a flow completer (a run folder or .pt; the one "
                                                    "that ships with unseen is unseen/weights/flow_completer.pt)")
    _add_how_to_train(completer, batch=16, lr=0.0003)


def _add_run_folder(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="RUN", help="the run folder to create")
    parser.add_argument("--resume", metavar="RUN", help="continue the interrupted run in RUN")


def _add_how_to_train(parser: argparse.ArgumentParser, batch: int, lr: float) -> None:
    how = parser.add_argument_group("how to train")
    how.add_argument("--epochs", type=int, metavar="N", help="passes over the data (default: until "
                                                             "--time-limit or early stopping)")
    how.add_argument("--time-limit", type=float, metavar="MINUTES", help="stop in time, keeping the best model")
    how.add_argument("--batch", type=int, metavar="N", help=f"images per step (default: {batch})")
    how.add_argument("--lr", type=float, metavar="X", help=f"AdamW learning rate (default: {lr:g})")
    how.add_argument("--schedule", choices=("plateau", "cosine"),
                     help="learning rate: cosine decay over the run (default with --epochs or --time-limit), or "
                          "halve it on a plateau (default otherwise)")
    how.add_argument("--patience", type=int, metavar="N", help="stop after N epochs without a better validation "
                                                               "score (0: never; default: 10 with plateau, never "
                                                               "with cosine)")
    how.add_argument("--workers", type=int, metavar="N", help="data-loading processes (default: 0 on the CPU, where "
                                                              "the network needs every core; 4 with --device cuda)")
    how.add_argument("--device", metavar="cpu|cuda[:N]", help="where to train (default: cpu)")
    how.add_argument("--seed", type=int, metavar="N", help="random seed (default: 0)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or epoch lines")


def _add_evaluate(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="measure a segmenter or a removal against the truth")
    kinds = evaluate.add_subparsers(dest="kind", required=True, metavar="KIND", parser_class=_Parser)
    segmenter = kinds.add_parser(
        "segmenter", help="IoU and Dice per class on labelled images",
        description="Score a segmenter (a shipped model, a run folder, a .pt or an .onnx) on a labelled "
                    "dataset (the formats `unseen train segmenter` reads), at full resolution. Its classes are "
                    "matched to the data's by name or synonym (pedestrian = person, ...).",
        epilog="example:\n  unseen evaluate segmenter camvid/ --model runs/street --split test",
        formatter_class=_Formatter)
    segmenter.add_argument("data", metavar="DATA", help="labelled images")
    segmenter.add_argument("--model", required=True, metavar="MODEL", help="model name, run folder, .pt or .onnx")
    segmenter.add_argument("--split", default="val", choices=("val", "test", "train", "all"),
                           help="which part of the data (default: val)")
    segmenter.add_argument("--classes", metavar="A,B", help="score these classes only (others: background)")
    segmenter.add_argument("--device", default="cpu", metavar="cpu|cuda[:N]", help="where the model runs")
    segmenter.add_argument("--json", action="store_true", help="print JSON instead of a table")
    segmenter.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    removal = kinds.add_parser(
        "removal", help="PSNR, SSIM, detail and flicker of a removal with known truth",
        description="Score a removal against the truth: CASE holds gt/ (true frames) and masks/ (the holes), "
                    "and case.json for a video case (flicker); RESULT is the filled frames folder or video. "
                    "detail is the sharpness inside the hole relative to the truth's (1 = as sharp).",
        epilog="example:\n  unseen remove case/input --mask case/masks -o filled/ && "
               "unseen evaluate removal case filled/",
        formatter_class=_Formatter)
    removal.add_argument("case", metavar="CASE", help="folder with gt/ and masks/")
    removal.add_argument("result", metavar="RESULT", help="filled frames (folder) or video")
    removal.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_export(commands) -> None:
    export = commands.add_parser(
        "export", help="write a trained segmenter as ONNX",
        description="Export a trained checkpoint (RUN or RUN/best.pt) as an ONNX file that takes any image "
                    "size, with a JSON file beside it describing classes and input; the pair works as "
                    "--model FILE.onnx here and in any ONNX runtime. The export is checked against PyTorch.",
        epilog="example:\n  unseen export runs/street/best.pt -o street.onnx", formatter_class=_Formatter)
    export.add_argument("checkpoint", metavar="CHECKPOINT", help="run folder or .pt file")
    export.add_argument("-o", "--output", required=True, metavar="FILE.onnx", help="where to write it")


def _add_serve(commands) -> None:
    serve = commands.add_parser(
        "serve", help="a local web app: open, point at what goes, preview, run, download",
        description="Start a web app in your browser: open a photo or video, click or box the object (followed "
                    "through the video), brush a mask or name a class, preview a few frames, run remove, "
                    "segment or background, and download the result. It listens on this machine only unless "
                    "--host says otherwise; uploads and results are kept in --folder and removed after "
                    "--keep-hours.",
        epilog="example:\n  unseen serve --open", formatter_class=_Formatter)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this "
                                                          "machine only; 0.0.0.0 opens it to the network)")
    serve.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    serve.add_argument("--open", action="store_true", help="open the page in the default browser")
    serve.add_argument("--folder", metavar="DIR", help="where uploads and jobs live (default: "
                                                       "~/.cache/unseen/serve)")
    serve.add_argument("--max-upload-mb", type=float, default=2048, help="largest upload (default: 2048)")
    serve.add_argument("--max-seconds", type=float, default=600, help="longest video (default: 600 s)")
    serve.add_argument("--keep-hours", type=float, default=24, help="results are removed after this long "
                                                                     "(default: 24)")


def _serve(args: argparse.Namespace) -> None:
    from unseen.serve import Limits, serve

    serve(args.host, args.port, args.open, args.folder,
          Limits(max_upload_mb=args.max_upload_mb, max_seconds=args.max_seconds, keep_hours=args.keep_hours))


def _train(args: argparse.Namespace) -> None:
    if args.resume and args.output and args.output != args.resume:
        raise InputError("--resume RUN continues RUN in place; leave -o out")
    run = args.resume or args.output
    if run is None:
        raise InputError("say where the run goes with -o RUN (or continue one with --resume RUN)")
    settings = {name: getattr(args, name) for name in (
        "size", "epochs", "time_limit", "batch", "lr", "schedule", "patience", "workers", "device", "seed")}
    settings["network"] = _json(args.network)
    if args.quiet:
        settings["show_progress"] = False
    if args.task == "flow-completer":
        settings.update(synthetic=args.synthetic, free_form=args.free_form, init=args.init)
        best = api.train_flow_completer(args.videos, run, resume=bool(args.resume), **settings)
        if not args.quiet:
            print(f"unseen: best end-point error in the holes {best.get('epe', float('nan')):.3f} px (camera "
                  f"{best.get('epe_camera', float('nan')):.3f}, border {best.get('epe_border', float('nan')):.3f}; "
                  f"epoch {best.get('epoch', 0):g}); use it with --flow-completion {run}", file=sys.stderr)
        return
    settings["arch"] = args.arch
    if args.task == "inpainter":
        settings.update(free_form=args.free_form, adversarial=args.adversarial, features=args.features,
                        spectral_norm=args.spectral_norm)
        best = api.train_inpainter(args.backgrounds, run, objects=args.objects, resume=bool(args.resume), **settings)
        if not args.quiet:
            print(f"unseen: best hole PSNR {best.get('psnr_hole', float('nan')):.2f} dB, detail "
                  f"{best.get('detail', float('nan')):.2f} (epoch {best.get('epoch', 0):g}); use it with "
                  f"--method {run}", file=sys.stderr)
        return
    settings.update({name: getattr(args, name) for name in ("init", "crop", "loss", "augment", "distill",
                                                            "distill_weight")})
    settings.update(classes=_split(args.classes), coco_categories=_split(args.coco_categories),
                    negatives=_split(args.negatives), class_weights=_numbers(args.class_weights, "--class-weights"))
    best = api.train_segmenter(args.data, run, resume=bool(args.resume), **settings)
    if not args.quiet:
        print(f"unseen: best mean IoU {best.get('miou', float('nan')):.4f} (epoch {best.get('epoch', 0):g}); "
              f"use it with --model {run}/best.pt", file=sys.stderr)


def _evaluate(args: argparse.Namespace) -> None:
    if args.kind == "segmenter":
        scores = api.evaluate_segmenter(args.data, args.model, split=args.split, classes=_split(args.classes),
                                        device=args.device, show_progress=not args.quiet)
    else:
        scores = api.evaluate_removal(args.case, args.result)
    if args.json:
        print(json.dumps(scores, indent=2, allow_nan=True))
    else:
        print(format_scores(scores))


def format_scores(scores: dict) -> str:
    """A readable table: the means first, then one row per class (IoU, Dice) where there are classes."""
    per_class = sorted({key.split("/", 1)[1] for key in scores if key.startswith("iou/")},
                       key=lambda name: list(scores).index(f"iou/{name}"))
    lines = [f"{key:18} {_cell(value)}" for key, value in scores.items() if "/" not in key]
    if per_class:
        lines += ["", f"{'class':18} {'IoU':>8} {'Dice':>8}"]
        lines += [f"{name:18} {_cell(scores[f'iou/{name}']):>8} {_cell(scores[f'dice/{name}']):>8}"
                  for name in per_class]
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    return str(value)


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _numbers(text: str | None, option: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"{option}: expected numbers separated by commas, got {text!r}") from None


def _json(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"--network: not valid JSON ({error.msg}): {text}") from None
    if not isinstance(value, dict):
        raise InputError(f"--network: expected a JSON object of options, got {text}")
    return value


def _models(action: str, name: str | None) -> None:
    if action == "list":
        for info in zoo.list_models():
            found = zoo.find_model(info.name)
            print(f"{info.name:20} {info.file:40} {found or 'not here'}  {info.description}")
        for name, (file, description) in OURS.items():
            print(f"{name:20} {file:40} 'in the package'  {description}")
        for name, pair in CONFIRMED.items():
            print(f"{name:20} {pair.proposer + ' + ' + pair.confirmer:40} 'combined'  {pair.description}")
    else:
        print(zoo.model_path(name, download=action == "fetch"))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, UnseenWarning):
        say(f"unseen: warning: {message}")
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def _run(args: argparse.Namespace):
    common = {"frame_format": args.frame_format, "show_progress": not args.quiet, "model": args.model,
              "device": args.device, "folder": args.folder, "codec": args.codec, "crf": args.crf,
              "accept_truncated": args.accept_truncated, "upside_down": args.upside_down}
    if args.command == "remove":
        return api.remove(args.input, args.output, mask=args.mask, target=args.target, box=args.box,
                          point=args.point, dilate_px=args.dilate,
                          method=args.method, frame_step=args.frame_step, flow_completion=args.flow_completion,
                          hidden_fill=args.hidden_fill, **common)
    if args.command == "segment":
        return api.segment(args.input, args.output, classes=args.classes, box=args.box, point=args.point,
                           render=args.render,
                           smoothing=args.smoothing, largest=args.largest, **common)
    return api.replace_background(args.input, args.output, background=args.background,
                                  smoothing=args.smoothing, **common)


_job_parser: argparse.ArgumentParser | None = None


def parse_job(job: str, input: str, output: str, options: list[str]) -> argparse.Namespace:
    """The arguments of ``unseen JOB INPUT -o OUTPUT OPTIONS... -q`` (remove, segment or background), parsed by
    the command's own parser: ``unseen batch`` reads its items' options so that they mean what they mean
    here. A mistake is an :class:`InputError` with argparse's message."""
    global _job_parser
    if job not in ("remove", "segment", "background"):
        raise InputError(f"unknown job {job!r}; choose one of: remove, segment, background")
    if _job_parser is None:  # built once: a manifest of thousands of lines is checked line by line
        _job_parser = _build_parser()
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
            return _job_parser.parse_args([job, input, "-o", output, *options, "-q"])
    except SystemExit:
        message = said.getvalue().strip().splitlines()
        raise InputError(message[-1].split("error: ", 1)[-1] if message else f"{job}: cannot use {options}") from None


def run_job(args: argparse.Namespace):
    """Run the single-file command that :func:`parse_job` parsed; returns the output path."""
    return _run(args)


def _batch(args: argparse.Namespace) -> int:
    report = api.batch(args.manifest, args.output, job=args.job, options=args.options, engine=args.engine,
                       workers=args.workers, threads=args.threads, memory_mb=args.memory, address=args.address,
                       retries=args.retries, resume=args.resume, show_progress=not args.quiet)
    if not args.quiet:
        from unseen.batch.report import summary_table

        print(summary_table(report))
    if report["failed"]:
        print(f"unseen: {report['failed']} of {report['total']} items failed (see {report['path']}); "
              "rerun the same command to retry them", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (128 + the signal's number when Ctrl-C, SIGTERM or
    SIGHUP stopped it, after its temporary output was removed)."""
    args = None
    with signals_interrupt():
        try:
            args = _build_parser().parse_args(argv)
            return _command(args)
        except KeyboardInterrupt as stop:
            print(_stopped(stop, args), file=sys.stderr)
            return exit_status(stop)


def _stopped(stop: KeyboardInterrupt, args: argparse.Namespace | None) -> str:
    """The one line said when a signal stopped the command."""
    if args is None:
        return f"unseen: {describe(stop)}"
    if args.command == "train":
        return f"unseen: {describe(stop)}; continue with --resume {args.resume or args.output}"
    if args.command == "batch":
        return f"unseen: {describe(stop)}; finished items are kept: rerun the same command to go on"
    return f"unseen: {describe(stop)}; no output written"


def _command(args: argparse.Namespace) -> int:
    warnings.showwarning = _show_warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if getattr(args, "quiet", False) else "default", UnseenWarning)
        try:
            if args.command == "models":
                _models(args.action, getattr(args, "name", None))
            elif args.command == "train":
                _train(args)
            elif args.command == "evaluate":
                _evaluate(args)
            elif args.command == "batch":
                return _batch(args)
            elif args.command == "export":
                print(api.export_model(args.checkpoint, args.output))
            elif args.command == "serve":
                _serve(args)
            elif args.command == "cutout":
                written = api.cutout(args.input, args.output, classes=args.classes, model=args.model,
                                     min_area=args.min_area, keep_cut_off=args.keep_cut_off, device=args.device,
                                     upside_down=args.upside_down, show_progress=not args.quiet)
                if not args.quiet:
                    print(f"unseen: wrote {len(written)} cut-out(s) to {args.output}", file=sys.stderr)
            else:
                result = _run(args)
                if not args.quiet:
                    print(f"unseen: wrote {result}", file=sys.stderr)
        except InputError as error:
            print(f"unseen: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
