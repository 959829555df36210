"""Per-image box lists (detection): K×5 arrays of x0, y0, x1, y1, class (1..; 0 is background); each stored as the
COCO JSON stores it."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from storagebench.tasks.targets import Targets


def boxes_digest(boxes: list[np.ndarray]) -> str:
    """sha256 of one array per image, shapes included."""
    h = hashlib.sha256()
    for part in boxes:
        part = np.asarray(part)
        h.update(repr(part.shape).encode())
        h.update(np.ascontiguousarray(part, dtype=np.int64 if part.dtype.kind in "iub" else part.dtype).data)
    return h.hexdigest()


class Boxes(Targets):
    kind = "boxes"

    def __init__(self, boxes: tuple[np.ndarray, ...]):
        self.boxes = tuple(boxes)

    def check(self, images: np.ndarray, labels: np.ndarray) -> None:
        if len(self.boxes) != len(images):
            raise ValueError(f"{len(images)} images but {len(self.boxes)} box lists")

    def subset(self, labels: np.ndarray, indices: np.ndarray | None) -> list[np.ndarray]:
        return list(self.boxes) if indices is None else [self.boxes[i] for i in indices]

    def sizes(self, labels: np.ndarray) -> np.ndarray:
        return np.array([len(json.dumps(b.tolist())) for b in self.boxes], dtype=np.int64)

    def fingerprint(self, hasher: Any) -> None:
        hasher.update(boxes_digest(list(self.boxes)).encode())

    @staticmethod
    def digest(hasher: Any, values: list[np.ndarray]) -> None:
        hasher.update(boxes_digest(values).encode())
