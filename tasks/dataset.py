"""In-memory labelled image splits: the unit every reader produces and every stage after it consumes."""
from __future__ import annotations

import abc
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True, eq=False)
class ImageSet:
    """``images``: uint8, N×H×W (gray) or N×H×W×C; ``labels``: int64, N — the class of each image, which
    stratifies subsets; ``masks``: optional uint8 N×H×W per-pixel classes for segmentation, then the training
    target. Targets are stored losslessly and never compressed."""

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None = None
    boxes: tuple[np.ndarray, ...] | None = None  # per image K×5: x0, y0, x1, y1, class (1..; 0 is background)

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim not in (3, 4):
            raise ValueError(f"images must be uint8 N×H×W[×C], got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"{len(self.images)} images but labels of shape {self.labels.shape}")
        if self.masks is not None and (self.masks.dtype != np.uint8 or self.masks.shape != self.images.shape[:3]):
            raise ValueError(f"masks must be uint8 {self.images.shape[:3]}, got {self.masks.dtype} {self.masks.shape}")
        if self.boxes is not None and len(self.boxes) != len(self.images):
            raise ValueError(f"{len(self.images)} images but {len(self.boxes)} box lists")

    def __len__(self) -> int:
        return len(self.images)

    def targets(self, indices: np.ndarray | None = None) -> np.ndarray | list[np.ndarray]:
        """What a task trains on and is scored against: masks, else box lists, else the labels."""
        if self.boxes is not None and self.masks is None:
            return list(self.boxes) if indices is None else [self.boxes[i] for i in indices]
        chosen = self.labels if self.masks is None else self.masks
        return chosen if indices is None else chosen[indices]

    @functools.cached_property
    def target_sizes(self) -> np.ndarray:
        """Bytes each image's target takes stored losslessly: a class label is one byte, a mask its PNG."""
        if self.boxes is not None and self.masks is None:  # as the COCO JSON stores them
            return np.array([len(json.dumps(b.tolist())) for b in self.boxes], dtype=np.int64)
        if self.masks is None:
            return np.ones(len(self), dtype=np.int64)
        import imagecodecs

        return np.array([len(imagecodecs.png_encode(mask)) for mask in self.masks], dtype=np.int64)

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 of shapes, pixels and targets: names a split's content, whatever file it came from."""
        h = hashlib.sha256()
        h.update(repr((self.images.shape, self.labels.shape)).encode())
        h.update(np.ascontiguousarray(self.images).data)
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).data)
        if self.masks is not None:
            h.update(np.ascontiguousarray(self.masks).data)
        if self.boxes is not None:
            h.update(targets_digest(list(self.boxes)).encode())
        return h.hexdigest()


def targets_digest(targets: np.ndarray | list[np.ndarray]) -> str:
    """sha256 of targets, whichever kind: an array, or one array per image."""
    h = hashlib.sha256()
    for part in (targets if isinstance(targets, list) else [targets]):
        part = np.asarray(part)
        h.update(repr(part.shape).encode())
        h.update(np.ascontiguousarray(part, dtype=np.int64 if part.dtype.kind in "iub" else part.dtype).data)
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class LabelledSplits:
    train: ImageSet
    test: ImageSet
    classes: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        from storagebench.errors import StorageBenchError

        if self.train.images.shape[1:] != self.test.images.shape[1:]:
            raise StorageBenchError(f"{self.source}: train images are {self.train.images.shape[1:]}, test images "
                                    f"{self.test.images.shape[1:]}; all images must share one size")

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

    def required_root(self, what: str) -> Path:
        """``[dataset].path`` (or ``--data``), which readers of user folders cannot do without."""
        from storagebench.errors import StorageBenchError

        if not getattr(self.params, "path", ""):
            raise StorageBenchError(f"[dataset].path (or --data) must name {what}")
        return Path(self.params.path).expanduser()

    def download(self, root: str) -> str:
        raise NotImplementedError(f"dataset {self.name!r} has no download; place its files yourself")
