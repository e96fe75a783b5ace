"""Media in and out: images, videos (timing, rotation and audio kept) and folders of frames."""

from unseen.media.clip import Clip, clip_writer, media_kind, open_clip
from unseen.media.frame import Frame
from unseen.media.image import (
    ALPHA_IMAGE_SUFFIXES,
    ALPHA_VIDEO_SUFFIXES,
    IMAGE_SUFFIXES,
    check_transparency,
    read_gray,
    read_image,
    write_image,
)
from unseen.media.video import GIF_MAX_FPS, GIF_MAX_SIDE, VIDEO_SUFFIXES, VideoInfo, VideoReader, VideoWriter

__all__ = ["ALPHA_IMAGE_SUFFIXES", "ALPHA_VIDEO_SUFFIXES", "GIF_MAX_FPS", "GIF_MAX_SIDE", "IMAGE_SUFFIXES",
           "VIDEO_SUFFIXES", "Clip", "Frame", "VideoInfo", "VideoReader", "VideoWriter", "check_transparency",
           "clip_writer", "media_kind", "open_clip", "read_gray", "read_image", "write_image"]
