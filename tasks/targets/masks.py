"""Per-pixel class masks (segmentation): uint8 N×H×W, 255 = ignore; each stored as a PNG."""
from __future__ import annotations

from typing import Any

import numpy as np

from storagebench.tasks.targets import Targets


class Masks(Targets):
    kind = "masks"

    def __init__(self, masks: np.ndarray):
        self.masks = masks

    def check(self, images: np.ndarray, labels: np.ndarray) -> None:
        if self.masks.dtype != np.uint8 or self.masks.shape != images.shape[:3]:
            raise ValueError(f"masks must be uint8 {images.shape[:3]}, got {self.masks.dtype} {self.masks.shape}")

    def subset(self, labels: np.ndarray, indices: np.ndarray | None) -> np.ndarray:
        return self.masks if indices is None else self.masks[indices]

    def sizes(self, labels: np.ndarray) -> np.ndarray:
        import imagecodecs

        return np.array([len(imagecodecs.png_encode(mask)) for mask in self.masks], dtype=np.int64)

    def fingerprint(self, hasher: Any) -> None:
        hasher.update(np.ascontiguousarray(self.masks).data)

    @staticmethod
    def digest(hasher: Any, values: np.ndarray) -> None:
        hasher.update(np.ascontiguousarray(values, dtype=values.dtype).data)
