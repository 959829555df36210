"""JPEG XL through imagecodecs/libjxl. Levels are Butteraugli distances (1.0 ≈ visually lossless) or
``"lossless"``, which defines the original format. Effort is pinned by the benchmark config."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import imagecodecs
import numpy as np

from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level, check_number
from storagebench.compressors.registry import COMPRESSORS

MAX_DISTANCE = 25.0  # libjxl's limit


@dataclass(frozen=True)
class JpegXlParams:
    effort: int = 7

    def check(self) -> str | None:
        return None if 1 <= self.effort <= 9 else f"effort must be 1..9, got {self.effort}"


def jxl_encode(image: np.ndarray, distance: Level, effort: int) -> bytes:
    # One thread per call: the store runs one encoder per core, which beats libjxl's threads on small images.
    if distance == LOSSLESS:
        return imagecodecs.jpegxl_encode(image, lossless=True, effort=effort, numthreads=1)
    return imagecodecs.jpegxl_encode(image, distance=float(distance), effort=effort, numthreads=1)


def jxl_decode(data: bytes) -> np.ndarray:
    return imagecodecs.jpegxl_decode(data, numthreads=1)


def jxl_versions() -> dict[str, str]:
    return {"imagecodecs": imagecodecs.__version__, "libjxl": imagecodecs.jpegxl_version()}


@COMPRESSORS.register("jpegxl")
class JpegXl(ImageCodec):
    """JPEG XL (libjxl via imagecodecs); levels are Butteraugli distances or "lossless"."""

    Params = JpegXlParams
    version = "1"
    default_levels = (LOSSLESS, 1.0, 2.0, 4.0, 7.0, 10.0, 15.0)  # the paper's grid
    default_test_levels = (LOSSLESS, 15.0)
    level_range = (0.5, MAX_DISTANCE)

    def parse_level(self, value: Any) -> Level:
        return check_number(value, 0, MAX_DISTANCE, "JPEG XL levels are Butteraugli distances", low_open=True)

    def encode(self, image: np.ndarray, level: Level) -> bytes:
        return jxl_encode(image, level, self.params.effort)

    def decode(self, data: bytes, level: Level) -> np.ndarray:
        return jxl_decode(data)

    def library_versions(self) -> dict[str, str]:
        return jxl_versions()
