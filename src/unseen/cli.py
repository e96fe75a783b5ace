"""The ``unseen`` command: parses arguments and calls the public API, nothing more."""

from __future__ import annotations

import argparse
import sys
import warnings

from unseen import __version__, api, zoo
from unseen.errors import InputError, UnseenWarning

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
               "  unseen remove street.mp4 --target car -o no-cars.mp4",
        formatter_class=_Formatter)
    remove.add_argument("input", metavar="INPUT", help="image, video or folder of frames")
    remove.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                        help="where to write the result; never the input itself")
    source = remove.add_mutually_exclusive_group(required=True)
    source.add_argument("--mask", metavar="PATH",
                        help="one mask image for every frame, a folder of per-frame masks (matched by "
                             "name) or a mask video; non-zero pixels are removed")
    source.add_argument("--target", metavar="CLASS[,CLASS]",
                        help="remove every object of these classes, found by a segmenter in each frame "
                             "(e.g. person, car; see `unseen segment --help`)")
    _add_model(remove)
    remove.add_argument("--dilate", type=int, default=None, metavar="PX",
                        help="grow the mask by PX pixels first, to take the object's soft edge "
                             f"(default: {api.DEFAULT_DILATE} with --mask, {api.DEFAULT_TARGET_DILATE} "
                             "with --target)")
    remove.add_argument("--method", default=api.AUTO, choices=api.methods(),
                        help="how to fill the hole: 'flow' copies the background that other frames show "
                             "(temporally consistent, for videos); a photo filler fills each frame on its "
                             "own; 'auto' (default) is 'flow' for videos and folders, "
                             f"'{api.DEFAULT_FILLER}' for a photo")
    remove.add_argument("--frame-step", type=int, default=1, metavar="N",
                        help="with the flow engine: process every Nth frame fully and fill the frames in "
                             "between from them (faster; default 1: every frame)")
    remove.add_argument("--frame-format", default="png", metavar="EXT",
                        help="image format of output frames when OUTPUT is a folder (default: png)")
    remove.add_argument("-q", "--quiet", action="store_true", help="no progress bar or warnings")
    _add_segment(commands)
    _add_background(commands)

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
    parser.add_argument("--model", metavar="NAME|FILE.onnx",
                        help="segmenter: a name from `unseen models list` or an ONNX file (described by a "
                             "JSON file beside it); default: the best shipped model for the classes")
    parser.add_argument("--device", default="cpu", metavar="cpu|cuda[:N]",
                        help="where the segmenter runs (PyTorch models; default: cpu)")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT", help="image, video or folder of frames")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                        help="where to write the result; never the input itself")
    _add_model(parser)
    parser.add_argument("--smoothing", type=int, default=api.DEFAULT_SMOOTHING, metavar="N",
                        help="average the segmenter's output over N frames on each side so masks do not "
                             f"flicker (default: {api.DEFAULT_SMOOTHING}; 0: every frame alone)")
    parser.add_argument("--frame-format", default="png", metavar="EXT",
                        help="image format of output frames when OUTPUT is a folder (default: png)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or warnings")


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
               "  unseen segment clip.mp4 --classes person --render collage -o collage.gif",
        formatter_class=_Formatter)
    _add_common(segment)
    segment.add_argument("--classes", default="person", metavar="CLASS[,CLASS]",
                         help="what to find, e.g. person, car, bus, bicycle, dog (PASCAL VOC) or road, "
                              "building, rider, truck (Cityscapes) (default: person); an unknown name gets "
                              "the list")
    segment.add_argument("--render", default="mask", choices=api.RENDER_KINDS,
                         help="what to write (default: mask)")
    segment.add_argument("--largest", action="store_true", help="keep only the largest object of each class")


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


def _models(action: str, name: str | None) -> None:
    if action == "list":
        for info in zoo.list_models():
            found = zoo.find_model(info.name)
            print(f"{info.name:20} {info.file:40} {found or 'not here'}  {info.description}")
    else:
        print(zoo.model_path(name, download=action == "fetch"))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, UnseenWarning):
        print(f"unseen: warning: {message}", file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def _run(args: argparse.Namespace):
    common = {"frame_format": args.frame_format, "show_progress": not args.quiet, "model": args.model,
              "device": args.device}
    if args.command == "remove":
        return api.remove(args.input, args.output, mask=args.mask, target=args.target, dilate_px=args.dilate,
                          method=args.method, frame_step=args.frame_step, **common)
    if args.command == "segment":
        return api.segment(args.input, args.output, classes=args.classes, render=args.render,
                           smoothing=args.smoothing, largest=args.largest, **common)
    return api.replace_background(args.input, args.output, background=args.background,
                                  smoothing=args.smoothing, **common)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if getattr(args, "quiet", False) else "default", UnseenWarning)
        try:
            if args.command == "models":
                _models(args.action, getattr(args, "name", None))
            else:
                result = _run(args)
                if not args.quiet:
                    print(f"unseen: wrote {result}", file=sys.stderr)
        except InputError as error:
            print(f"unseen: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print("unseen: interrupted; no output written", file=sys.stderr)
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
