"""Which encoder writes a video, with which pixel format and quality.

The user's choice (``codec``, ``crf``) comes first; otherwise the input's codec family and bit depth are kept
where the output container holds them and this build of FFmpeg has the encoder, and the container's default
(H.264, VP9 for WebM, MPEG-4 Part 2 for AVI) is used for everything else.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import av

from unseen.errors import InputError, warn

# Codec families users name, and the encoders that write them, preferred first.
FAMILY_ENCODERS: dict[str, tuple[str, ...]] = {
    "h264": ("libx264",),
    "hevc": ("libx265",),
    "vp9": ("libvpx-vp9",),
    "av1": ("libsvtav1", "libaom-av1"),
    "prores": ("prores_ks",),
    "ffv1": ("ffv1",),
    "mpeg4": ("mpeg4",),
}
# What each container holds, its default first. MPEG-4 Part 2 is the default only where nothing newer plays
# everywhere (AVI); as an input it is not kept elsewhere, H.264 is better at the same size.
CONTAINER_FAMILIES: dict[str, tuple[str, ...]] = {
    ".mp4": ("h264", "hevc", "av1", "vp9", "mpeg4"),
    ".m4v": ("h264", "hevc", "mpeg4"),
    ".mov": ("h264", "hevc", "prores", "mpeg4"),
    ".mkv": ("h264", "hevc", "vp9", "av1", "prores", "ffv1", "mpeg4"),
    ".webm": ("vp9", "av1"),
    ".avi": ("mpeg4", "h264", "ffv1"),
}
_KEPT_FAMILIES = ("h264", "hevc", "vp9", "av1", "prores", "ffv1")
# Transparency: VP9 with alpha in WebM (what browsers play), ProRes 4444 in QuickTime (what editors expect).
ALPHA_FAMILY = {".webm": "vp9", ".mov": "prores"}
# (default CRF, largest CRF), visually lossless. PSNR outside the hole on real footage (bench/fidelity.py, 972x540
# H.264 in): x264 17 45.7 dB, x265 17 44.2 dB (45.6 dB on 10-bit input, where x264 17 gives 46.0 dB in a sixth
# more space), VP9 24 43.3 dB, SVT-AV1 20 43.0 dB.
_CRF = {"libx264": (17, 51), "libx265": (17, 51), "libvpx-vp9": (24, 63), "libsvtav1": (20, 63),
        "libaom-av1": (20, 63)}
_OPTIONS = {
    "libx264": {"preset": "medium"},
    # x265 and SVT-AV1 print banners on stderr unless told otherwise.
    "libx265": {"preset": "medium", "x265-params": "log-level=error"},
    "libvpx-vp9": {"b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},
    "libsvtav1": {"preset": "8"},
    "libaom-av1": {"b": "0", "cpu-used": "6", "row-mt": "1"},
    "mpeg4": {"qscale": "2"},
}
_PRORES_PROFILE = {"yuv422p10le": "hq", "yuv444p10le": "4444", "yuva444p10le": "4444"}


@dataclasses.dataclass(frozen=True)
class Encoder:
    """The encoder picked for an output: its FFmpeg name, family and CRF (``None``: it has none)."""

    name: str
    family: str
    crf: int | None

    def options(self, pix_fmt: str) -> dict[str, str]:
        """FFmpeg options for this encoder writing ``pix_fmt``."""
        options = dict(_OPTIONS.get(self.name, {}))
        if self.crf is not None:
            options["crf"] = str(self.crf)
        if self.name == "prores_ks":
            options["profile"] = _PRORES_PROFILE.get(pix_fmt, "hq")
        if self.name == "libsvtav1":
            os.environ.setdefault("SVT_LOG", "1")  # errors only; read when the encoder starts
        return options


@functools.cache
def available_encoder(family: str) -> str | None:
    """The first encoder of ``family`` this build of FFmpeg has, or ``None``."""
    for name in FAMILY_ENCODERS.get(family, ()):
        try:
            av.Codec(name, "w")
        except (av.error.FFmpegError, ValueError):
            continue
        return name
    return None


def available_families() -> list[str]:
    """Codec families this build can write (what ``--codec`` takes)."""
    return [family for family in FAMILY_ENCODERS if available_encoder(family)]


def family_of(codec_name: str | None) -> str | None:
    """The family of a decoder's codec name (``h264``, ``hevc``, ``libdav1d`` ...), or ``None``."""
    aliases = {"libdav1d": "av1", "libaom-av1": "av1", "libvpx-vp9": "vp9"}
    name = aliases.get(codec_name, codec_name)
    return name if name in FAMILY_ENCODERS else None


def choose_encoder(path: os.PathLike | str, codec: str | None = None, crf: int | None = None,
                   source_codec: str | None = None, alpha: bool = False) -> Encoder:
    """The encoder for a video written to ``path``; ``InputError`` for a codec or CRF that cannot be used.

    Parameters
    ----------
    path
        The output; its extension says what the container holds.
    codec
        A family the user asked for (``h264``, ``hevc``, ``vp9``, ``av1``, ``prores``, ``ffv1``, ``mpeg4``).
    crf
        The quality the user asked for (lower is better), for encoders that have a CRF.
    source_codec
        The input video's codec, whose family is kept where possible.
    alpha
        Whether the frames carry transparency.
    """
    suffix = os.path.splitext(str(path))[1].lower()
    holds = CONTAINER_FAMILIES.get(suffix, ("h264",))
    family = _requested(suffix, codec, holds, alpha) if codec else _kept(suffix, holds, source_codec, alpha)
    name = available_encoder(family)
    return Encoder(name, family, _crf(name, crf))


def _requested(suffix: str, codec: str, holds: tuple[str, ...], alpha: bool) -> str:
    family = codec.lower()
    family = {"h265": "hevc", "avc": "h264", "x264": "h264", "x265": "hevc"}.get(family, family)
    choices = available_families()
    if family not in choices:
        raise InputError(f"unknown or unavailable codec {codec!r}; this build can write: {', '.join(choices)}")
    if alpha and ALPHA_FAMILY.get(suffix, family) != family:
        raise InputError(f"{family} cannot keep transparency in a {suffix} file; use --codec {ALPHA_FAMILY[suffix]}")
    if family not in holds:
        usable = [f for f in holds if f in choices]
        raise InputError(f"a {suffix or 'video'} file cannot hold {family}; choose one of {', '.join(usable)}")
    return family


def _kept(suffix: str, holds: tuple[str, ...], source_codec: str | None, alpha: bool) -> str:
    if alpha and suffix in ALPHA_FAMILY:
        return ALPHA_FAMILY[suffix]
    usable = [family for family in holds if available_encoder(family)]
    if not usable:
        raise InputError(f"this build of FFmpeg can write nothing a {suffix} file holds ({', '.join(holds)})")
    source = family_of(source_codec)
    if source in _KEPT_FAMILIES and source in holds:
        if source in usable:
            return source
        warn(f"this build of FFmpeg has no {source} encoder ({', '.join(FAMILY_ENCODERS[source])}); "
             f"writing {usable[0]} instead")
    return usable[0]


def _crf(encoder: str, crf: int | None) -> int | None:
    if encoder not in _CRF:
        if crf is not None:
            raise InputError(f"--crf does not apply to {encoder} (it has a fixed quality); leave it out")
        return None
    default, largest = _CRF[encoder]
    if crf is None:
        return default
    if not 0 <= crf <= largest:
        raise InputError(f"--crf must be between 0 and {largest} for {encoder}, got {crf}")
    return crf


def pixel_format(encoder: Encoder, source: str | None, alpha: bool, size: tuple[int, int]) -> str:
    """The pixel format to encode: the source's bit depth and chroma where the encoder and the frame size allow.

    ``size`` is the stored ``(width, height)``: 4:2:0 needs even sides and 4:2:2 an even width, so odd sizes
    get fuller chroma. A lower bit depth than the source's is said in a warning.
    """
    formats = _formats(encoder.name)
    if alpha:
        return next(f for f in ("yuva420p", "yuva444p10le", "rgba") if f in formats)
    bits, chroma = _bits(source), _CHROMA.index(_chroma(source))
    usable = [f for f in formats if _is_plain_yuv(f) and _fits(f, size)]
    if not usable:
        return formats[0]  # MPEG-4 Part 2 takes only 4:2:0, and odd sizes with it

    def cost(name: str) -> tuple:
        depth, fullness = _bits(name), _CHROMA.index(_chroma(name))
        return depth < bits, fullness < chroma, abs(depth - bits), abs(fullness - chroma)

    chosen = min(usable, key=cost)
    if _bits(chosen) < bits:
        warn(f"the input is {bits}-bit; {encoder.name} writes {_bits(chosen)}-bit here")
    return chosen


def fits_size(encoder: Encoder, size: tuple[int, int]) -> bool:
    """Whether ``encoder`` can take frames of ``size``: x265 corrupts its heap on 4:4:4 frames this small
    (measured: 48x22 and 40x24 crash, 56x24 and 64x22 do not), and odd sizes need 4:4:4."""
    small = size[0] < 64 and size[1] < 32
    return not (encoder.name == "libx265" and small)


_CHROMA = ("420", "422", "444")


@functools.cache
def _formats(encoder: str) -> tuple[str, ...]:
    return tuple(f.name for f in av.Codec(encoder, "w").video_formats or ())


def _is_plain_yuv(name: str) -> bool:
    return name.startswith("yuv") and not name.startswith(("yuvj", "yuva")) and _chroma(name) in _CHROMA


def _fits(name: str, size: tuple[int, int]) -> bool:
    chroma = _chroma(name)
    return chroma == "444" or (size[0] % 2 == 0 and (chroma == "422" or size[1] % 2 == 0))


@functools.cache
def _bits(name: str | None) -> int:
    if not name:
        return 8
    try:
        return max(component.bits for component in av.VideoFormat(name).components)
    except (ValueError, av.error.FFmpegError):
        return 8


@functools.cache
def _chroma(name: str | None) -> str:
    """``420``, ``422`` or ``444`` (or ``other``) for a pixel format name; ``420`` when unknown."""
    if not name:
        return "420"
    try:
        video_format = av.VideoFormat(name, 16, 16)
    except (ValueError, av.error.FFmpegError):
        return "420"
    width, height = video_format.chroma_width(), video_format.chroma_height()
    return {(16, 16): "444", (8, 16): "422", (8, 8): "420"}.get((width, height), "other")
