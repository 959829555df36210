"""Images read from their files on access (``LazyImages``): what a reader gives for a dataset too large to decode
into memory (Food101's 101,000 photographs are 60 GB decoded). Sizes come from the headers when the set is made;
pixels are decoded each time an image is read — by the store's encoding workers once per codec and level, and by
the lossless check — and never all at once. The set is named by its files' bytes."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.images import LazyImages
from storagebench.tasks.image_folder import open_header, open_image, to_uint8

CHANNELS = {"L": 0, "RGB": 3}


class FileImages(LazyImages):
    """``paths`` read as ``mode`` ("L" or "RGB"); a ``lookup`` table (256 entries) maps each read pixel value (how a
    dataset's label ids become training class ids)."""

    def __init__(self, paths: list[Path], mode: str, shapes: np.ndarray | None = None,
                 lookup: np.ndarray | None = None):
        self.paths, self.mode, self.lookup = list(paths), mode, lookup
        self._file_digests: bytes | None = None
        if shapes is None:
            sizes = [open_header(path).size for path in self.paths]  # (width, height), from the headers alone
            rows = [(h, w, CHANNELS[mode]) if CHANNELS[mode] else (h, w) for w, h in sizes]
            shapes = np.array(rows, dtype=np.int64).reshape(len(self.paths), 2 if mode == "L" else 3)
        self._shapes = shapes

    def __len__(self) -> int:
        return len(self.paths)

    def item(self, i: int) -> np.ndarray:
        path = self.paths[i]
        expected = tuple(int(v) for v in self._shapes[i, 1::-1])  # (width, height) as Pillow gives it
        pixels = to_uint8(open_image(path, expected, "its size when the dataset was read"), self.mode, path)
        return pixels if self.lookup is None else self.lookup[pixels]

    def source_file(self, i: int) -> bytes | None:
        """The file's bytes when Pillow decodes it to this set's mode as it is (a gray JPEG read as RGB is not)."""
        if self.lookup is not None or open_header(self.paths[i]).mode != self.mode:
            return None
        return self.paths[i].read_bytes()

    def subset(self, positions: np.ndarray) -> FileImages:
        return FileImages([self.paths[int(p)] for p in positions], self.mode, self._shapes[positions], self.lookup)

    def stored_sizes(self) -> np.ndarray:
        """Each file's bytes on disk."""
        return np.array([path.stat().st_size for path in self.paths], dtype=np.int64)

    @property
    def shapes(self) -> np.ndarray:
        return self._shapes

    def update_digest(self, hasher: Any) -> None:
        """The files' bytes (what the pixels are decoded from) and the mode they are read in."""
        hasher.update(f"files read as {self.mode}".encode())
        if self.lookup is not None:
            hasher.update(self.lookup.tobytes())
        if self._file_digests is None:  # read once: a split's two fingerprints (all, pixels) both need them
            self._file_digests = b"".join(hashlib.sha256(path.read_bytes()).digest() for path in self.paths)
        hasher.update(self._file_digests)
