"""iSAID's 800×800 patches as the iSAID devkit writes them and mmdetection reads them:
``ROOT/{train,val}/images/*.png`` with ``ROOT/train/instancesonly_filtered_train.json`` and
``ROOT/val/instancesonly_filtered_val.json`` (COCO format, 15 categories, polygon outlines). Val is the test split,
as in the paper. Each object keeps its box and outline (instance targets, for Mask R-CNN); patches are read from their
files on access (``FileImages``): decoded, the 28,029 training patches are 54 GB."""
from __future__ import annotations

from storagebench.tasks.coco import class_names, read_split
from storagebench.tasks.dataset import Dataset, LabelledSplits, PathParams
from storagebench.tasks.registry import DATASETS


@DATASETS.register("isaid")
class Isaid(Dataset):
    """iSAID's devkit patches (COCO JSON per split, polygons), val as the test split, read on access."""

    Params = PathParams

    def load(self) -> LabelledSplits:
        root = self.required_root("the iSAID patches folder (train/ and val/ inside, as the devkit writes them)")
        (train, train_categories), (test, test_categories) = (
            read_split(root / split / f"instancesonly_filtered_{split}.json", root / split / "images", "RGB",
                       masks=True, read="access")
            for split in ("train", "val"))
        return LabelledSplits(train, test, class_names(root, train_categories, test_categories), str(root))
