"""The image-codec protocol: an image and a level to real bytes, and those bytes (and the level) back.

A level is a JSON scalar: a number for a codec's numeric knob (JPEG XL distance, JPEG quality, …) or a string
naming a special setting such as ``"lossless"``. ``level_label`` gives the canonical text stored in results.
"""
from __future__ import annotations

import abc
from dataclasses import asdict
from typing import Any, ClassVar, Union

import numpy as np

Level = Union[float, str]


def level_label(level: Level) -> str:
    return level if isinstance(level, str) else format(float(level), "g")


class ImageCodec(abc.ABC):
    """Subclasses set ``Params`` (a dataclass of config keys), ``version`` (bump when the bytes change) and
    ``original_level`` (the level that defines the "original format", usually lossless)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    Params: ClassVar[type]
    original_level: ClassVar[Level]

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

    def library_versions(self) -> dict[str, str]:
        return {}

    def identity(self) -> dict[str, Any]:
        """What names this codec's output: it keys the compressed-set cache."""
        return {"name": self.name, "version": self.version, "params": asdict(self.params)}
