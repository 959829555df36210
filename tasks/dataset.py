"""In-memory labelled image splits: the unit every reader produces and every stage after it consumes."""
from __future__ import annotations

import abc
import functools
import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True, eq=False)
class ImageSet:
    """``images``: uint8, N×H×W (gray) or N×H×W×C; ``labels``: int64, N."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim not in (3, 4):
            raise ValueError(f"images must be uint8 N×H×W[×C], got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"{len(self.images)} images but labels of shape {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.images)

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 of shapes, pixels and labels: names a split's content, whatever file it came from."""
        h = hashlib.sha256()
        h.update(repr((self.images.shape, self.labels.shape)).encode())
        h.update(np.ascontiguousarray(self.images).data)
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).data)
        return h.hexdigest()


@dataclass(frozen=True, eq=False)
class LabelledSplits:
    train: ImageSet
    test: ImageSet
    classes: tuple[str, ...]
    source: str

    def split(self, name: str) -> ImageSet:
        return {"train": self.train, "test": self.test}[name]


class Dataset(abc.ABC):
    """A reader for one on-disk format. ``Params`` is a dataclass of its config keys (``[dataset]`` table)."""

    name: ClassVar[str]
    Params: ClassVar[type]

    def __init__(self, params: Any):
        self.params = params

    @abc.abstractmethod
    def load(self) -> LabelledSplits:
        """Read and validate both splits; raise StorageBenchError naming the file on any problem."""

    def download(self, root: str) -> str:
        raise NotImplementedError(f"dataset {self.name!r} has no download; place its files yourself")
