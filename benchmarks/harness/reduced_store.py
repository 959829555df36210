"""Reduced training sets (coresets, distilled sets) as real files, content-addressed like the compressed-set store:

    <root>/reduced/<key>/payload/images/00000.<codec>   each image's bitstream, from a registered image codec
    <root>/reduced/<key>/payload/labels.u8              one byte per image (labels.u16 past 256 classes)
    <root>/reduced/<key>/payload/step_sizes.f32         learned step sizes, little-endian float32 (if any)
    <root>/reduced/<key>/payload/init_seed.u64          the fixed network initialisation's seed (if any)
    <root>/reduced/<key>/manifest.json                  key, per-file bytes and sha256, how it was made

Everything a learner is given is under ``payload/``, and a set's bytes are the sizes of those files on disk (the
manifest only describes them). Entries are written to a temporary folder and renamed into place (``commit_folder``, as the compressed-set store does).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from storagebench.benchmarks.harness.store import (
    commit_folder,
    read_manifest,
    remove_stale_temporaries,
)
from storagebench.compressors import ImageCodec, Level, ReducedSet, level_label
from storagebench.compressors.decoding import Decoder, decode_many
from storagebench.compressors.protocol import exact_bytes
from storagebench.errors import StorageBenchError
from storagebench.provenance import stable_hash


def _label_file(num_classes: int) -> tuple[str, np.dtype]:
    return ("labels.u8", np.dtype("u1")) if num_classes <= 256 else ("labels.u16", np.dtype("<u2"))


def payload_files(reduced: ReducedSet, codec: ImageCodec, level: Level, num_classes: int) -> dict[str, bytes]:
    """Relative path → bytes of everything stored for ``reduced``."""
    files = {f"images/{i:05d}.{codec.name}": exact_bytes(codec.encode(image, level), codec.name, f"reduced image {i}")
             for i, image in enumerate(reduced.images)}
    name, dtype = _label_file(num_classes)
    files[name] = np.asarray(reduced.labels).astype(dtype).tobytes()
    if reduced.step_sizes is not None:
        files["step_sizes.f32"] = np.asarray(reduced.step_sizes, dtype="<f4").tobytes()
    if reduced.init_seed is not None:
        files["init_seed.u64"] = int(reduced.init_seed).to_bytes(8, "little")
    return files


@dataclass(frozen=True)
class StoredReduction:
    path: Path
    manifest: dict[str, Any]

    @property
    def payload(self) -> Path:
        return self.path / "payload"

    def bytes_on_disk(self) -> dict[str, int]:
        """Bytes of the stored files by kind (images, labels, extra: step sizes and seed) and in total, read from
        the file system: exactly the files the manifest lists (anything else in ``payload/`` is not the set's)."""
        sizes = {"images": 0, "labels": 0, "extra": 0}
        for relative in self.manifest["files"]:
            kind = "images" if relative.startswith("images/") else "labels" if relative.startswith("labels") \
                else "extra"
            sizes[kind] += (self.payload / relative).stat().st_size
        return {**sizes, "total": sum(sizes.values())}

    def load(self, codec: Decoder) -> ReducedSet:
        """The set a learner gets: every file checked against its sha256, images decoded by ``codec`` (a restored
        instance, or a contained decoder: ``compressors/decoding.py``)."""
        files = {}
        for relative, expected in self.manifest["files"].items():
            data = (self.payload / relative).read_bytes()
            if hashlib.sha256(data).hexdigest() != expected["sha256"]:
                raise StorageBenchError(f"{self.payload / relative}: does not match its sha256; delete "
                                        f"{self.path} and re-run")
            files[relative] = data
        level = self.manifest["level"]
        names = [name for name in sorted(files) if name.startswith("images/")]
        images = np.stack(decode_many(codec, [files[name] for name in names], [level] * len(names)))
        label_name = next(name for name in files if name.startswith("labels."))
        labels = np.frombuffer(files[label_name], dtype="u1" if label_name.endswith("u8") else "<u2").astype(np.int64)
        steps = np.frombuffer(files["step_sizes.f32"], dtype="<f4").copy() if "step_sizes.f32" in files else None
        seed = int.from_bytes(files["init_seed.u64"], "little") if "init_seed.u64" in files else None
        return ReducedSet(images, labels, step_sizes=steps, init_seed=seed, info=self.manifest["info"])


class ReducedStore:
    def __init__(self, root: Path):
        self.root = Path(root) / "reduced"
        remove_stale_temporaries(self.root)

    def ensure(self, key: dict[str, Any], make: Callable[[], ReducedSet], codec: ImageCodec, level: Level,
               num_classes: int) -> tuple[StoredReduction, bool]:
        """The stored set for ``key``, running ``make`` and storing its result first if absent; also says whether
        it did."""
        final = self.root / stable_hash(key)
        manifest = read_manifest(final, ("payload",))
        if manifest is not None:
            missing = [name for name in manifest["files"] if not (final / "payload" / name).is_file()]
            if missing:
                raise StorageBenchError(f"{final}: payload/{missing[0]} missing from the stored set; delete the "
                                        f"folder and re-run")
            return StoredReduction(final, manifest), False
        started = time.perf_counter()
        reduced = make()
        seconds = time.perf_counter() - started
        files = payload_files(reduced, codec, level, num_classes)
        manifest = {"format": 1, "key": key, "level": level, "level_label": level_label(level),
                    "count": len(reduced.images), "item_shape": list(reduced.images.shape[1:]),
                    "files": {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                              for name, data in files.items()},
                    "reduce_seconds": round(seconds, 3), "info": reduced.info,
                    "codec_versions": codec.library_versions()}
        commit_folder(final, {**{f"payload/{name}": data for name, data in files.items()},
                              "manifest.json": json.dumps(manifest).encode()})
        return StoredReduction(final, json.loads((final / "manifest.json").read_text())), True

