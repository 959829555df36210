"""Images of any size. A split whose images share one size is one uint8 N×H×W[×C] array (the fast path, one
block of memory); one whose sizes differ is a ``RaggedImages``: every image at its own size, back to back in one uint8
buffer with an offset and a shape per image. Both index the same way (``images[i]`` is one H×W[×C] array,
``images[indices]`` a subset of the same kind) and iterate image by image, so readers, the store and the codecs
treat them alike; only a task's preprocessing (``tasks/preprocess.py``) turns them into one training size.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Union

import numpy as np


@dataclass(frozen=True, eq=False)
class RaggedImages:
    """``buffer``: every image's pixels back to back (uint8, C order); ``offsets``: N + 1 positions in it;
    ``shapes``: N×2 (gray) or N×3 (H, W, C) int64."""

    buffer: np.ndarray
    offsets: np.ndarray
    shapes: np.ndarray

    dtype = np.dtype(np.uint8)

    def __post_init__(self) -> None:
        if self.buffer.dtype != np.uint8 or self.buffer.ndim != 1:
            raise ValueError(f"a ragged image buffer is flat uint8, got {self.buffer.dtype} {self.buffer.shape}")
        if self.shapes.ndim != 2 or self.shapes.shape[1] not in (2, 3) or len(self.offsets) != len(self.shapes) + 1:
            raise ValueError(f"{len(self.offsets)} offsets for {len(self.shapes)} image shapes {self.shapes.shape}")
        if len(self.shapes) and self.shapes.shape[1] == 3 and len(set(self.shapes[:, 2].tolist())) > 1:
            raise ValueError(f"images must share one channel count, got {sorted(set(self.shapes[:, 2].tolist()))}")
        if not np.array_equal(np.diff(self.offsets), np.prod(self.shapes, axis=1)):
            raise ValueError("ragged image offsets do not match their shapes")

    @classmethod
    def from_arrays(cls, arrays: Iterable[np.ndarray]) -> RaggedImages:
        arrays = [np.ascontiguousarray(a, dtype=np.uint8) for a in arrays]
        shapes = np.array([a.shape for a in arrays], dtype=np.int64).reshape(len(arrays), -1)
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        np.cumsum([a.size for a in arrays], out=offsets[1:])
        buffer = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0, np.uint8)
        return cls(buffer, offsets, shapes)

    @classmethod
    def concatenate(cls, parts: Iterable[RaggedImages]) -> RaggedImages:
        parts = list(parts)
        if not parts:
            return cls.from_arrays([])
        ends = np.cumsum([0] + [p.nbytes for p in parts[:-1]])
        offsets = np.concatenate([parts[0].offsets[:1]] + [p.offsets[1:] + end for p, end in zip(parts, ends)])
        return cls(np.concatenate([p.buffer for p in parts]), offsets,
                   np.concatenate([p.shapes for p in parts]))

    def __len__(self) -> int:
        return len(self.shapes)

    def __getitem__(self, index: Any) -> Union[np.ndarray, RaggedImages]:
        if isinstance(index, (int, np.integer)):
            i = range(len(self))[index]
            return self.buffer[self.offsets[i]:self.offsets[i + 1]].reshape(tuple(self.shapes[i]))
        positions = np.arange(len(self))[index]
        return RaggedImages.from_arrays(self[int(i)] for i in positions)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    @property
    def nbytes(self) -> int:
        return int(self.offsets[-1])

    @property
    def channels(self) -> int:
        return 1 if self.shapes.shape[1] == 2 else int(self.shapes[0, 2])


class LazyImages(abc.ABC):
    """Images read on access, never held together (a store entry too large to decode into memory: the harness's
    ``StoredImages``). Picklable and cheap to pickle, so DataLoader workers read them themselves."""

    dtype = np.dtype(np.uint8)

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def item(self, i: int) -> np.ndarray:
        """Image ``i``, decoded."""

    @abc.abstractmethod
    def subset(self, positions: np.ndarray) -> LazyImages:
        """The images at ``positions``, still unread."""

    @property
    @abc.abstractmethod
    def shapes(self) -> np.ndarray:
        """N×2 or N×3: each image's decoded shape, known without decoding."""

    @abc.abstractmethod
    def update_digest(self, hasher: Any) -> None:
        """Add what names these images' content (without decoding them) to a sha256."""

    def source_file(self, i: int) -> bytes | None:
        """The bytes of the file image ``i`` is read from, where decoding them as they are gives exactly
        ``item(i)`` (a codec may keep such a file as its original format: a JPEG's own bytes, or their lossless
        transcoding); None by default."""
        return None

    def __getitem__(self, index: Any) -> Union[np.ndarray, LazyImages]:
        if isinstance(index, (int, np.integer)):
            return self.item(range(len(self))[index])
        return self.subset(np.arange(len(self))[index])

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.item(i) for i in range(len(self)))

    @property
    def channels(self) -> int:
        return 1 if self.shapes.shape[1] == 2 else int(self.shapes[0, 2])


Images = Union[np.ndarray, RaggedImages, LazyImages]


def as_images(arrays: Iterable[np.ndarray]) -> Images:
    """Per-image uint8 arrays as one stacked array when they share a shape, else as ``RaggedImages``."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("no images")
    if all(a.shape == arrays[0].shape for a in arrays):
        return np.stack(arrays)
    return RaggedImages.from_arrays(arrays)


def concatenate(parts: list[Images]) -> Images:
    """Consecutive parts of one set (all stacked arrays, or all ragged) as one."""
    if all(not is_ragged(p) for p in parts):
        return np.concatenate(parts)
    return RaggedImages.concatenate(p if is_ragged(p) else RaggedImages.from_arrays(p) for p in parts)


def is_ragged(images: Images) -> bool:
    """Not one stacked array: images of their own sizes (``RaggedImages``) or read on access (``LazyImages``)."""
    return isinstance(images, (RaggedImages, LazyImages))


def is_lazy(images: Images) -> bool:
    return isinstance(images, LazyImages)


def image_channels(images: Images) -> int:
    if is_ragged(images):
        return images.channels
    return 1 if images.ndim == 3 else int(images.shape[3])


def image_shapes(images: Images) -> np.ndarray:
    """N×2 or N×3 int64: each image's own shape."""
    if is_ragged(images):
        return images.shapes
    return np.tile(np.array(images.shape[1:], dtype=np.int64), (len(images), 1))


def pixel_shape(images: Images) -> tuple[int, ...] | None:
    """The one H×W[×C] every image has, or None when their sizes differ."""
    return tuple(images.shape[1:]) if not is_ragged(images) else None


def describe_sizes(images: Images) -> str:
    """'28×28' or '96..512 × 101..498' (height range × width range) for messages and logs."""
    shapes = image_shapes(images)
    if not len(shapes):
        return "no images"
    (h0, w0), (h1, w1) = shapes[:, :2].min(0), shapes[:, :2].max(0)
    return f"{h0}×{w0}" if (h0, w0) == (h1, w1) else f"{h0}..{h1} × {w0}..{w1}"


def centre_crops(images: Images, most: int) -> np.ndarray:
    """One stacked set from images of any sizes: each image's centre square of the smallest side among them (at most
    ``most``): what a model that needs one size (a learned codec) trains on."""
    if not is_ragged(images):
        return images
    side = int(min(most, images.shapes[:, :2].min()))
    return np.stack([a[(a.shape[0] - side) // 2:(a.shape[0] - side) // 2 + side,
                       (a.shape[1] - side) // 2:(a.shape[1] - side) // 2 + side] for a in images])


def update_digest(hasher: Any, images: Images) -> None:
    """Add the images' shapes and pixels to a sha256 (what makes two sets the same content)."""
    if is_lazy(images):
        images.update_digest(hasher)
    elif is_ragged(images):
        hasher.update(np.ascontiguousarray(images.shapes).data)
        hasher.update(np.ascontiguousarray(images.buffer).data)
    else:
        hasher.update(np.ascontiguousarray(images).data)


def same_pixels(a: Images, b: Images) -> np.ndarray:
    """Per image: whether a[i] and b[i] are the same shape and pixels (bool, N)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape != b.shape:
            return np.zeros(len(a), dtype=bool)
        return ~(a != b).reshape(len(a), -1).any(axis=1)
    return np.array([x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b)], dtype=bool)
