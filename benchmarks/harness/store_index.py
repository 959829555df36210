"""The binary index of a store entry (``index.npy``): one fixed-size record per item — where its bitstream starts
in ``bitstreams.bin``, its length, its dataset index, its sha256 and its decoded shape — memory-mapped when the
entry opens, so an entry of a million images opens without parsing a million JSON values. The manifest names the
index by its sha256, so the manifest's own sha256 (what results record) covers every record.

Entries of format 1 held these as JSON lists in the manifest; they are still read.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.errors import StorageBenchError

INDEX_FILE = "index.npy"
FORMAT = 2
INDEX_DTYPE = np.dtype([("offset", "<i8"), ("size", "<i8"), ("dataset_index", "<i8"), ("sha256", "u1", (32,)),
                        ("shape", "<i4", (3,))])  # shape: (h, w, channels), channels 0 for a 2-D (gray) image


def build_index(streams: list[bytes], dataset_index: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """The records of ``streams`` (back to back in that order), their dataset indices and decoded shapes (N×2 or
    N×3)."""
    index = np.zeros(len(streams), dtype=INDEX_DTYPE)
    sizes = np.array([len(s) for s in streams], dtype=np.int64)
    index["size"] = sizes
    index["offset"] = np.cumsum(sizes) - sizes
    index["dataset_index"] = dataset_index
    index["sha256"] = np.frombuffer(b"".join(hashlib.sha256(s).digest() for s in streams),
                                    dtype=np.uint8).reshape(-1, 32)
    index["shape"][:, :shapes.shape[1]] = shapes
    return index


def index_bytes(index: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, index, allow_pickle=False)
    return buffer.getvalue()


def load_index(path: Path, manifest: dict[str, Any]) -> np.ndarray:
    """The records of the entry folder ``path``, memory-mapped, checked against the manifest's ``index_sha256``
    (format 1: built from the manifest's lists)."""
    if manifest.get("format", 1) == 1:
        return _index_from_lists(manifest)
    file = path / INDEX_FILE
    try:
        digest = _file_sha256(file)
    except FileNotFoundError:
        raise StorageBenchError(f"{path}: {INDEX_FILE} missing from the cache entry; delete the folder and "
                                f"re-run") from None
    if digest != manifest.get("index_sha256"):
        raise StorageBenchError(f"{path}: {INDEX_FILE} does not match its manifest's sha256 (damaged or edited); "
                                f"delete the folder and re-run")
    index = np.load(file, mmap_mode="r", allow_pickle=False)
    if index.dtype != INDEX_DTYPE or index.shape != (manifest["count"],):
        raise StorageBenchError(f"{path}: {INDEX_FILE} holds {index.shape} {index.dtype} records, not the manifest's "
                                f"{manifest['count']}; delete the folder and re-run")
    return index


def _file_sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _index_from_lists(manifest: dict[str, Any]) -> np.ndarray:
    """A format-1 manifest's ``sizes``, ``sha256``, ``dataset_index`` and ``item_shape(s)`` as records."""
    count = len(manifest["sizes"])
    shapes = np.asarray(manifest["item_shapes"] if "item_shapes" in manifest else [manifest["item_shape"]] * count,
                        dtype=np.int64).reshape(count, -1)
    index = np.zeros(count, dtype=INDEX_DTYPE)
    index["size"] = manifest["sizes"]
    index["offset"] = np.cumsum(index["size"]) - index["size"]
    index["dataset_index"] = manifest["dataset_index"]
    index["sha256"] = np.frombuffer(bytes.fromhex("".join(manifest["sha256"])), dtype=np.uint8).reshape(count, 32)
    index["shape"][:, :shapes.shape[1]] = shapes
    return index


def item_shapes(index: np.ndarray) -> np.ndarray:
    """Each item's decoded shape: N×2 when the items are 2-D (gray), else N×3."""
    shapes = np.asarray(index["shape"], dtype=np.int64)
    return shapes[:, :2] if len(shapes) and not shapes[:, 2].any() else shapes


def item_sha256(index: np.ndarray, i: int) -> str:
    return bytes(index["sha256"][i]).hex()
