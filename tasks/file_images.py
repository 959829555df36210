"""Images read from their files on access (``LazyImages``): what a reader gives for a dataset too large to decode
into memory (Food101's 101,000 photographs are 60 GB decoded). Sizes come from the headers when the set is made;
pixels are decoded each time an image is read — by the store's encoding workers once per codec and level, and by
the lossless check — and never all at once. The set is named by its files' bytes."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.images import Images, LazyImages, as_images
from storagebench.memory import default_memory_bytes
from storagebench.paths import cache_home
from storagebench.tasks.image_folder import open_header, open_image, to_uint8

CHANNELS = {"L": 0, "RGB": 3}
READ = ("auto", "memory", "access")  # a reader's ``read`` key: how it gives a user folder's images


def file_sets(lazy: list[FileImages], read: str) -> list[Images]:
    """Each split's files (``FileImages``: sizes read from the headers) as images, decoded into memory (``read =
    "memory"``) or left to be read on access (``"access"``); ``"auto"`` reads on access when decoded, the splits
    together would take more than a quarter of the memory available."""
    decoded = sum(int(np.prod(images.shapes, axis=1).sum()) for images in lazy)
    if read == "access" or (read == "auto" and decoded > default_memory_bytes() // 2):
        return lazy
    return [as_images(list(images)) for images in lazy]


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
            self._file_digests = file_digests(self.paths)
        hasher.update(self._file_digests)


def file_digests(paths: list[Path]) -> bytes:
    """Each file's sha256, concatenated. Reading 5 GB of photographs at every load is slow, so digests are kept in
    the cache (``$STORAGEBENCH_CACHE/file-digests``) beside each file's size and modification time, and a file is
    read again only when either changed (as make and rsync decide; an edit that keeps both is not seen)."""
    stats = np.array([(st.st_size, st.st_mtime_ns) for st in (path.stat() for path in paths)], np.int64)
    stats = stats.reshape(len(paths), 2)
    names = "\n".join(str(path.resolve()) for path in paths).encode()
    cached = cache_home() / "file-digests" / f"{hashlib.sha256(names).hexdigest()}.npz"
    digests = np.zeros((len(paths), 32), np.uint8)
    fresh = np.ones(len(paths), bool)
    try:
        with np.load(cached) as kept:
            if kept["stats"].shape == stats.shape:
                fresh = (kept["stats"] != stats).any(axis=1)
                digests[~fresh] = kept["digests"][~fresh]
    except (OSError, ValueError, KeyError):
        pass  # no cache yet, or an unreadable one: read every file
    for i in np.flatnonzero(fresh):
        digests[i] = np.frombuffer(hashlib.sha256(paths[i].read_bytes()).digest(), np.uint8)
    if fresh.any():
        _save_digests(cached, stats, digests)
    return digests.tobytes()


def _save_digests(path: Path, stats: np.ndarray, digests: np.ndarray) -> None:
    """Written to a temporary file, then renamed: a reader never sees half a cache (an unwritable cache is
    skipped)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(temporary, "wb") as out:
            np.savez(out, stats=stats, digests=digests)
        os.replace(temporary, path)
    except OSError:
        pass
