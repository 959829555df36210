"""Fashion-MNIST from gzipped (or plain) idx files: Debian's ``dataset-fashion-mnist`` or a directory you name."""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from storagebench.errors import StorageBenchError
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits, PathParams
from storagebench.tasks.registry import DATASETS

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DATA_ENV = "STORAGEBENCH_DATA"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
HOW_TO_GET = (f"install Debian's package (apt-get install dataset-fashion-mnist, which puts it in {DEBIAN_DIR}), "
              f"or run `storagebench download fashion-mnist DIR` where there is internet and pass --data DIR "
              f"(or set {DATA_ENV}=DIR)")


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file of unsigned bytes, gzipped or not; any damage is one error naming the file."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise StorageBenchError(f"{path}: cannot be read ({exc}); the file is truncated or corrupt") from exc
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise StorageBenchError(f"{path}: not an idx file of unsigned bytes (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise StorageBenchError(f"{path}: truncated idx header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected:
        raise StorageBenchError(f"{path}: holds {len(raw)} bytes but its header {dims} needs {expected}; "
                                f"the file is truncated or corrupt")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _find(directory: Path, stem: str) -> Path | None:
    for folder in (directory, directory / "FashionMNIST" / "raw"):
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


FashionMnistParams = PathParams


@DATASETS.register("fashion-mnist")
class FashionMnist(Dataset):
    """Zalando's Fashion-MNIST: 60,000 train / 10,000 test gray 28×28 images in 10 classes."""

    Params = FashionMnistParams

    def directory(self) -> Path:
        chosen = self.params.path or os.environ.get(DATA_ENV, "")
        return Path(chosen).expanduser() if chosen else DEBIAN_DIR

    def load(self) -> LabelledSplits:
        directory = self.directory()
        splits = {}
        for split, (image_stem, label_stem) in FILES.items():
            image_path, label_path = _find(directory, image_stem), _find(directory, label_stem)
            if image_path is None or label_path is None:
                missing = image_stem if image_path is None else label_stem
                raise StorageBenchError(f"Fashion-MNIST not found: no {missing}[.gz] in {directory}. To get it, "
                                        f"{HOW_TO_GET}")
            splits[split] = self._read_split(image_path, label_path)
        return LabelledSplits(splits["train"], splits["test"], CLASSES, str(directory))

    @staticmethod
    def _read_split(image_path: Path, label_path: Path) -> ImageSet:
        images, labels = read_idx(image_path), read_idx(label_path)
        if images.ndim != 3:
            raise StorageBenchError(f"{image_path}: expected N×28×28 images, header says {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise StorageBenchError(f"{label_path}: {labels.shape[0]} labels for {len(images)} images in "
                                    f"{image_path.name}")
        if labels.max(initial=0) >= len(CLASSES):
            raise StorageBenchError(f"{label_path}: label {labels.max()} is not one of the 10 classes")
        return ImageSet(images, labels.astype(np.int64))

    def download(self, root: str) -> str:
        """Fetch the idx files with torchvision (needs internet); returns the directory to pass as --data."""
        from storagebench.torchvision_compat import import_torchvision

        datasets = import_torchvision().datasets
        for train in (True, False):
            datasets.FashionMNIST(root, train=train, download=True)
        return str(Path(root) / "FashionMNIST" / "raw")
