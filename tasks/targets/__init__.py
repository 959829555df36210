"""Targets: what a task trains on and is scored against, besides each image's class label (which every image set
has: it stratifies subsets). One kind per file — class labels, per-pixel masks, per-image box lists — each saying how
to take a subset, how many bytes each image's target takes stored losslessly (targets are never compressed), and how
it enters a digest. A new kind (keypoints, say) is one more file; nothing else probes which kind a set has."""
from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np


class Targets(abc.ABC):
    kind: ClassVar[str]  # "labels", "masks", "boxes": what a task and an error message call it
    per_class_only: ClassVar[bool] = False  # nothing but the class labels (what dataset reducers work on)

    @abc.abstractmethod
    def check(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Raise ValueError when these targets do not fit ``images``."""

    @abc.abstractmethod
    def subset(self, labels: np.ndarray, indices: np.ndarray | None) -> Any:
        """The targets of ``indices`` (all when None), as a task takes them."""

    @abc.abstractmethod
    def sizes(self, labels: np.ndarray) -> np.ndarray:
        """Bytes each image's target takes stored losslessly (int64, one per image)."""

    def fingerprint(self, hasher: Any) -> None:
        """Add what these targets hold beyond the class labels (already in the split's fingerprint)."""

    @staticmethod
    @abc.abstractmethod
    def digest(hasher: Any, values: Any) -> None:
        """Add ``values`` (what ``subset`` returned) to the digest of a training set."""
