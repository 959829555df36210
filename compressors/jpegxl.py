"""JPEG XL through imagecodecs/libjxl. Levels are Butteraugli distances (1.0 ≈ visually lossless) or
``"lossless"``, which defines the original format. Effort is pinned by the benchmark config."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import imagecodecs
import numpy as np

from storagebench.compressors.protocol import ImageCodec, Level
from storagebench.compressors.registry import COMPRESSORS

MAX_DISTANCE = 25.0  # libjxl's limit


@dataclass(frozen=True)
class JpegXlParams:
    effort: int = 7

    def check(self) -> str | None:
        return None if 1 <= self.effort <= 9 else f"effort must be 1..9, got {self.effort}"


@COMPRESSORS.register("jpegxl")
class JpegXl(ImageCodec):
    """JPEG XL (libjxl via imagecodecs); levels are Butteraugli distances or "lossless"."""

    Params = JpegXlParams
    version = "1"
    original_level = "lossless"

    def parse_level(self, value: Any) -> Level:
        if value == "lossless":
            return "lossless"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_DISTANCE:
            return float(value)
        raise ValueError(f"JPEG XL levels are Butteraugli distances in (0, {MAX_DISTANCE:g}] or \"lossless\", "
                         f"got {value!r}")

    def encode(self, image: np.ndarray, level: Level) -> bytes:
        # One thread per call: the store runs one encoder per core, which beats libjxl's threads on small images.
        if level == "lossless":
            return imagecodecs.jpegxl_encode(image, lossless=True, effort=self.params.effort, numthreads=1)
        return imagecodecs.jpegxl_encode(image, distance=float(level), effort=self.params.effort, numthreads=1)

    def decode(self, data: bytes, level: Level) -> np.ndarray:
        return imagecodecs.jpegxl_decode(data, numthreads=1)

    def library_versions(self) -> dict[str, str]:
        return {"imagecodecs": imagecodecs.__version__, "libjxl": imagecodecs.jpegxl_version()}
