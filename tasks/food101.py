"""Food101 in torchvision's on-disk layout: ``food-101/meta/{classes,train,test}.txt`` and
``food-101/images/<class>/<id>.jpg`` (``path`` is the folder holding ``food-101/``, as torchvision downloads it, or
``food-101/`` itself). As in the paper, the official train list is split 80/20 by a seeded shuffle and the 80 % is
the training split (60,600 images); the official test list (25,250) is the test split. Photographs keep their own
sizes and are read from their files on access (``FileImages``): decoded, the set does not fit in memory."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from storagebench.errors import StorageBenchError
from storagebench.paths import inside
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits
from storagebench.tasks.file_images import FileImages
from storagebench.tasks.registry import DATASETS


@dataclass(frozen=True)
class Food101Params:
    path: str = ""
    train_fraction: float = 0.8  # of the official train list; the rest is held out (the paper's validation)
    split_seed: int = 42

    def check(self) -> str | None:
        return None if 0 < self.train_fraction <= 1 else "train_fraction must be in (0, 1]"


def _lines(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        raise StorageBenchError(f"{path}: missing; Food101 needs food-101/meta/classes.txt, train.txt and test.txt "
                                f"(torchvision's layout: `storagebench download food101 DIR` where there is "
                                f"internet)") from None


@DATASETS.register("food101")
class Food101(Dataset):
    """Food101 (torchvision's layout), the paper's 80 % of the train list and the official test list."""

    Params = Food101Params

    def root(self) -> Path:
        given = self.required_root("the Food101 folder (holding food-101/)")
        return given / "food-101" if (given / "food-101").is_dir() else given

    def load(self) -> LabelledSplits:
        root = self.root()
        classes = tuple(_lines(root / "meta" / "classes.txt"))
        train = self._split(root, "train", classes)
        order = np.random.default_rng(self.params.split_seed).permutation(len(train[0]))
        kept = np.sort(order[:round(self.params.train_fraction * len(order))])
        test = self._split(root, "test", classes)
        return LabelledSplits(self._set([train[0][i] for i in kept], train[1][kept]),
                              self._set(*test), classes, str(root))

    @staticmethod
    def _set(paths: list[Path], labels: np.ndarray) -> ImageSet:
        return ImageSet(FileImages(paths, "RGB"), labels, names=tuple(map(str, paths)))

    @staticmethod
    def _split(root: Path, split: str, classes: tuple[str, ...]) -> tuple[list[Path], np.ndarray]:
        listing = root / "meta" / f"{split}.txt"
        paths, labels = [], []
        for number, entry in enumerate(_lines(listing), start=1):
            name = entry.partition("/")[0]
            if name not in classes:
                raise StorageBenchError(f"{listing}: line {number}: {entry!r} is not in a class of classes.txt")
            paths.append(inside(root / "images", f"{entry}.jpg", f"{listing}: line {number}"))
            labels.append(classes.index(name))
        missing = next((p for p in paths if not p.is_file()), None)
        if missing is not None:
            raise StorageBenchError(f"{missing}: listed in {listing} but missing")
        return paths, np.array(labels, dtype=np.int64)

    def download(self, root: str) -> str:
        """Fetch Food101 with torchvision (needs internet, 5 GB); returns the folder to pass as --data."""
        from storagebench.torchvision_compat import import_torchvision

        import_torchvision().datasets.Food101(root, download=True)
        return str(root)
