"""The compressed-set store: each split subset is encoded once per (dataset fingerprint, item indices,
compressor name, version, parameters, level) into a content-addressed cache folder

    <root>/<key>/bitstreams.bin   the real bitstreams, back to back
    <root>/<key>/index.npy        per item: offset, byte count, dataset index, sha256, decoded shape (store_index.py)
    <root>/<key>/manifest.json    the key, the level, the index's sha256, library versions

written to a temporary folder and renamed into place, so an entry is either complete or absent.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.benchmarks.harness.store_index import (
    FORMAT,
    INDEX_FILE,
    build_index,
    index_bytes,
    item_sha256,
    item_shapes,
    load_index,
)
from storagebench.compressors import LOSSLESS, ImageCodec, Level, level_label
from storagebench.compressors.decoding import ContainedDecoder, Decoder, decode_many
from storagebench.compressors.protocol import exact_bytes
from storagebench.errors import StorageBenchError
from storagebench.log import say
from storagebench.malloc import tune_malloc
from storagebench.parallel import parallel_map
from storagebench.paths import cache_home
from storagebench.provenance import stable_hash
from storagebench.images import Images, as_images, concatenate, image_shapes, is_lazy, same_pixels

CHUNK = 64  # items per task handed to a worker: large enough to amortise the hand-off, small for a smooth bar


def default_cache_root() -> Path:
    return cache_home() / "store"


def item_chunks(count: int) -> list[tuple[int, int]]:
    return [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]


def item_level(level: Level | list[Level], position: int) -> Level:
    """An entry has one level, or one level per item (randomized schemes)."""
    return level[position] if isinstance(level, list) else level


def describe_level(level: Level | list[Level]) -> str:
    if isinstance(level, list):
        return f"{level_label(min(level))}..{level_label(max(level))} per image"
    return level_label(level)


def _encode_chunk(job: dict[str, Any], bounds: tuple[int, int]) -> list[tuple[bytes, dict[str, float]]]:
    images, indices, codec, level = job["images"], job["indices"], job["codec"], job["level"]
    tune_malloc()  # once per process that codes images: see storagebench/malloc.py
    encoded = []
    for j in range(*bounds):
        source = images.source_file(int(indices[j])) if is_lazy(images) else None
        stream = None if source is None else codec.encode_source(source, item_level(level, j))
        stream, info = (stream, {}) if stream is not None else codec.encode_with_info(images[indices[j]],
                                                                                      item_level(level, j))
        encoded.append((exact_bytes(stream, codec.name, f"item {indices[j]}"), info))
    return encoded


def summarise_info(info: list[dict[str, float]]) -> tuple[dict[str, list[float]], dict[str, dict[str, float]]]:
    """Per-item numbers a codec reported (``encode_with_info``) as columns, and their mean, sd, min and max."""
    columns = {key: [float(item[key]) for item in info] for key in (info[0] if info else {})}
    summary = {key: {"mean": float(np.mean(v)), "sd": float(np.std(v)), "min": float(np.min(v)),
                     "max": float(np.max(v))} for key, v in columns.items()}
    return columns, summary


def _decode_chunk(job: dict[str, Any], bounds: tuple[int, int]) -> Images:
    blob, starts, ends, codec, level = job["blob"], job["starts"], job["ends"], job["codec"], job["level"]
    tune_malloc()
    decoded: list[np.ndarray] = []
    for j in range(*bounds):
        try:
            decoded.append(np.asarray(codec.decode(blob[starts[j]:ends[j]].tobytes(), item_level(level, j))))
        except StorageBenchError:
            raise
        except Exception as exc:  # noqa: BLE001  (a codec's decoder may raise anything; say which item and why)
            raise StorageBenchError(f"{codec.name}: decoding item {j} at level {item_level(level, j)!r} failed "
                                    f"({type(exc).__name__}: {exc}); a decoder is given only the bitstream, the level "
                                    f"and the state the codec declares (fitted_state)") from None
    return checked_images(decoded, bounds[0], job["shapes"][bounds[0]:bounds[1]], codec.name)


def checked_images(decoded: list[np.ndarray], first: int, shapes: np.ndarray, name: str) -> Images:
    """The decoded items (``first``.. of a set) as one set of images, each checked to be uint8 of the shape it was
    encoded at (``shapes``: one row per item)."""
    wrong = next((j for j, image in enumerate(decoded)
                  if image.shape != tuple(shapes[j]) or image.dtype != np.uint8), None)
    if wrong is not None:
        image = decoded[wrong]
        raise StorageBenchError(f"{name} decoded item {first + wrong} to {image.dtype} {image.shape}, expected uint8 "
                                f"{tuple(int(v) for v in shapes[wrong])}")
    return as_images(decoded) if decoded else np.zeros((0, *shapes.shape[1:]), np.uint8)


@dataclass(frozen=True)
class StoredSet:
    """One complete cache entry. ``sizes[i]`` is the byte length of item i, whose dataset index is
    ``dataset_index[i]``."""

    path: Path
    manifest: dict[str, Any]

    @functools.cached_property
    def index(self) -> np.ndarray:
        """The per-item records (``store_index.py``), memory-mapped and checked against the manifest."""
        return load_index(self.path, self.manifest)

    @functools.cached_property
    def sizes(self) -> np.ndarray:
        return np.asarray(self.index["size"], dtype=np.int64)

    @functools.cached_property
    def dataset_index(self) -> np.ndarray:
        return np.asarray(self.index["dataset_index"], dtype=np.int64)

    @functools.cached_property
    def item_shapes(self) -> np.ndarray:
        """Each stored item's decoded shape, one row per item."""
        return item_shapes(self.index)

    @property
    def bitstreams_path(self) -> Path:
        return self.path / "bitstreams.bin"

    @functools.cached_property
    def manifest_sha256(self) -> str:
        return hashlib.sha256((self.path / "manifest.json").read_bytes()).hexdigest()

    def _missing_bitstreams(self) -> StorageBenchError:
        return StorageBenchError(f"{self.path}: bitstreams.bin missing from the cache entry; delete the folder and "
                                 f"re-run")

    def _damaged(self, i: int) -> StorageBenchError:
        return StorageBenchError(f"{self.path}: item {i} does not match its sha256; delete the folder and re-run")

    def item_bytes(self, i: int) -> bytes:
        """Item ``i``'s bitstream alone, read from where the index says and checked against its sha256."""
        start, size = int(self.index["offset"][i]), int(self.index["size"][i])
        try:
            with open(self.bitstreams_path, "rb") as f:
                stream = os.pread(f.fileno(), size, start)
        except FileNotFoundError:
            raise self._missing_bitstreams() from None
        if hashlib.sha256(stream).hexdigest() != item_sha256(self.index, i):
            raise self._damaged(i)
        return stream

    def blob(self) -> np.ndarray:
        """All stored bitstreams back to back (uint8), each checked against its sha256."""
        try:
            blob = np.frombuffer(self.bitstreams_path.read_bytes(), dtype=np.uint8)
        except FileNotFoundError:
            raise self._missing_bitstreams() from None
        ends = np.cumsum(self.sizes)
        if len(blob) != (ends[-1] if len(ends) else 0):
            raise StorageBenchError(f"{self.path}: corrupt cache entry ({len(blob)} bytes stored, its index "
                                    f"says {int(ends[-1])}); delete the folder and re-run")
        digests = self.index["sha256"]
        for i, (start, end) in enumerate(zip(ends - self.sizes, ends)):
            if hashlib.sha256(blob[start:end]).digest() != digests[i].tobytes():
                raise self._damaged(i)
        return blob

    def bitstreams(self) -> list[bytes]:
        """The stored bitstreams, each checked against its sha256."""
        blob, ends = self.blob(), np.cumsum(self.sizes)
        return [blob[start:end].tobytes() for start, end in zip(ends - self.sizes, ends)]

    @property
    def levels(self) -> Level | list[Level]:
        """The level every item was encoded at, or each item's own."""
        return self.manifest.get("item_levels", self.manifest["level"])

    def decode(self, codec: Decoder, workers: int) -> Images:
        """Decode every item, in parallel, into one uint8 array: the exact arrays training will see. ``codec`` is
        a restored instance (a built-in), or a contained decoder (``compressors/decoding.py``)."""
        level, count = self.levels, len(self.sizes)
        desc = f"decode {self.manifest['split']} {describe_level(level)}"
        if isinstance(codec, ContainedDecoder):
            decoded = decode_many(codec, self.bitstreams(), [item_level(level, j) for j in range(count)], desc, workers)
            return checked_images(decoded, 0, self.item_shapes, codec.name)
        ends = np.cumsum(self.sizes)
        job = {"blob": self.blob(), "starts": ends - self.sizes, "ends": ends, "codec": codec, "level": level,
               "shapes": self.item_shapes}
        parts = list(parallel_map(_decode_chunk, job, item_chunks(count), workers=workers, total=count, desc=desc,
                                  unit="img", weight=lambda b: b[1] - b[0]))
        return concatenate(parts)  # every item checked for shape and dtype where it was decoded


def decode_verified(entry: StoredSet, decoder: Decoder, images: Images, workers: int) -> Images:
    """``entry.decode`` by ``decoder`` (an instance restored from declared state, never the one that encoded). An
    entry at the lossless level must also give back its source ``images`` bit for bit: a "lossless" that is not
    would pass for the original format and move every baseline."""
    decoded = entry.decode(decoder, workers)
    if entry.manifest["level"] == LOSSLESS:
        check_lossless(entry, decoder.name, np.flatnonzero(~same_pixels(decoded, images[entry.dataset_index])))
    return decoded


def check_lossless(entry: StoredSet, name: str, changed: np.ndarray) -> None:
    """Refuse a lossless entry whose decoded items at positions ``changed`` differ from their sources."""
    if len(changed):
        raise StorageBenchError(f"{name}: its {LOSSLESS!r} level changed the pixels of {len(changed)} of "
                                f"{len(entry.sizes)} {entry.manifest['split']} images (the first: dataset index "
                                f"{entry.dataset_index[changed[0]]}); a lossless level must reproduce them bit "
                                f"for bit")


class CompressedSetStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        tune_malloc()  # this process and the workers it forks: see storagebench/malloc.py
        remove_stale_temporaries(self.root)

    @staticmethod
    def key(fingerprint: str, split: str, indices: np.ndarray, codec: ImageCodec,
            level: Level | list[Level]) -> dict[str, Any]:
        return {"dataset_fingerprint": fingerprint, "split": split,
                "indices_sha256": hashlib.sha256(np.asarray(indices, dtype=np.int64).tobytes()).hexdigest(),
                "count": int(len(indices)), "codec": codec.identity(), "level": level}

    def lookup(self, key: dict[str, Any]) -> StoredSet | None:
        path = self.root / stable_hash(key)
        manifest = read_manifest(path, ("bitstreams.bin",))
        return None if manifest is None else StoredSet(path, manifest)

    def ensure(self, images: Images, indices: np.ndarray, codec: ImageCodec, level: Level | list[Level], *,
               fingerprint: str, split: str, workers: int) -> tuple[StoredSet, bool]:
        """The entry for ``images[indices]`` at ``level`` (or one level per index), encoding it first if absent;
        also says whether it did. A codec may give items of one level their own levels (``item_levels``)."""
        if isinstance(level, list) and len(level) != len(indices):
            raise ValueError(f"{len(level)} levels for {len(indices)} items")
        key = self.key(fingerprint, split, indices, codec, level)
        found = self.lookup(key)
        if found is not None:
            return found, False
        return self._encode(images, np.asarray(indices), codec, level, key, workers), True

    def _encode(self, images: Images, indices: np.ndarray, codec: ImageCodec, level: Level | list[Level],
                key: dict[str, Any], workers: int) -> StoredSet:
        started = time.perf_counter()
        per_item = level if isinstance(level, list) else codec.item_levels(level, len(indices))
        job = {"images": images, "indices": indices, "codec": codec, "level": per_item}
        encoded = [s for part in parallel_map(
            _encode_chunk, job, item_chunks(len(indices)), workers=workers, total=len(indices), unit="img",
            desc=f"encode {split_label(key)} {codec.name} {describe_level(level)}", weight=lambda b: b[1] - b[0])
            for s in part]
        streams = [stream for stream, _ in encoded]
        info, info_summary = summarise_info([item for _, item in encoded])
        index = index_bytes(build_index(streams, indices, image_shapes(images)[indices]))
        manifest = {
            "format": FORMAT, "key": key, "split": key["split"], "level": level, "count": len(streams),
            "total_bytes": sum(map(len, streams)), "index_sha256": hashlib.sha256(index).hexdigest(),
            "library_versions": codec.library_versions(),
            "encode_seconds": round(time.perf_counter() - started, 3), "workers": workers,
            **({"item_levels": per_item} if per_item is not level else {}),
            **({"item_info": info, "info_summary": info_summary} if info else {}),
        }
        return self._commit(stable_hash(key), {"bitstreams.bin": b"".join(streams), INDEX_FILE: index}, manifest)

    def _commit(self, digest: str, payload: dict[str, bytes], manifest: dict[str, Any]) -> StoredSet:
        final = self.root / digest
        commit_folder(final, {**payload, "manifest.json": json.dumps(manifest).encode()})
        return StoredSet(final, json.loads((final / "manifest.json").read_text()))


def read_manifest(path: Path, payload: tuple[str, ...]) -> dict[str, Any] | None:
    """The manifest of the entry folder ``path`` (named by the hash of its key), or None if there is no entry.

    A folder without its manifest is not an entry (``commit_folder`` renames only complete folders): it was damaged
    by hand, so it is removed and rebuilt. A manifest whose key does not hash to the folder's name (an entry copied
    or renamed), that is not JSON, or whose ``payload`` files are missing is one error naming the folder."""
    if not path.exists():
        return None
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        say(f"{path}: cache entry without its manifest.json (damaged); removing it, it is rebuilt")
        shutil.rmtree(path)
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StorageBenchError(f"{manifest_path}: corrupt cache manifest ({exc}); delete {path} and re-run") from None
    if not isinstance(manifest, dict) or stable_hash(manifest.get("key")) != path.name:
        raise StorageBenchError(f"{path}: its manifest describes another entry (its key does not hash to the folder's "
                                f"name: copied or renamed?); delete the folder and re-run")
    missing = [name for name in payload if not (path / name).exists()]
    if missing:
        raise StorageBenchError(f"{path}: {', '.join(missing)} missing from the cache entry; delete the folder and "
                                f"re-run")
    return manifest


def _temporary_name(final: Path) -> str:
    return f".tmp-{final.name}-{socket.gethostname()}-{os.getpid()}"


def remove_stale_temporaries(root: Path) -> None:
    """Remove temporary folders that a killed process of this host left (``.tmp-<entry>-<host>-<pid>``, the pid no
    longer running); those of live processes and of other hosts sharing the cache are left alone."""
    host = socket.gethostname()
    for tmp in root.glob(".tmp-*") if root.is_dir() else ():
        pid = tmp.name.rpartition("-")[2]
        if pid.isdigit() and tmp.name.endswith(f"-{host}-{pid}") and not _running(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def commit_folder(final: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (relative path → bytes, each synced) into a temporary folder and rename it to ``final``, so
    the folder is complete or absent; if another process got there first, its identical folder stays."""
    tmp = final.with_name(_temporary_name(final))
    shutil.rmtree(tmp, ignore_errors=True)
    for relative, payload in files.items():
        target = tmp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
    try:
        os.rename(tmp, final)
    except OSError:  # another process finished the same entry first; its bytes are the same
        shutil.rmtree(tmp, ignore_errors=True)


def split_label(key: dict[str, Any]) -> str:
    return f"{key['split']}[{key['count']}]"
