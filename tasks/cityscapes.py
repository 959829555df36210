"""Cityscapes in its own layout: ``leftImg8bit/{train,val}/<city>/<name>_leftImg8bit.png`` and
``gtFine/{train,val}/<city>/<name>_gtFine_labelIds.png``. The label ids map to the 19 training classes (every other
id is 255, ignored), as the Cityscapes scripts do; ``val`` is the test split, as in the paper. Images and masks keep
their size (2048×1024) and are read from their files on access (decoded, the training split is 19 GB). Scenes are not
stratified by class: road covers the most pixels of nearly every one."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from storagebench.errors import StorageBenchError
from storagebench.paths import inside
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits, PathParams
from storagebench.tasks.file_images import FileImages
from storagebench.tasks.registry import DATASETS
from storagebench.tasks.targets.masks import Masks

# label id → train id (cityscapesScripts' labels.py); the 19 classes in train-id order
TRAIN_IDS = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13,
             27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
CLASSES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
           "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")
IMAGE_SUFFIX, MASK_SUFFIX = "_leftImg8bit.png", "_gtFine_labelIds.png"


def label_lookup() -> np.ndarray:
    lookup = np.full(256, 255, dtype=np.uint8)
    for label_id, train_id in TRAIN_IDS.items():
        lookup[label_id] = train_id
    return lookup


@DATASETS.register("cityscapes")
class Cityscapes(Dataset):
    """Cityscapes fine annotations: 19 classes, 255 ignored; train → train, val → test."""

    Params = PathParams

    def load(self) -> LabelledSplits:
        root = self.required_root("the Cityscapes folder (holding leftImg8bit/ and gtFine/)")
        train, test = (self._split(root, split) for split in ("train", "val"))
        return LabelledSplits(train, test, CLASSES, str(root))

    @staticmethod
    def _split(root: Path, split: str) -> ImageSet:
        image_dir = root / "leftImg8bit" / split
        if not image_dir.is_dir():
            raise StorageBenchError(f"{image_dir}: missing; Cityscapes needs leftImg8bit/{{train,val}}/<city>/ and "
                                    f"gtFine/{{train,val}}/<city>/")
        images = [inside(root, str(path.relative_to(root)), f"{image_dir}")  # a symlink out is refused
                  for path in sorted(image_dir.glob(f"*/*{IMAGE_SUFFIX}"))]
        if not images:
            raise StorageBenchError(f"{image_dir}: no <city>/*{IMAGE_SUFFIX} images")
        masks = [inside(root, f"gtFine/{split}/{path.parent.name}/{path.name.replace(IMAGE_SUFFIX, MASK_SUFFIX)}",
                        f"{root / 'gtFine' / split}") for path in images]
        missing = next((m for m in masks if not m.is_file()), None)
        if missing is not None:
            raise StorageBenchError(f"{missing}: missing label ids for {missing.name.replace(MASK_SUFFIX, '')}")
        pixels, labels = FileImages(images, "RGB"), FileImages(masks, "L", lookup=label_lookup())
        wrong = np.flatnonzero((pixels.shapes[:, :2] != labels.shapes).any(axis=1))
        if len(wrong):
            i = int(wrong[0])
            (mh, mw), (ih, iw) = labels.shapes[i].tolist(), pixels.shapes[i, :2].tolist()
            raise StorageBenchError(f"{masks[i]}: {mw}×{mh} pixels, its image {images[i].name} {iw}×{ih}")
        return ImageSet(pixels, np.zeros(len(images), dtype=np.int64), Masks(labels), tuple(map(str, images)))
