"""Bring-your-own images: ``ROOT/train/<class>/*.png|jpg`` and ``ROOT/test/<class>/*.png|jpg``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, UnidentifiedImageError

from storagebench.errors import StorageBenchError
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits
from storagebench.tasks.registry import DATASETS

SUFFIXES = {".png", ".jpg", ".jpeg"}
GRAY_MODES = {"1", "L", "LA", "I;16", "I"}


@dataclass(frozen=True)
class ImageFolderParams:
    path: str = ""
    mode: str = "auto"  # "L" (gray), "RGB", or "auto": gray when every image is gray

    def check(self) -> str | None:
        if self.mode not in ("auto", "L", "RGB"):
            return f"mode must be 'auto', 'L' or 'RGB', got {self.mode!r}"
        return None


def _image_files(split_dir: Path) -> dict[str, list[Path]]:
    if not split_dir.is_dir():
        raise StorageBenchError(f"{split_dir}: missing; an image folder needs train/<class>/ and test/<class>/")
    classes = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in SUFFIXES)
               for d in sorted(split_dir.iterdir()) if d.is_dir()}
    if not classes or not any(classes.values()):
        raise StorageBenchError(f"{split_dir}: no class folders with .png/.jpg images")
    return classes


def open_image(path: Path) -> Image.Image:
    """Open and fully read an image; an unreadable file is one error naming it."""
    try:
        image = Image.open(path)
        image.load()
    except (OSError, UnidentifiedImageError) as exc:
        raise StorageBenchError(f"{path}: not a readable image ({exc})") from exc
    return image


def stack_same_size(items: Iterable[tuple[Path, Image.Image]], mode: str) -> np.ndarray:
    """Convert each opened image to ``mode`` and stack them; one whose size differs from the first is one error
    naming both files."""
    arrays, first = [], None
    for path, image in items:
        first = first or (path, image.size)
        if image.size != first[1]:
            raise StorageBenchError(f"{path}: size {image.size} differs from {first[0].name} {first[1]}; all images "
                                    f"must share one size (resize them first)")
        arrays.append(np.asarray(image.convert(mode), dtype=np.uint8))
    return np.stack(arrays)


@DATASETS.register("image-folder")
class ImageFolder(Dataset):
    """Class-per-folder PNG/JPEG images of one size; classes are the train folder names, sorted."""

    Params = ImageFolderParams

    def load(self) -> LabelledSplits:
        root = self.required_root("the image folder root")
        files = {split: _image_files(root / split) for split in ("train", "test")}
        classes = tuple(files["train"])
        unknown = sorted(set(files["test"]) - set(classes))
        if unknown:
            raise StorageBenchError(f"{root / 'test'}: class folder(s) {', '.join(unknown)} not in {root / 'train'}")
        opened = {split: [(open_image(p), p, classes.index(c)) for c, paths in by_class.items() for p in paths]
                  for split, by_class in files.items()}
        mode = self.params.mode
        if mode == "auto":
            every = [img for items in opened.values() for img, _, _ in items]
            mode = "L" if all(img.mode in GRAY_MODES for img in every) else "RGB"
        train, test = (ImageSet(stack_same_size(((p, img) for img, p, _ in opened[s]), mode),
                                np.array([label for _, _, label in opened[s]], dtype=np.int64))
                       for s in ("train", "test"))
        return LabelledSplits(train, test, classes, str(root))
