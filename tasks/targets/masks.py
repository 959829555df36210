"""Per-pixel class masks (segmentation): uint8 N×H×W, or ``RaggedImages`` of H×W masks when the images' sizes
differ, each the size of its image; 255 = ignore; each stored as a PNG."""
from __future__ import annotations

from typing import Any

import numpy as np

from storagebench.images import Images, image_shapes, is_ragged, update_digest
from storagebench.tasks.targets import Targets


class Masks(Targets):
    kind = "masks"

    def __init__(self, masks: Images):
        self.masks = masks

    def check(self, images: Images, labels: np.ndarray) -> None:
        shapes = image_shapes(self.masks)
        if len(self.masks) != len(images):
            raise ValueError(f"{len(images)} images but {len(self.masks)} masks")
        if self.masks.dtype != np.uint8 or shapes.shape[1] != 2:
            raise ValueError(f"masks must be uint8 H×W class indices, got {self.masks.dtype} of {shapes.shape[1]} "
                             f"dimensions")
        wrong = np.flatnonzero((shapes != image_shapes(images)[:, :2]).any(axis=1))
        if len(wrong):
            i = int(wrong[0])
            raise ValueError(f"mask {i} is {tuple(shapes[i])}, its image {tuple(image_shapes(images)[i, :2])}")

    def subset(self, labels: np.ndarray, indices: np.ndarray | None) -> Images:
        return self.masks if indices is None else self.masks[indices]

    def sizes(self, labels: np.ndarray) -> np.ndarray:
        import imagecodecs

        if hasattr(self.masks, "stored_sizes"):  # masks read from a dataset's own lossless files: their bytes
            return self.masks.stored_sizes()
        return np.array([len(imagecodecs.png_encode(mask)) for mask in self.masks], dtype=np.int64)

    def largest_class(self, ignore: int) -> int:
        """The largest class index any mask uses, the ignore index aside (0 when none)."""
        values = self.masks.buffer if is_ragged(self.masks) else self.masks
        return int(values[values != ignore].max(initial=0))

    def fingerprint(self, hasher: Any) -> None:
        update_digest(hasher, self.masks)

    @staticmethod
    def digest(hasher: Any, values: Images) -> None:
        update_digest(hasher, values)
