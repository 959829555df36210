"""JPEG XL through imagecodecs/libjxl. Levels are Butteraugli distances (1.0 ≈ visually lossless) or
``"lossless"``, which defines the original format. Effort is pinned by the benchmark config.

``original_jpeg = "transcode"`` makes the original format of images read from JPEG files what the paper used for
Food101: libjxl's lossless transcoding of the JPEG file itself (``jpegxl_encode_jpeg``: its DCT coefficients, a
little smaller than the JPEG) rather than lossless JPEG XL of its decoded pixels (over twice as large on
the stand-in JPEGs of ``tests/test_paper_configs.py``). It decodes back to the JPEG's exact bytes
(``jpegxl_decode_jpeg``), and those to the pixels every other path reads (Pillow), so the lossless level still trains
on exactly the source pixels. Lossy levels always encode the decoded pixels."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import imagecodecs
import numpy as np
from PIL import Image

from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level, check_number
from storagebench.compressors.registry import COMPRESSORS

MAX_DISTANCE = 25.0  # libjxl's limit


@dataclass(frozen=True)
class JpegXlParams:
    effort: int = 7
    original_jpeg: str = "pixels"  # or "transcode": a JPEG source's lossless level is its JPEG XL transcoding

    def check(self) -> str | None:
        if self.original_jpeg not in ("pixels", "transcode"):
            return f"original_jpeg must be 'pixels' or 'transcode', got {self.original_jpeg!r}"
        return None if 1 <= self.effort <= 9 else f"effort must be 1..9, got {self.effort}"


def is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def transcoded_jpeg_pixels(data: bytes) -> np.ndarray | None:
    """The pixels of a lossless JPEG XL transcoding of a JPEG, decoded as the JPEG itself is (Pillow), or None when
    ``data`` holds no JPEG reconstruction (lossless JPEG XL of pixels)."""
    try:
        jpeg = imagecodecs.jpegxl_decode_jpeg(data, numthreads=1)
    except Exception:  # noqa: BLE001  (imagecodecs raises several kinds when there is nothing to reconstruct)
        return None
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image)


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

    def encode_source(self, source: bytes, level: Level) -> bytes | None:
        if level == LOSSLESS and self.params.original_jpeg == "transcode" and is_jpeg(source):
            return imagecodecs.jpegxl_encode_jpeg(source, numthreads=1)
        return None

    def decode(self, data: bytes, level: Level) -> np.ndarray:
        if level == LOSSLESS and self.params.original_jpeg == "transcode":
            pixels = transcoded_jpeg_pixels(data)
            if pixels is not None:
                return pixels
        return jxl_decode(data)

    def library_versions(self) -> dict[str, str]:
        return jxl_versions()
