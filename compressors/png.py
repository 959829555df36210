"""PNG: lossless storage. Also the "lossless" level of codecs without a lossless mode of their own (JPEG, AVIF,
downscaling, learned codecs), so every codec's original format is a real lossless bitstream."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import imagecodecs
import numpy as np

from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level
from storagebench.compressors.registry import COMPRESSORS


def png_encode(image: np.ndarray, level: int = 9) -> bytes:
    return imagecodecs.png_encode(image, level=level)


def png_decode(data: bytes) -> np.ndarray:
    return imagecodecs.png_decode(data)


@dataclass(frozen=True)
class PngParams:
    compression: int = 9  # zlib level: changes the bytes, never the pixels

    def check(self) -> str | None:
        return None if 0 <= self.compression <= 9 else f"compression must be 0..9, got {self.compression}"


@COMPRESSORS.register("png")
class Png(ImageCodec):
    """PNG (zlib), lossless only: the one level is "lossless"."""

    Params = PngParams
    default_levels = (LOSSLESS,)
    default_test_levels = (LOSSLESS,)

    def parse_level(self, value: Any) -> Level:
        if value == LOSSLESS:
            return LOSSLESS
        raise ValueError(f'PNG has one level, "lossless", got {value!r}')

    def encode(self, image: np.ndarray, level: Level) -> bytes:
        return png_encode(image, self.params.compression)

    def decode(self, data: bytes, level: Level) -> np.ndarray:
        return png_decode(data)

    def library_versions(self) -> dict[str, str]:
        return {"imagecodecs": imagecodecs.__version__, "libpng": imagecodecs.png_version(), "zlib": imagecodecs.zlib_version()}
