"""Compressors: image codecs (image + level → bytes → image) registered by name."""
from storagebench.compressors import (  # noqa: F401  (registers built-ins)
    downscale, jpegxl, jpegxl_butteraugli, learned, pillow_codecs, png, randomized)
from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level, level_label
from storagebench.compressors.registry import COMPRESSORS

__all__ = ["COMPRESSORS", "LOSSLESS", "ImageCodec", "Level", "level_label"]
