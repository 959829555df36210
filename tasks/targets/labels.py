"""Class labels: one class per image, one byte each stored."""
from __future__ import annotations

from typing import Any

import numpy as np

from storagebench.tasks.targets import Targets


class ClassLabels(Targets):
    kind, per_class_only = "labels", True

    def check(self, images: np.ndarray, labels: np.ndarray) -> None:
        pass  # the labels themselves are checked by the image set

    def subset(self, labels: np.ndarray, indices: np.ndarray | None) -> np.ndarray:
        return labels if indices is None else labels[indices]

    def sizes(self, labels: np.ndarray) -> np.ndarray:
        return np.ones(len(labels), dtype=np.int64)

    @staticmethod
    def digest(hasher: Any, values: np.ndarray) -> None:
        hasher.update(np.ascontiguousarray(values, dtype=np.int64).data)
