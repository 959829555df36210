"""Bring-your-own images: ``ROOT/train/<class>/*.png|jpg`` and ``ROOT/test/<class>/*.png|jpg``, each kept at its own
size (a task's ``resize`` brings them to one training size)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, UnidentifiedImageError

from storagebench.errors import StorageBenchError
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits
from storagebench.images import Images, as_images
from storagebench.tasks.registry import DATASETS

SUFFIXES = {".png", ".jpg", ".jpeg"}
GRAY_MODES = {"1", "L", "LA", "I;16", "I;16L", "I;16B", "I;16N", "I", "F"}


@dataclass(frozen=True)
class ImageFolderParams:
    path: str = ""
    mode: str = "auto"  # "L" (gray), "RGB", or "auto": gray when every image is gray
    read: str = "auto"  # "memory", "access" (from the files, as used), "auto": on access when too large for memory

    def check(self) -> str | None:
        if self.mode not in ("auto", "L", "RGB"):
            return f"mode must be 'auto', 'L' or 'RGB', got {self.mode!r}"
        return None if self.read in ("auto", "memory", "access") else \
            f"read must be 'auto', 'memory' or 'access', got {self.read!r}"


def _image_files(split_dir: Path) -> dict[str, list[Path]]:
    if not split_dir.is_dir():
        raise StorageBenchError(f"{split_dir}: missing; an image folder needs train/<class>/ and test/<class>/")
    classes = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in SUFFIXES)
               for d in sorted(split_dir.iterdir()) if d.is_dir()}
    if not classes or not any(classes.values()):
        raise StorageBenchError(f"{split_dir}: no class folders with .png/.jpg images")
    return classes


MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # Pillow's decompression-bomb threshold (about 89 million pixels)
SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N"}


def open_header(path: Path, expected_size: tuple[int, int] | None = None, expected_from: str = "") -> Image.Image:
    """Open an image reading only its header: a file that is not an image, has more than ``MAX_PIXELS`` pixels, or
    (given ``expected_size``, which ``expected_from`` names) has another size is one error naming it, before any
    pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, with its size
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise StorageBenchError(f"{path}: refused, too many pixels for one image ({exc})") from None
    except (OSError, UnidentifiedImageError) as exc:
        raise StorageBenchError(f"{path}: not a readable image ({exc})") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise StorageBenchError(f"{path}: refused, {width}×{height} is more than {MAX_PIXELS:,} pixels (a "
                                f"decompression bomb or not a training image)")
    if expected_size is not None and image.size != tuple(expected_size):
        raise StorageBenchError(f"{path}: size {image.size} differs from {expected_from} {tuple(expected_size)}")
    return image


def open_image(path: Path, expected_size: tuple[int, int] | None = None, expected_from: str = "") -> Image.Image:
    """``open_header``, then decode every pixel; an unreadable file is one error naming it."""
    image = open_header(path, expected_size, expected_from)
    try:
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise StorageBenchError(f"{path}: not a readable image ({exc})") from exc
    return image


def to_uint8(image: Image.Image, mode: str, path: Path) -> np.ndarray:
    """The image as uint8 in ``mode`` ("L" or "RGB"). 16-bit gray is scaled to 8 bits (round(v·255/65535)), not
    clipped; 32-bit integer and float images are refused."""
    if image.mode in SIXTEEN_BIT:
        wide = np.asarray(image, dtype=np.uint32)
        gray = ((wide * 255 + 32767) // 65535).astype(np.uint8)
        return gray if mode == "L" else np.repeat(gray[..., None], 3, axis=2)
    if image.mode in ("I", "F"):
        raise StorageBenchError(f"{path}: {image.mode} images (32-bit {'integer' if image.mode == 'I' else 'float'} "
                                f"pixels) are not supported; store 8- or 16-bit images")
    return np.asarray(image.convert(mode), dtype=np.uint8)


def read_images(paths: Iterable[Path], mode: str) -> Images:
    """Decode each image into ``mode``, each at its own size: one stacked array when they share a size, else
    ``RaggedImages``."""
    arrays = [to_uint8(open_image(path), mode, path) for path in paths]
    if not arrays:
        raise StorageBenchError("no images to read")
    return as_images(arrays)


@DATASETS.register("image-folder")
class ImageFolder(Dataset):
    """Class-per-folder PNG/JPEG images of any sizes; classes are the train folder names, sorted."""

    Params = ImageFolderParams

    def load(self) -> LabelledSplits:
        root = self.required_root("the image folder root")
        files = {split: _image_files(root / split) for split in ("train", "test")}
        classes = tuple(files["train"])
        unknown = sorted(set(files["test"]) - set(classes))
        if unknown:
            raise StorageBenchError(f"{root / 'test'}: class folder(s) {', '.join(unknown)} not in {root / 'train'}")
        listed = {split: [(p, classes.index(c)) for c, paths in by_class.items() for p in paths]
                  for split, by_class in files.items()}
        mode = self.params.mode
        if mode == "auto":  # from the headers: nothing is decoded twice
            every = [p for items in listed.values() for p, _ in items]
            mode = "L" if all(open_header(p).mode in GRAY_MODES for p in every) else "RGB"
        from storagebench.tasks.file_images import FileImages, file_sets  # they read files with this module's

        images = file_sets([FileImages([p for p, _ in listed[s]], mode) for s in ("train", "test")], self.params.read)
        train, test = (ImageSet(split_images, np.array([label for _, label in listed[s]], dtype=np.int64),
                                names=tuple(str(p) for p, _ in listed[s]))
                       for s, split_images in zip(("train", "test"), images))
        return LabelledSplits(train, test, classes, str(root))
