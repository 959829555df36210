"""Training on a set larger than memory: read from the store on access, within a memory budget, kept fed.

    python benchmarks/perf/streaming.py [--budget-gb B] [--side PX] [--resize R] [--steps S] [--loader-workers W]

Generates gray side×side images (smooth random textures, image i from seed i, never all in memory) whose decoded size
is at least four times the budget, encodes them once into a store entry (JPEG, quality 90, through the store), then
in a fresh process trains a classifier on them with the harness's streaming path (``StoredImages`` read by W
DataLoader workers, resized to R², one training thread) and reports that process's peak RSS and its loader workers'
peak RSS against the budget. The same model then trains the same number of steps on tensors already in memory (the
first batches, prepared once): step time streamed ÷ step time in memory is how well the loader keeps a step fed
(target ≤ 1.2).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.compressors import COMPRESSORS
from storagebench.images import LazyImages

TRAIN = """
import json, resource, sys, time
import numpy as np, torch
from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.benchmarks.harness.streaming import StoredImages
from storagebench.compressors import COMPRESSORS
from storagebench.tasks import TASKS
from storagebench.tasks.training import fit_model, recipe_batches, to_tensor
args = json.loads(sys.argv[1])
torch.set_num_threads(1)
codec = COMPRESSORS.create("jpeg", {}, "jpeg")
entry = CompressedSetStore(args["root"]).lookup(args["key"])
images = StoredImages(entry, codec)
labels = np.arange(len(images)) % 10
task = TASKS.create("classification", {"depth": 4, "width": 32, "steps": args["steps"], "batch_size": args["batch"],
                                       "resize": args["resize"], "lr": 0.01}, "perf")
task.loader_workers = args["workers"]
started = time.perf_counter()
task.train(images, labels, 10, seed=0)
streamed = time.perf_counter() - started
peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
first = np.unique(np.concatenate([b.numpy() for b in recipe_batches(len(images), task.params, 0)]))
prepared, _ = task.prepare(images[first], labels[first])
position = {int(i): p for p, i in enumerate(first)}
torch.manual_seed(0)
model = task.build(1, 10, (args["resize"], args["resize"]))
x, y = to_tensor(prepared), torch.from_numpy(labels[first])
loss = lambda idx: task.loss(model, x[[position[int(i)] for i in idx]], y[[position[int(i)] for i in idx]])
started = time.perf_counter()
fit_model(model, len(images), task.params, 0, loss)
in_memory = time.perf_counter() - started
print(json.dumps({"streamed": streamed, "in_memory": in_memory, "peak_self": peak_self,
                  "peak_children": peak_children}))
"""


class Textures(LazyImages):
    """Image i: a smooth random texture from seed i, made when it is read."""

    def __init__(self, count: int, side: int, positions: np.ndarray | None = None):
        self.count, self.side = count, side
        self.positions = np.arange(count) if positions is None else positions

    def __len__(self) -> int:
        return len(self.positions)

    def item(self, i: int) -> np.ndarray:
        rng = np.random.default_rng(int(self.positions[i]))
        coarse = Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).resize((self.side, self.side),
                                                                                      Image.BICUBIC)
        return np.asarray(coarse, dtype=np.uint8)

    def subset(self, positions: np.ndarray) -> Textures:
        return Textures(self.count, self.side, self.positions[positions])

    @property
    def shapes(self) -> np.ndarray:
        return np.tile([self.side, self.side], (len(self), 1))

    def update_digest(self, hasher) -> None:  # noqa: ANN001
        hasher.update(f"textures {self.count} {self.side}".encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-gb", type=float, default=1.0)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--resize", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--loader-workers", type=int, default=1)
    parser.add_argument("--encode-workers", type=int, default=2)
    args = parser.parse_args()
    budget = args.budget_gb * 1e9
    count = int(np.ceil(4 * budget / args.side ** 2))
    with tempfile.TemporaryDirectory(prefix="storagebench-perf-stream-") as tmp:
        source = Textures(count, args.side)
        started = time.perf_counter()
        entry, _ = CompressedSetStore(Path(tmp)).ensure(
            source, np.arange(count), COMPRESSORS.create("jpeg", {}, "jpeg"), 90.0, fingerprint="perf-" + "0" * 59,
            split="train", workers=args.encode_workers)
        print(f"data: {count:,} images of {args.side}² px, {count * args.side ** 2 / 1e9:.2f} GB decoded "
              f"({count * args.side ** 2 / budget:.1f}× the {args.budget_gb:g} GB budget), "
              f"{entry.sizes.sum() / 1e9:.2f} GB as JPEG q90, encoded in {time.perf_counter() - started:.0f} s")
        job = {"root": tmp, "key": entry.manifest["key"], "steps": args.steps, "batch": args.batch,
               "resize": args.resize, "workers": args.loader_workers}
        done = subprocess.run([sys.executable, "-c", TRAIN, json.dumps(job)], capture_output=True, text=True)
        if done.returncode:
            sys.exit(done.stderr)
        r = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"training: {args.steps} steps of {args.batch} images resized to {args.resize}², ConvNet-4 width 32, "
          f"one thread, {args.loader_workers} loader worker(s)")
    print(f"peak RSS, training process      : {r['peak_self'] / 1e9:.2f} GB")
    print(f"peak RSS, largest loader worker : {r['peak_children'] / 1e9:.2f} GB")
    total = r["peak_self"] + args.loader_workers * r["peak_children"]
    print(f"both together (upper bound)     : {total / 1e9:.2f} GB: under the budget: {total < budget}")
    print(f"s/step streamed / in memory     : {r['streamed'] / args.steps:.3f} / {r['in_memory'] / args.steps:.3f}")
    print(f"ratio streamed / in memory      : {r['streamed'] / r['in_memory']:.2f} (target ≤ 1.2)")


if __name__ == "__main__":
    main()
