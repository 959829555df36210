"""Paired image/mask folders: ``ROOT/{train,test}/images/<name>.png|jpg`` with ``ROOT/{train,test}/masks/<name>.png``
holding class indices (gray or VOC-style palette PNGs; 255 = ignore)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from storagebench.errors import StorageBenchError
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits
from storagebench.tasks.image_folder import open_image, read_images
from storagebench.images import as_images
from storagebench.tasks.registry import DATASETS
from storagebench.tasks.targets.masks import Masks

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
IGNORE_INDEX = 255


@dataclass(frozen=True)
class SegmentationFolderParams:
    path: str = ""
    mode: str = "L"  # "L" (gray) or "RGB"
    classes: list = field(default_factory=list)  # class names, index 0 first; default: class_0 … from the masks

    def check(self) -> str | None:
        return None if self.mode in ("L", "RGB") else f"mode must be 'L' or 'RGB', got {self.mode!r}"


def _read_mask(path: Path, size: tuple[int, int], image_path: Path) -> np.ndarray:
    mask = open_image(path, size, f"its image {image_path.name}")
    if mask.mode not in ("L", "P"):
        raise StorageBenchError(f"{path}: a mask must be a gray or palette PNG of class indices, got mode {mask.mode}")
    return np.asarray(mask, dtype=np.uint8)


def dominant_class(mask: np.ndarray) -> int:
    """The most frequent non-background, non-ignored class (0 if none): stratifies subsets."""
    counts = np.bincount(mask[(mask != 0) & (mask != IGNORE_INDEX)].ravel(), minlength=1)
    return int(counts.argmax()) if counts.sum() else 0


def read_split(split_dir: Path, mode: str) -> ImageSet:
    image_dir, mask_dir = split_dir / "images", split_dir / "masks"
    for folder in (image_dir, mask_dir):
        if not folder.is_dir():
            raise StorageBenchError(f"{folder}: missing; a segmentation folder needs images/ and masks/ per split")
    image_paths = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not image_paths:
        raise StorageBenchError(f"{image_dir}: no .png/.jpg images")
    images = read_images(image_paths, mode)
    masks = []
    for path, image in zip(image_paths, images):
        mask_path = mask_dir / (path.stem + ".png")
        if not mask_path.is_file():
            raise StorageBenchError(f"{mask_path}: missing mask for {path}")
        masks.append(_read_mask(mask_path, (image.shape[1], image.shape[0]), path))
    labels = np.array([dominant_class(m) for m in masks], dtype=np.int64)
    return ImageSet(images, labels, Masks(as_images(masks)), tuple(map(str, image_paths)))


def class_names(splits: tuple[ImageSet, ImageSet], names: list, root: Path) -> tuple[str, ...]:
    used = max(s.target.largest_class(IGNORE_INDEX) for s in splits) + 1
    if names and len(names) < used:
        raise StorageBenchError(f"{root}: masks use class {used - 1} but [dataset].classes names only {len(names)}")
    return tuple(names) if names else tuple(f"class_{i}" for i in range(used))


@DATASETS.register("segmentation-folder")
class SegmentationFolder(Dataset):
    """Paired image/mask PNG folders (masks: class indices, 255 = ignore), each pair at its own size."""

    Params = SegmentationFolderParams

    def load(self) -> LabelledSplits:
        root = self.required_root("the segmentation folder root")
        train, test = (read_split(root / split, self.params.mode) for split in ("train", "test"))
        return LabelledSplits(train, test, class_names((train, test), list(self.params.classes), root), str(root))
