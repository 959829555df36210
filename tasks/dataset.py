"""In-memory labelled image splits: the unit every reader produces and every stage after it consumes."""
from __future__ import annotations

import abc
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from storagebench.images import Images, image_channels, is_ragged, update_digest
from storagebench.tasks.targets import Targets
from storagebench.tasks.targets.labels import ClassLabels


@dataclass(frozen=True, eq=False)
class ImageSet:
    """``images``: uint8, N×H×W (gray) or N×H×W×C, or ``RaggedImages`` when their sizes differ (``images.py``);
    ``labels``: int64, N — the class of each image, which stratifies subsets; ``target``: what a task trains on and
    is scored against (``targets/``: the class labels by default, masks for segmentation, box lists for detection).
    Targets are stored losslessly and never compressed; they are in each image's own pixel coordinates."""

    images: Images
    labels: np.ndarray
    target: Targets = field(default_factory=ClassLabels)
    names: tuple[str, ...] = ()  # each image's file, where a reader knows it (for messages; not in the fingerprint)

    def __post_init__(self) -> None:
        if not is_ragged(self.images) and (self.images.dtype != np.uint8 or self.images.ndim not in (3, 4)):
            raise ValueError(f"images must be uint8 N×H×W[×C], got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"{len(self.images)} images but labels of shape {self.labels.shape}")
        self.target.check(self.images, self.labels)

    def __len__(self) -> int:
        return len(self.images)

    def targets(self, indices: np.ndarray | None = None) -> Any:
        """What a task trains on and is scored against, for ``indices`` (all when None)."""
        return self.target.subset(self.labels, indices)

    @functools.cached_property
    def target_sizes(self) -> np.ndarray:
        """Bytes each image's target takes stored losslessly (a class label one byte, a mask its PNG, …)."""
        return self.target.sizes(self.labels)

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 of shapes, pixels and targets: names a split's content, whatever file it came from."""
        h = hashlib.sha256()
        shape = self.images.shape if not is_ragged(self.images) else ("ragged", len(self.images))
        h.update(repr((shape, self.labels.shape)).encode())
        update_digest(h, self.images)
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).data)
        self.target.fingerprint(h)
        return h.hexdigest()

    @functools.cached_property
    def pixels_fingerprint(self) -> str:
        """sha256 of the images alone (shapes and pixels): what the store keys encoded sets by, so tasks reading
        other targets of the same images share their bitstreams."""
        h = hashlib.sha256(b"pixels")
        h.update(repr(self.images.shape if not is_ragged(self.images) else ("ragged", len(self.images))).encode())
        update_digest(h, self.images)
        return h.hexdigest()

    def training_digest(self, images: Images, targets: Any) -> str:
        """sha256 of exactly what a model was trained on: ``images`` and their ``targets`` (of this set's kind)."""
        digest = hashlib.sha256()
        update_digest(digest, images)
        self.target.digest(digest, targets)
        return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class LabelledSplits:
    train: ImageSet
    test: ImageSet
    classes: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        from storagebench.errors import StorageBenchError

        train, test = self.train.images, self.test.images
        if image_channels(train) != image_channels(test):
            raise StorageBenchError(f"{self.source}: train images have {image_channels(train)} channel(s), test "
                                    f"images {image_channels(test)}; both splits must be gray or both colour")

    def split(self, name: str) -> ImageSet:
        return {"train": self.train, "test": self.test}[name]


@dataclass(frozen=True)
class PathParams:
    """The ``[dataset]`` table of a reader that needs only where the data is."""

    path: str = ""


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
