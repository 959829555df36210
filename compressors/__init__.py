"""Compressors: image codecs (image + level → bytes → image) registered by name."""
from storagebench.compressors import jpegxl  # noqa: F401  (registers built-ins)
from storagebench.compressors.protocol import ImageCodec, Level, level_label
from storagebench.compressors.registry import COMPRESSORS

__all__ = ["COMPRESSORS", "ImageCodec", "Level", "level_label"]
