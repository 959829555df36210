"""A store entry read on access: ``StoredImages`` hands out one decoded image at a time from the entry's
memory-mapped ``bitstreams.bin`` (where its binary index says, checked against the item's sha256), so a set too large
to decode into memory trains through the task's DataLoader (``tasks/loader.py``) instead. Pickling sends only the
entry's folder, its manifest and the positions; each process maps the file itself.

Decoding here runs in the training processes, so it is for the built-in codecs (restored from their declared
state); a submitted codec decodes only inside its contained processes, which stream nothing yet.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from storagebench.benchmarks.harness.store import (
    StoredSet,
    check_lossless,
    decode_verified,
    item_chunks,
    item_level,
)
from storagebench.compressors import LOSSLESS
from storagebench.compressors.decoding import ContainedDecoder, Decoder
from storagebench.errors import StorageBenchError
from storagebench.images import Images, LazyImages, same_pixels
from storagebench.log import say
from storagebench.memory import default_memory_bytes
from storagebench.parallel import parallel_map


class StoredImages(LazyImages):
    def __init__(self, entry: StoredSet, decoder: Decoder, positions: np.ndarray | None = None):
        if isinstance(decoder, ContainedDecoder):
            raise StorageBenchError(f"{decoder.name}: a submitted codec decodes only in its contained processes, so "
                                    f"its sets are decoded into memory, not streamed; raise --memory-gb")
        self.entry, self.decoder = entry, decoder
        self.positions = np.arange(len(entry.sizes)) if positions is None else np.asarray(positions, np.int64)
        self._mapped: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"entry": StoredSet(self.entry.path, self.entry.manifest), "decoder": self.decoder,
                "positions": self.positions, "_mapped": None}

    def __len__(self) -> int:
        return len(self.positions)

    def _bitstreams(self) -> np.ndarray:
        if self._mapped is None:
            self._mapped = np.memmap(self.entry.bitstreams_path, dtype=np.uint8, mode="r")
        return self._mapped

    def item(self, i: int) -> np.ndarray:
        position = int(self.positions[i])
        index = self.entry.index
        start, size = int(index["offset"][position]), int(index["size"][position])
        stream = self._bitstreams()[start:start + size].tobytes()
        if hashlib.sha256(stream).digest() != index["sha256"][position].tobytes():
            raise StorageBenchError(f"{self.entry.path}: item {position} does not match its sha256; delete the "
                                    f"folder and re-run")
        image = np.asarray(self.decoder.decode(stream, item_level(self.entry.levels, position)))
        expected = tuple(int(v) for v in self.entry.item_shapes[position])
        if image.shape != expected or image.dtype != np.uint8:
            raise StorageBenchError(f"{self.decoder.name} decoded item {position} to {image.dtype} {image.shape}, "
                                    f"expected uint8 {expected}")
        return image

    def subset(self, positions: np.ndarray) -> StoredImages:
        return StoredImages(self.entry, self.decoder, self.positions[positions])

    @property
    def shapes(self) -> np.ndarray:
        return self.entry.item_shapes[self.positions]

    def update_digest(self, hasher: Any) -> None:
        """The stored bitstreams' sha256s and shapes, and the decoder: decoding is deterministic, so they name the
        pixels a model trains on without decoding them here."""
        hasher.update(b"stored bitstreams, decoded by " + self.decoder.name.encode())
        hasher.update(np.ascontiguousarray(self.entry.index["sha256"][self.positions]).data)
        hasher.update(np.ascontiguousarray(self.shapes).data)


def decoded_bytes(entry: StoredSet) -> int:
    """What the entry takes decoded into memory."""
    return int(np.prod(entry.item_shapes, axis=1).sum())


def _changed(job: dict[str, Any], bounds: tuple[int, int]) -> list[int]:
    lazy, images = job["lazy"], job["images"]
    part = lazy[np.arange(*bounds)]
    sources = images[lazy.entry.dataset_index[bounds[0]:bounds[1]]]
    return [bounds[0] + int(i) for i in np.flatnonzero(~same_pixels(list(part), list(sources)))]


def stream_verified(entry: StoredSet, decoder: Decoder, images: Images, workers: int) -> StoredImages:
    """The entry read on access; a lossless entry is first decoded once, a chunk at a time in parallel, and compared
    with its sources (as ``decode_verified`` does in memory)."""
    lazy = StoredImages(entry, decoder)
    if entry.manifest["level"] == LOSSLESS:
        parts = parallel_map(_changed, {"lazy": lazy, "images": images}, item_chunks(len(lazy)), workers=workers,
                             total=len(lazy), desc=f"check lossless {entry.manifest['split']}", unit="img",
                             weight=lambda b: b[1] - b[0])
        changed = [i for part in parts for i in part]
        check_lossless(entry, decoder.name, np.array(changed, dtype=np.int64))
    return lazy


def readable_sets(entries: dict[str, dict[Any, StoredSet]], decoder: Decoder, splits: Any, workers: int,
                  memory_bytes: int | None) -> dict[str, dict[Any, tuple[StoredSet, Images]]]:
    """Every entry the cells need as (entry, images): decoded once into memory, or — when the decoded sets would
    not fit in ``memory_bytes`` (default: ``default_memory_bytes``) — read on access: training sets by the task's
    loader workers, test sets a chunk at a time as each cell is evaluated."""
    budget = default_memory_bytes() if memory_bytes is None else memory_bytes
    needed = sum(decoded_bytes(entry) for by_level in entries.values() for entry in by_level.values())
    stream = needed > budget
    if stream:
        say(f"the decoded sets take {needed / 1e9:.2f} GB, more than the memory budget of {budget / 1e9:.2f} GB "
            f"(--memory-gb): training and test images are read from the store on access")
    read = stream_verified if stream else decode_verified
    return {split: {level: (entry, read(entry, decoder, splits.split(split).images, workers))
                    for level, entry in by_level.items()} for split, by_level in entries.items()}
