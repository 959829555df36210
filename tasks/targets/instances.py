"""Object instances (detection with instance masks, as Mask R-CNN trains on): per image, K×5 boxes (x0, y0, x1, y1,
class) and each object's outline as COCO gives it — polygons, each a flat float32 array x0, y0, x1, y1, … in the
image's pixels. Outlines stay polygons until a training batch needs masks (``masks_of``), so a set costs what its
annotation file costs, not K masks of every image's size; stored as the COCO JSON stores them."""
from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from storagebench.tasks.targets.boxes import Boxes, boxes_digest


@dataclass(frozen=True, eq=False)
class ObjectInstances:
    """One image's objects: ``boxes`` K×5 and, for each, its ``polygons``."""

    boxes: np.ndarray
    polygons: tuple[tuple[np.ndarray, ...], ...]

    def __post_init__(self) -> None:
        if len(self.polygons) != len(self.boxes):
            raise ValueError(f"{len(self.boxes)} boxes but {len(self.polygons)} outlines")

    def areas(self) -> np.ndarray:
        """Each object's area: its polygons' (shoelace formula), as COCO's ``area`` field gives it."""
        def area(points: np.ndarray) -> float:
            x, y = points[0::2].astype(np.float64), points[1::2].astype(np.float64)
            return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
        return np.array([sum(map(area, outline)) for outline in self.polygons], dtype=np.float64)


def boxes_of(target: Any) -> np.ndarray:
    """The K×5 boxes of one image's target (a box array, or instances)."""
    return target.boxes if isinstance(target, ObjectInstances) else target


def masks_of(instances: ObjectInstances, hw: tuple[int, int]) -> np.ndarray:
    """K × H × W uint8 masks of the instances' polygons rasterised at ``hw`` (pycocotools, as COCO does)."""
    from pycocotools import mask as coco_mask

    h, w = hw
    if not instances.polygons:
        return np.zeros((0, h, w), np.uint8)
    with warnings.catch_warnings():  # pycocotools' own numpy-2 DeprecationWarning (its __array__), not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        masks = [coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(
            [p.astype(np.float64).tolist() for p in outline], h, w))) for outline in instances.polygons]
    return np.stack(masks).astype(np.uint8)


def _outline_digest(h: Any, instances: list[ObjectInstances]) -> None:
    for image in instances:
        h.update(repr([[len(p) for p in outline] for outline in image.polygons]).encode())
        for outline in image.polygons:
            for points in outline:
                h.update(np.ascontiguousarray(points, dtype=np.float32).data)


class Instances(Boxes):
    kind = "instances"

    def __init__(self, boxes: tuple[np.ndarray, ...], polygons: tuple[tuple[tuple[np.ndarray, ...], ...], ...]):
        super().__init__(boxes)
        self.instances = tuple(ObjectInstances(b, p) for b, p in zip(self.boxes, polygons))

    def subset(self, labels: np.ndarray, indices: np.ndarray | None) -> list[ObjectInstances]:
        return list(self.instances) if indices is None else [self.instances[i] for i in indices]

    def sizes(self, labels: np.ndarray) -> np.ndarray:
        return np.array([len(json.dumps([i.boxes.tolist(), [[p.tolist() for p in o] for o in i.polygons]]))
                         for i in self.instances], dtype=np.int64)

    def fingerprint(self, hasher: Any) -> None:
        super().fingerprint(hasher)
        _outline_digest(hasher, list(self.instances))

    @staticmethod
    def digest(hasher: Any, values: list[ObjectInstances]) -> None:
        h = hashlib.sha256(boxes_digest([v.boxes for v in values]).encode())
        _outline_digest(h, values)
        hasher.update(h.hexdigest().encode())
