"""Downscale then store: resolution is the knob. An image is resized to ``scale`` × its side lengths, stored
losslessly as PNG after a 4-byte header with the original height and width (counted like the rest), and resized
back to the original size for training."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import PIL
from PIL import Image

from storagebench.compressors.png import png_decode, png_encode
from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level, check_number
from storagebench.compressors.registry import COMPRESSORS

FILTERS = {"box": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR,
           "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
HEADER = struct.Struct(">HH")


@dataclass(frozen=True)
class DownscaleParams:
    down: str = "box"  # area averaging: the least aliasing for integer-ish factors
    up: str = "bicubic"

    def check(self) -> str | None:
        bad = [f"{key} must be one of {', '.join(FILTERS)}, got {value!r}" for key, value in
               (("down", self.down), ("up", self.up)) if value not in FILTERS]
        return bad[0] if bad else None


def _resize(image: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((width, height), FILTERS[method]))


@COMPRESSORS.register("downscale")
class Downscale(ImageCodec):
    """Downscale by a factor, store as PNG, upsample back; levels are scales in (0, 1) or "lossless"."""

    Params = DownscaleParams
    default_levels = (LOSSLESS, 0.85, 0.7, 0.5, 0.35, 0.25)
    default_test_levels = (LOSSLESS, 0.25)
    level_range = (0.1, 0.95)
    larger_is_smaller = False

    def parse_level(self, value: Any) -> Level:
        level = check_number(value, 0, 1, "downscale levels are scale factors", low_open=True)
        if level == 1.0:
            raise ValueError('downscale level 1 is the original size: write "lossless"')
        return level

    def encode(self, image: np.ndarray, level: Level) -> bytes:
        height, width = image.shape[:2]
        if level == LOSSLESS:
            return HEADER.pack(height, width) + png_encode(image)
        small = _resize(image, max(1, round(height * float(level))), max(1, round(width * float(level))),
                        self.params.down)
        return HEADER.pack(height, width) + png_encode(small)

    def decode(self, data: bytes, level: Level) -> np.ndarray:
        height, width = HEADER.unpack_from(data)
        small = png_decode(data[HEADER.size:])
        return small if small.shape[:2] == (height, width) else _resize(small, height, width, self.params.up)

    def library_versions(self) -> dict[str, str]:
        import imagecodecs

        return {"pillow": PIL.__version__, "imagecodecs": imagecodecs.__version__}
