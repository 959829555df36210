"""``fashion-scenes``: scenes composited, deterministically by seed, from real Fashion-MNIST items — 1 to
``max_items`` items at random positions and scales over a textured background — read as one of three targets of the
same images: ``masks`` (class indices: item pixels above an intensity threshold; background 0), ``boxes`` (the
visible extent of each item) or ``labels`` (the class covering the most item pixels). Every target stratifies its
subsets by that same class, so the three tasks train on the same subsets, hence the same bytes.

Scenes are written to disk as PNG images, PNG masks and a COCO JSON per split, then read back through the generic
readers, so the default exercises the same code path as real datasets. Train scenes use Fashion-MNIST's train
split and test scenes its test split.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from storagebench.errors import StorageBenchError
from storagebench.paths import cache_home
from storagebench.provenance import stable_hash
from storagebench.tasks.coco import read_split as read_coco_split
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits
from storagebench.tasks.fashion_mnist import CLASSES, FashionMnist, FashionMnistParams
from storagebench.tasks.registry import DATASETS
from storagebench.tasks.segmentation_folder import dominant_class
from storagebench.tasks.segmentation_folder import read_split as read_mask_split

TARGETS = ("masks", "boxes", "labels")
ITEM_THRESHOLD = 40  # item pixels brighter than this belong to the item
MIN_VISIBLE = 12  # an item occluded down to fewer pixels gets no box


@dataclass(frozen=True)
class FashionScenesParams:
    path: str = ""  # Fashion-MNIST location (default: Debian's package)
    root: str = ""  # where scenes are written (default: the cache, keyed by content)
    train: int = 2000
    test: int = 500
    size: int = 64
    max_size: int = 0  # > size: each scene's height and width drawn from size..max_size (images of many sizes)
    max_items: int = 4
    seed: int = 0
    # "masks" (segmentation, read as image/mask folders), "boxes" (detection, read as COCO) or "labels"
    # (classification of the class covering the most item pixels)
    target: str = "masks"

    def check(self) -> str | None:
        if self.target not in TARGETS:
            return f"target must be one of {', '.join(TARGETS)}, got {self.target!r}"
        if self.train < 1 or self.test < 1:
            return "train and test must be ≥ 1"
        if not 32 <= self.size <= 512:
            return "size must be 32..512"
        if self.max_size and not self.size < self.max_size <= 2048:
            return "max_size must be 0 (every scene size × size) or in size+1..2048"
        return None if 1 <= self.max_items <= 8 else "max_items must be 1..8"


def _background(rng: np.random.Generator, hw: tuple[int, int]) -> np.ndarray:
    coarse = Image.fromarray((rng.random((6, 6)) * 255).astype(np.uint8)).resize(hw[::-1], Image.BICUBIC)
    texture = 15 + 0.2 * np.asarray(coarse, dtype=np.float64) + rng.normal(0, 4, hw)
    return np.clip(texture, 0, 255)


def scene_hw(rng: np.random.Generator, size: int, max_size: int) -> tuple[int, int]:
    """A scene's (height, width): size × size, or each drawn from size..max_size."""
    if max_size <= size:
        return size, size
    h, w = rng.integers(size, max_size + 1, 2)
    return int(h), int(w)


def compose_scene(rng: np.random.Generator, items: np.ndarray, labels: np.ndarray, hw: tuple[int, int],
                  max_items: int, item_scale: float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int, int]]]:
    """One scene of ``hw`` pixels: (gray image, class mask, boxes as (x0, y0, x1, y1, class id) with class id =
    label + 1). Items are 28 px × 0.7..1.3 × ``item_scale``."""
    (h, w), shortest = hw, min(hw)
    canvas, mask = _background(rng, hw), np.zeros(hw, np.uint8)
    instance = np.zeros(hw, np.int16)
    chosen = rng.integers(0, len(items), rng.integers(1, max_items + 1))
    for k, index in enumerate(chosen, start=1):
        side = min(shortest, int(round(28 * rng.uniform(0.7, 1.3) * item_scale)))
        item = np.asarray(Image.fromarray(items[index]).resize((side, side), Image.BILINEAR), dtype=np.float64)
        top, left = rng.integers(0, np.array([h, w]) - side + 1) if h != w else rng.integers(0, h - side + 1, 2)
        region = (slice(top, top + side), slice(left, left + side))
        on = item > ITEM_THRESHOLD
        canvas[region][on], mask[region][on], instance[region][on] = item[on], labels[index] + 1, k
    boxes = []
    for k, index in enumerate(chosen, start=1):
        ys, xs = np.nonzero(instance == k)
        if len(ys) >= MIN_VISIBLE:
            boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1, int(labels[index]) + 1))
    return canvas.round().astype(np.uint8), mask, boxes


def _write_split(folder: Path, source: ImageSet, count: int, params: FashionScenesParams, split_seed: int) -> None:
    rng = np.random.default_rng([params.seed, split_seed])
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    coco: dict = {"images": [], "annotations": [],
                  "categories": [{"id": i + 1, "name": name} for i, name in enumerate(CLASSES)]}
    for i in range(count):
        hw = scene_hw(rng, params.size, params.max_size)
        image, mask, boxes = compose_scene(rng, source.images, source.labels, hw, params.max_items,
                                           min(hw) / params.size)
        name = f"{i:06d}.png"
        Image.fromarray(image).save(folder / "images" / name)
        Image.fromarray(mask).save(folder / "masks" / name)
        coco["images"].append({"id": i + 1, "file_name": f"images/{name}", "width": hw[1], "height": hw[0]})
        for x0, y0, x1, y1, category in boxes:
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": i + 1,
                                        "category_id": category, "bbox": [x0, y0, x1 - x0, y1 - y0],
                                        "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
    (folder / "annotations.json").write_text(json.dumps(coco))


def generate(root: Path, source: LabelledSplits, params: FashionScenesParams) -> Path:
    """Write the scenes to ``root`` once (into a temporary folder, renamed into place)."""
    if (root / "train" / "annotations.json").is_file() and (root / "test" / "annotations.json").is_file():
        return root
    tmp = root.with_name(root.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for split_seed, (split, count) in enumerate((("train", params.train), ("test", params.test))):
        _write_split(tmp / split, source.split(split), count, params, split_seed)
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(tmp, root)
    except OSError:  # written meanwhile by another process: the same content
        shutil.rmtree(tmp, ignore_errors=True)
    return root


@DATASETS.register("fashion-scenes")
class FashionScenes(Dataset):
    """Scenes of Fashion-MNIST items on a textured background: class masks, boxes or the main item's class."""

    Params = FashionScenesParams

    def scene_root(self, source: LabelledSplits) -> Path:
        if self.params.root:
            return Path(self.params.root).expanduser()
        key = {**asdict(self.params), "path": None, "root": None,
               "train_source": source.train.fingerprint, "test_source": source.test.fingerprint, "format": 1}
        del key["target"]  # one folder serves both targets
        return cache_home() / "datasets" / f"fashion-scenes-{stable_hash(key)[:16]}"

    def load(self) -> LabelledSplits:
        source = FashionMnist(FashionMnistParams(self.params.path)).load()
        root = generate(self.scene_root(source), source, self.params)
        train, test = (self._read(root / split) for split in ("train", "test"))
        classes = CLASSES if self.params.target == "labels" else ("background", *CLASSES)
        return LabelledSplits(train, test, classes, str(root))

    def _read(self, split_dir: Path) -> ImageSet:
        """The split as the target's reader gives it, labelled by its masks' main class (stratifies subsets)."""
        if self.params.target == "boxes":  # the masks alone label the scenes: the images are read once, by COCO
            boxed, _ = read_coco_split(split_dir / "annotations.json", split_dir, "L")
            masks = sorted((split_dir / "masks").glob("*.png"))  # named as the images, in image-id order
            if len(masks) != len(boxed.images):
                raise StorageBenchError(f"{split_dir / 'masks'}: {len(masks)} masks for {len(boxed.images)} images; "
                                        f"delete {split_dir.parent} and it is generated again")
            labels = np.array([dominant_class(np.asarray(Image.open(path))) for path in masks], dtype=np.int64)
            return ImageSet(boxed.images, labels, boxed.target, boxed.names)
        masked = read_mask_split(split_dir, "L")
        if self.params.target == "masks":
            return masked
        if self.params.target == "labels":  # mask class c is Fashion-MNIST class c - 1
            empty = np.flatnonzero(masked.labels == 0)
            if len(empty):
                raise StorageBenchError(f"{split_dir}: {len(empty)} scene(s) (e.g. {empty[0]:06d}.png) show no item "
                                        f"pixels, so they have no class; choose another [dataset].seed")
        return ImageSet(masked.images, masked.labels - 1, names=masked.names)
