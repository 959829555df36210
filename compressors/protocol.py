"""The image-codec protocol: an image and a level to real bytes, and those bytes (and the level) back.

A level is a JSON scalar: a number for a codec's numeric knob (JPEG XL distance, JPEG quality, …) or a string
naming a special setting such as ``"lossless"``. ``level_label`` gives the canonical text stored in results.

Everything a decoder may use is the bitstream, the level, the codec's parameters and, for codecs that learn from
data (``fit``), the state ``fitted_state(level)`` declares. Decoding always happens in a fresh instance built from the
parameters and ``restore``d from that state as the harness serialized it (``compressors/state.py``), never in the
instance that encoded; the harness counts the serialized state's bytes as the level's decoder bytes.
``storagebench submit`` also decodes in a separate, contained process, so nothing can travel outside those bytes.
"""
from __future__ import annotations

import abc
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Union

import numpy as np

Level = Union[float, str]
LOSSLESS = "lossless"


def level_label(level: Level) -> str:
    return level if isinstance(level, str) else format(float(level), "g")


class ImageCodec(abc.ABC):
    """Subclasses set ``Params`` (a dataclass of config keys), ``version`` (bump when the bytes change),
    ``original_level`` (the level that defines the "original format", usually lossless) and ``default_levels`` /
    ``default_test_levels`` (the grid a quick benchmark of this codec uses: ``storagebench submit`` and
    ``storagebench rd`` take them)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    Params: ClassVar[type]
    original_level: ClassVar[Level] = LOSSLESS
    default_levels: ClassVar[tuple[Level, ...]] = ()
    default_test_levels: ClassVar[tuple[Level, ...]] = ()
    # A numeric knob over a continuous range (the randomized wrapper and level searches need one): its bounds, and
    # whether larger values mean fewer bytes (a distance) or more (a quality).
    level_range: ClassVar[tuple[float, float] | None] = None
    larger_is_smaller: ClassVar[bool] = True
    integer_levels: ClassVar[bool] = False  # the continuous knob takes whole numbers only (a JPEG quality)
    # A knob of separate levels (when there is no level_range), for the storage-curve searches: by default the
    # numeric default_levels; ``larger_is_smaller`` orders numeric levels by bytes, named ones (e.g. ranges
    # "1..4") are taken in the order given, fewest bytes first.
    search_levels: ClassVar[tuple[Level, ...]] = ()

    def __init__(self, params: Any):
        self.params = params

    @abc.abstractmethod
    def parse_level(self, value: Any) -> Level:
        """Validate a level from a config; raise ValueError saying what levels are valid."""

    @abc.abstractmethod
    def encode(self, image: np.ndarray, level: Level) -> bytes:
        """uint8 H×W or H×W×C → a complete bitstream."""

    @abc.abstractmethod
    def decode(self, data: bytes, level: Level) -> np.ndarray:
        """The bitstream (and nothing else but the level) → uint8 image of the encoded shape."""

    def encode_source(self, source: bytes, level: Level) -> bytes | None:
        """A bitstream made from an image's source file (``LazyImages.source_file``: bytes that decode exactly to
        the image) rather than its pixels, or None to encode the pixels (the default). ``decode`` must still give
        the image's pixels from the bitstream alone."""
        return None

    def encode_with_info(self, image: np.ndarray, level: Level) -> tuple[bytes, dict[str, float]]:
        """``encode`` plus per-image numbers worth recording in the manifest (e.g. the Butteraugli distance a
        targeted codec achieved); none by default."""
        return self.encode(image, level), {}

    def library_versions(self) -> dict[str, str]:
        return {}

    # Codecs that learn from the benchmark's training images (learned codecs) override these three.
    def fit(self, images: np.ndarray, levels: list[Level], cache: Path, workers: int = 1) -> None:
        """Learn whatever the codec needs for ``levels`` from training images (in up to ``workers`` processes);
        cache it under ``cache``. The instance that fitted encodes; it never decodes."""

    def fitted_state(self, level: Level) -> dict[str, Any]:
        """Everything a decoder of ``level`` needs besides the bitstream and the params (e.g. the synthesis side of
        a learned model), as JSON values and exact ``bytes``. The harness serializes it and counts its bytes as the
        level's decoder bytes (``[compressor] count_decoder_bytes = true`` adds them to storage); a file it names is
        not part of it, and a decoder may not read one."""
        return {}

    def restore(self, level: Level, state: dict[str, Any]) -> None:
        """Take back ``fitted_state(level)`` of the instance that fitted, in a fresh instance (often a fresh
        process): afterwards this instance decodes ``level``."""

    def item_levels(self, level: Level, count: int) -> Level | list[Level]:
        """The level of each of ``count`` items encoded together at ``level`` (one level for all by default)."""
        return level

    def identity(self) -> dict[str, Any]:
        """What names this codec's output: it keys the compressed-set cache (codecs with fitted state add what
        identifies it, e.g. checkpoint sha256s)."""
        return {"name": self.name, "version": self.version, "params": asdict(self.params)}


def check_number(value: Any, low: float, high: float, description: str, *, integer: bool = False,
                 low_open: bool = False, extra: tuple[str, ...] = (LOSSLESS,)) -> Level:
    """``value`` if it is one of the string levels in ``extra`` or a number in [low, high] (``(low, high]`` with
    ``low_open``; a whole number with ``integer``); else a ValueError: ``description`` (e.g. "JPEG levels are
    qualities") followed by the valid range."""
    if isinstance(value, str) and value in extra:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and (low < value if low_open else low <= value) \
            and value <= high and (not integer or float(value).is_integer()):
        return float(value)
    names = "".join(f' or "{e}"' for e in extra)
    raise ValueError(f"{description} in {'(' if low_open else '['}{low:g}, {high:g}]{names}, got {value!r}")


def exact_bytes(stream: Any, codec_name: str, what: str) -> bytes:
    """``stream`` if it is exactly ``bytes``; a subclass could carry data outside the bitstream (an attribute
    travels when it is pickled), and anything else is not a bitstream."""
    if type(stream) is not bytes:
        from storagebench.errors import StorageBenchError

        raise StorageBenchError(f"{codec_name}: encode returned {type(stream).__module__}.{type(stream).__qualname__} "
                                f"for {what}; a bitstream must be exactly bytes")
    return stream
