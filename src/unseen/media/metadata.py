"""A photo's EXIF and colour profile (ICC), read from its file and written into the output's.

OpenCV neither reads nor writes them, so they travel beside the pixels: Pillow reads them from the
header, and they are put into the encoded bytes as the formats define it (JPEG APP1/APP2 segments,
PNG ``eXIf``/``iCCP`` chunks, WebP ``EXIF``/``ICCP`` chunks), so the pixels stay OpenCV's encoding.
TIFF and BMP outputs do not get them.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import warnings
import zlib
from pathlib import Path

from PIL import Image

EXIF_ORIENTATION = 0x0112
_EXIF_PREFIX = b"Exif\x00\x00"
_ICC_MARKER = b"ICC_PROFILE\x00"
_JPEG_SEGMENT = 65533  # the most a JPEG segment holds after its length field
KEEPS_METADATA = (".jpg", ".jpeg", ".png", ".webp")


@dataclasses.dataclass(frozen=True)
class PhotoMetadata:
    """What a photo file says about itself beyond its pixels.

    ``exif`` is the TIFF-structured EXIF block (without the ``Exif\\0\\0`` prefix), its orientation set
    to 1 since the pixels are read upright; ``icc`` is the colour profile.
    """

    exif: bytes | None = None
    icc: bytes | None = None


def read_metadata(path: str | os.PathLike) -> PhotoMetadata | None:
    """The EXIF and ICC profile of an image file; ``None`` when it has neither or cannot say."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(Path(path)) as image:
                # PNG: only what comes before the pixels, so the header alone is read.
                raw, icc = image.info.get("exif"), image.info.get("icc_profile")
    except Exception:  # a damaged header: the decoder says what is wrong
        return None
    exif = _upright_exif(raw) if raw else None
    return PhotoMetadata(exif, icc or None) if exif or icc else None


def _upright_exif(raw: bytes) -> bytes | None:
    tiff = raw[len(_EXIF_PREFIX):] if raw.startswith(_EXIF_PREFIX) else raw
    exif = Image.Exif()
    try:
        exif.load(_EXIF_PREFIX + tiff)
    except Exception:
        return None
    if exif.get(EXIF_ORIENTATION, 1) == 1:
        return tiff  # as the camera wrote it, byte for byte
    exif[EXIF_ORIENTATION] = 1  # the pixels are written turned upright
    return exif.tobytes()[len(_EXIF_PREFIX):]


def embed_metadata(data: bytes, suffix: str, metadata: PhotoMetadata | None) -> bytes:
    """``data`` (an encoded image in the format of ``suffix``) with ``metadata`` put in."""
    if metadata is None:
        return data
    suffix = suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return _jpeg(data, metadata)
    if suffix == ".png":
        return _png(data, metadata)
    if suffix == ".webp":
        return _webp(data, metadata)
    return data


def _jpeg(data: bytes, metadata: PhotoMetadata) -> bytes:
    segments = []
    if metadata.exif and len(metadata.exif) + len(_EXIF_PREFIX) <= _JPEG_SEGMENT:
        segments.append(_jpeg_segment(0xE1, _EXIF_PREFIX + metadata.exif))
    if metadata.icc:
        step = _JPEG_SEGMENT - len(_ICC_MARKER) - 2
        parts = [metadata.icc[i:i + step] for i in range(0, len(metadata.icc), step)]
        if len(parts) < 256:
            segments += [_jpeg_segment(0xE2, _ICC_MARKER + bytes([n + 1, len(parts)]) + part)
                         for n, part in enumerate(parts)]
    # After the start marker and the JFIF segment OpenCV writes, where readers look for them.
    at = 2
    if data[2:4] == b"\xff\xe0":
        at = 4 + struct.unpack(">H", data[4:6])[0]
    return data[:at] + b"".join(segments) + data[at:]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _png(data: bytes, metadata: PhotoMetadata) -> bytes:
    chunks = b""
    if metadata.icc:
        chunks += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(metadata.icc))
    if metadata.exif:
        chunks += _png_chunk(b"eXIf", metadata.exif)
    at = 8 + 8 + 13 + 4  # signature, then IHDR (length, type, 13 bytes, CRC): both must come before
    return data[:at] + chunks + data[at:]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _webp(data: bytes, metadata: PhotoMetadata) -> bytes:
    chunks = _riff_chunks(data[12:])
    if chunks and chunks[0][0] == b"VP8X":
        flags, canvas = chunks[0][1][0], chunks[0][1][4:10]
        chunks = chunks[1:]
    else:  # a simple file: its one image chunk says the canvas size
        flags, canvas = 0, _webp_canvas(chunks[0][0], chunks[0][1])
        if chunks[0][0] == b"VP8L" and chunks[0][1][4] & 0x10:
            flags |= 0x10  # lossless with alpha
    head, tail = [], []
    if metadata.icc:
        flags |= 0x20
        head.append((b"ICCP", metadata.icc))
    if metadata.exif:
        flags |= 0x08
        tail.append((b"EXIF", metadata.exif))
    vp8x = (b"VP8X", bytes([flags, 0, 0, 0]) + canvas)
    body = b"WEBP" + b"".join(_riff_chunk(kind, payload) for kind, payload in [vp8x, *head, *chunks, *tail])
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, at = [], 0
    while at + 8 <= len(data):
        size = struct.unpack("<I", data[at + 4:at + 8])[0]
        chunks.append((data[at:at + 4], data[at + 8:at + 8 + size]))
        at += 8 + size + (size & 1)
    return chunks


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")


def _webp_canvas(kind: bytes, payload: bytes) -> bytes:
    """Canvas width and height less one, 24 bits each, from a VP8 or VP8L chunk."""
    if kind == b"VP8L":
        bits = int.from_bytes(payload[1:5], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        width, height = (size & 0x3FFF for size in struct.unpack("<HH", payload[6:10]))
    return (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
