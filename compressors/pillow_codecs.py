"""Classic lossy codecs through Pillow: JPEG (libjpeg-turbo), WebP (libwebp) and AVIF (libavif). Levels are the
codec's quality (larger = more bytes) or "lossless": WebP's own lossless mode, PNG for JPEG and AVIF."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image, features

import PIL
from storagebench.compressors.png import png_decode, png_encode
from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level, check_number
from storagebench.compressors.registry import COMPRESSORS

SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")


def _subsampling_problem(value: str) -> str | None:
    return None if value in SUBSAMPLINGS else f"subsampling must be one of {', '.join(SUBSAMPLINGS)}, got {value!r}"


class PillowCodec(ImageCodec):
    """Shared by the Pillow codecs: subclasses give the format, the quality range, the save options and
    ``lossless_options`` (None: store "lossless" as PNG)."""

    pil_format: ClassVar[str]
    feature: ClassVar[str]  # Pillow's name for the library, for its version
    quality_max: ClassVar[int] = 100
    larger_is_smaller = False  # a quality
    integer_levels = True
    lossless_options: ClassVar[dict[str, Any] | None] = None

    def parse_level(self, value: Any) -> Level:
        return check_number(value, 1, self.quality_max, f"{self.pil_format} levels are qualities (integers)",
                            integer=True)

    def save_options(self, quality: int, gray: bool) -> dict[str, Any]:
        raise NotImplementedError

    def encode(self, image: np.ndarray, level: Level) -> bytes:
        if level == LOSSLESS and self.lossless_options is None:
            return png_encode(image)
        options = self.lossless_options if level == LOSSLESS else self.save_options(int(level), image.ndim == 2)
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, self.pil_format, **options)
        return buffer.getvalue()

    def decode(self, data: bytes, level: Level) -> np.ndarray:
        if level == LOSSLESS and self.lossless_options is None:
            return png_decode(data)
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert(image.mode)).copy()

    def library_versions(self) -> dict[str, str]:
        return {"pillow": PIL.__version__, self.feature: str(features.version(self.feature))}


@dataclass(frozen=True)
class JpegParams:
    subsampling: str = "4:2:0"  # chroma subsampling of colour images (gray images have no chroma)
    optimize: bool = True  # optimised Huffman tables: fewer bytes, same pixels

    def check(self) -> str | None:
        return _subsampling_problem(self.subsampling)


@COMPRESSORS.register("jpeg")
class Jpeg(PillowCodec):
    """JPEG (libjpeg-turbo via Pillow); levels are qualities 1..95, "lossless" is PNG."""

    Params = JpegParams
    pil_format, feature, quality_max = "JPEG", "jpg", 95
    level_range = (1.0, 95.0)
    default_levels = (LOSSLESS, 95.0, 90.0, 75.0, 50.0, 25.0, 10.0)
    default_test_levels = (LOSSLESS, 10.0)

    def save_options(self, quality: int, gray: bool) -> dict[str, Any]:
        return {"quality": quality, "subsampling": self.params.subsampling, "optimize": self.params.optimize}


@dataclass(frozen=True)
class WebpParams:
    method: int = 4  # effort, 0 (fast) .. 6 (smallest); 6 makes lossless 30× slower for 2% fewer bytes

    def check(self) -> str | None:
        return None if 0 <= self.method <= 6 else f"method must be 0..6, got {self.method}"


@COMPRESSORS.register("webp")
class Webp(PillowCodec):
    """WebP (libwebp via Pillow); levels are qualities 1..100 or its own "lossless" mode."""

    Params = WebpParams
    pil_format, feature = "WEBP", "webp"
    level_range = (1.0, 100.0)
    default_levels = (LOSSLESS, 95.0, 90.0, 75.0, 50.0, 25.0, 5.0)
    default_test_levels = (LOSSLESS, 5.0)

    @property
    def lossless_options(self) -> dict[str, Any]:  # type: ignore[override]
        return {"lossless": True, "quality": 100, "method": self.params.method, "exact": True}

    def save_options(self, quality: int, gray: bool) -> dict[str, Any]:
        return {"quality": quality, "method": self.params.method}

    # WebP has no gray images: Pillow stores gray as RGB. One leading byte (counted like the rest) says which the
    # image was, so a gray image decodes to gray from the bitstream alone.
    def encode(self, image: np.ndarray, level: Level) -> bytes:
        return (b"G" if image.ndim == 2 else b"C") + super().encode(image, level)

    def decode(self, data: bytes, level: Level) -> np.ndarray:
        decoded = super().decode(data[1:], level)
        if data[:1] == b"G" and decoded.ndim == 3:
            return np.asarray(Image.fromarray(decoded).convert("L"))
        return decoded


@dataclass(frozen=True)
class AvifParams:
    speed: int = 6  # libavif's speed 0 (slowest, smallest) .. 10
    subsampling: str = "4:2:0"

    def check(self) -> str | None:
        return (None if 0 <= self.speed <= 10 else f"speed must be 0..10, got {self.speed}") or \
            _subsampling_problem(self.subsampling)


@COMPRESSORS.register("avif")
class Avif(PillowCodec):
    """AVIF (libavif/AV1 via Pillow); levels are qualities 1..100, "lossless" is PNG."""

    Params = AvifParams
    pil_format, feature = "AVIF", "avif"
    level_range = (1.0, 100.0)
    default_levels = (LOSSLESS, 90.0, 75.0, 60.0, 45.0, 30.0, 15.0)
    default_test_levels = (LOSSLESS, 15.0)

    def save_options(self, quality: int, gray: bool) -> dict[str, Any]:
        # One thread: the store runs one encoder per core, and the bytes must not depend on threading. Gray images
        # are stored as AV1 monochrome (4:0:0), which a chroma subsampling option would turn into colour.
        chroma = {} if gray else {"subsampling": self.params.subsampling}
        return {"quality": quality, "speed": self.params.speed, "max_threads": 1, **chroma}
