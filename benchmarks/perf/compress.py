"""Compression throughput of the compressed-set store, as ratios measured in one run.

    python benchmarks/perf/compress.py [--images N] [--level D] [--effort E] [--repeat R] [--data DIR]

Prints: store encode throughput (1 worker) ÷ a plain loop calling imagecodecs on the same images with the same
settings (target ≥ 0.9); the speed-up from 1 to 2 workers (target ≥ 1.8× on 2 free cores); and that a cached
re-run encodes nothing. Each timing is the best of R interleaved repeats, so a busy moment on a shared machine
does not decide a ratio.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import imagecodecs
import numpy as np

from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.compressors import COMPRESSORS
from storagebench.tasks import DATASETS


def timed(fn):  # noqa: ANN001, ANN201
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="best of R interleaved repeats (default 3)")
    parser.add_argument("--level", type=float, default=4.0, help="JPEG XL distance")
    parser.add_argument("--effort", type=int, default=7)
    parser.add_argument("--data", default="", help="Fashion-MNIST directory (default: Debian's)")
    parser.add_argument("--ray", type=int, default=2, metavar="CPUS",
                        help="also encode on a local Ray instance of CPUS CPUs (default 2; 0: skip)")
    args = parser.parse_args()

    splits = DATASETS.create("fashion-mnist", {"path": args.data}, "--data").load()
    images, fingerprint = splits.train.images, splits.train.fingerprint
    indices = np.arange(args.images)
    codec = COMPRESSORS.create("jpegxl", {"effort": args.effort}, "--effort")
    level = codec.parse_level(args.level)

    def plain_loop() -> int:
        return sum(len(imagecodecs.jpegxl_encode(images[i], distance=args.level, effort=args.effort, numthreads=1))
                   for i in indices)

    plain_seconds, seconds = float("inf"), {1: float("inf"), 2: float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeat):
            took, plain_bytes = timed(plain_loop)
            plain_seconds = min(plain_seconds, took)
            for workers in (1, 2):
                store = CompressedSetStore(Path(tmp) / f"r{repeat}-workers{workers}")
                took, (entry, encoded) = timed(lambda: store.ensure(
                    images, indices, codec, level, fingerprint=fingerprint, split="train", workers=workers))
                seconds[workers] = min(seconds[workers], took)
                assert encoded and entry.manifest["total_bytes"] == plain_bytes, "store bytes differ from the loop"
        cached_seconds, (_, encoded_again) = timed(lambda: store.ensure(
            images, indices, codec, level, fingerprint=fingerprint, split="train", workers=2))
        ray_seconds = ray_encode(args.ray, args.repeat, Path(tmp), images, indices, codec, level, fingerprint,
                                 plain_bytes)

    n = len(indices)
    print(f"JPEG XL d={args.level:g} effort={args.effort}, {n} Fashion-MNIST images, {plain_bytes / n:.1f} B/image, "
          f"best of {args.repeat}")
    print(f"plain imagecodecs loop      : {n / plain_seconds:8.0f} images/s")
    print(f"store, 1 worker             : {n / seconds[1]:8.0f} images/s")
    print(f"store, 2 workers            : {n / seconds[2]:8.0f} images/s")
    print(f"ratio store(1) / plain loop : {plain_seconds / seconds[1]:8.2f}   (target ≥ 0.9)")
    print(f"speed-up 1 → 2 workers      : {seconds[1] / seconds[2]:8.2f}×  (target ≥ 1.8×)")
    print(f"cached re-run               : {cached_seconds * 1000:8.1f} ms, encoded anything: {encoded_again}")
    if ray_seconds:
        print(f"store, Ray executor ({args.ray} CPUs): {n / ray_seconds:8.0f} images/s "
              f"({seconds[2] / ray_seconds:.2f} × the local 2 workers)")


def ray_encode(cpus: int, repeat: int, tmp: Path, images, indices, codec, level, fingerprint: str,  # noqa: ANN001
               plain_bytes: int) -> float | None:
    """Best encode time of the same set as Ray tasks on a local Ray instance of ``cpus`` CPUs (its start-up
    excluded); None when ``cpus`` is 0."""
    if not cpus:
        return None
    from storagebench.parallel import using
    from storagebench.ray_executor import RayExecutor

    best = float("inf")
    with RayExecutor(num_cpus=cpus) as executor, using(executor):
        for repeat in range(repeat):
            store = CompressedSetStore(tmp / f"ray{repeat}")
            took, (entry, _) = timed(lambda: store.ensure(images, indices, codec, level, fingerprint=fingerprint,
                                                          split="train", workers=cpus))
            assert entry.manifest["total_bytes"] == plain_bytes, "Ray store bytes differ from the loop"
            best = min(best, took)
    return best


if __name__ == "__main__":
    main()
