"""Compressors: image codecs (image + level → bytes → image) registered by name."""
from storagebench.compressors import downscale, jpegxl, pillow_codecs, png  # noqa: F401  (registers built-ins)
from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level, level_label
from storagebench.compressors.registry import COMPRESSORS

__all__ = ["COMPRESSORS", "LOSSLESS", "ImageCodec", "Level", "level_label"]
