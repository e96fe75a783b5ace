"""Media in and out: images, videos (timing, rotation and audio kept) and folders of frames."""

from unseen.media.clip import Clip, clip_writer, media_kind, open_clip
from unseen.media.frame import Frame
from unseen.media.image import IMAGE_SUFFIXES, read_gray, read_image, write_image
from unseen.media.video import VIDEO_SUFFIXES, VideoInfo, VideoReader, VideoWriter

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "Clip", "Frame", "VideoInfo", "VideoReader", "VideoWriter",
           "clip_writer", "media_kind", "open_clip", "read_gray", "read_image", "write_image"]
