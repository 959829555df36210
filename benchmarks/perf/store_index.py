"""Opening a store entry of a million images and reading one image's bytes.

    python benchmarks/perf/store_index.py [--items N] [--side PX] [--workers W]

Encodes N random side×side gray images as real PNG bitstreams into one store entry through the store itself
(default 1,000,000 of 8×8), then, in a fresh process (the files in the page cache, as on a machine that just wrote
or read them), times opening the entry — the manifest read, the binary index memory-mapped and checked against the
manifest's sha256 — plus reading one image's bytes (checked against its sha256) and decoding it. The same entry with
a format-1 manifest (every per-image value a JSON list, as the store wrote before the binary index) is timed the
same way. Target: under a second with the binary index.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.compressors import COMPRESSORS

OPEN_AND_READ = """
import json, sys, time
started = time.perf_counter()
from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.compressors import COMPRESSORS
imported = time.perf_counter()
entry = CompressedSetStore(sys.argv[1]).lookup(json.loads(sys.argv[2]))
i = len(entry.sizes) // 2
image = COMPRESSORS.create("png", {}, "png").decode(entry.item_bytes(i), "lossless")
done = time.perf_counter()
print(f"{done - imported:.3f} {entry.manifest.get('format', 1)} {image.shape} {entry.sizes[i]}")
"""


def write_entry(root: Path, items: int, side: int, workers: int) -> tuple[dict, float]:
    images = np.random.default_rng(0).integers(0, 256, (items, side, side), dtype=np.uint8)
    codec = COMPRESSORS.create("png", {}, "png")
    started = time.perf_counter()
    entry, _ = CompressedSetStore(root).ensure(images, np.arange(items), codec, "lossless",
                                               fingerprint="perf-" + "0" * 59, split="train", workers=workers)
    return entry.manifest["key"], time.perf_counter() - started


def as_format_1(source: Path, target_root: Path) -> None:
    """The entry at ``source`` rewritten under ``target_root`` with every per-item value in its manifest."""
    from storagebench.benchmarks.harness.store import StoredSet

    entry = StoredSet(source, json.loads((source / "manifest.json").read_text()))
    target = target_root / source.name
    target.mkdir(parents=True)
    os.link(entry.bitstreams_path, target / "bitstreams.bin")
    manifest = {k: v for k, v in entry.manifest.items() if k != "index_sha256"}
    manifest.update(format=1, sizes=entry.sizes.tolist(), dataset_index=entry.dataset_index.tolist(),
                    sha256=[bytes(d).hex() for d in entry.index["sha256"]], item_shape=entry.item_shapes[0].tolist())
    (target / "manifest.json").write_text(json.dumps(manifest))


def open_and_read(root: Path, key: dict) -> tuple[float, str]:
    done = subprocess.run([sys.executable, "-c", OPEN_AND_READ, str(root), json.dumps(key)], capture_output=True,
                          text=True, check=True)
    seconds, rest = done.stdout.split(" ", 1)
    return float(seconds), rest.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--side", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storagebench-perf-index-") as tmp:
        binary_root, json_root = Path(tmp) / "binary", Path(tmp) / "json"
        key, encode_seconds = write_entry(binary_root, args.items, args.side, args.workers)
        folder = next(p for p in binary_root.iterdir() if not p.name.startswith("."))
        as_format_1(folder, json_root)
        sizes = {name: sum(f.stat().st_size for f in (root / folder.name).iterdir() if f.name != "bitstreams.bin")
                 for name, root in (("binary", binary_root), ("json", json_root))}
        print(f"entry: {args.items:,} PNG bitstreams of {args.side}×{args.side} images, encoded in "
              f"{encode_seconds:.1f} s ({args.workers} workers); "
              f"{(folder / 'bitstreams.bin').stat().st_size / 1e6:.1f} MB of bitstreams")
        print(f"index files: binary index + manifest {sizes['binary'] / 1e6:.1f} MB, "
              f"format-1 manifest {sizes['json'] / 1e6:.1f} MB")
        binary, what = open_and_read(binary_root, key)
        print(f"open + read one image (binary index)   : {binary:.3f} s  (format, shape, bytes: {what})")
        listed, what = open_and_read(json_root, key)
        print(f"open + read one image (format-1 JSON)  : {listed:.3f} s  (format, shape, bytes: {what})")
        print(f"ratio format-1 / binary index          : {listed / binary:.1f}×")
        print(f"under one second with the binary index : {binary < 1.0}")
        digest = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()[:12]
        print(f"(manifest sha256 {digest}…)")


if __name__ == "__main__":
    main()
