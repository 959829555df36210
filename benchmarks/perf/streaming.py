"""Training on a set larger than memory: read from the store on access, within a memory budget, kept fed.

    python benchmarks/perf/streaming.py [--budget-gb B] [--side PX] [--resize R] [--steps S] [--loader-workers W]

Generates gray side×side images (smooth random textures, image i from seed i, never all in memory) whose decoded size
is at least four times the budget, encodes them once into a store entry (JPEG, quality 90, through the store), then
in a fresh process trains a classifier on them with the harness's streaming path (``StoredImages`` read by W
DataLoader workers, resized to R², one training thread) and reports the peak memory of that process and its loader
workers together (their proportional set sizes, which count a page shared by forked processes once, sampled every
50 ms) against the budget, beside each one's peak RSS. The same model also trains the same steps on tensors already
in memory (the images those steps use, prepared once): step time streamed ÷ step time in memory, best of
``--repeat`` interleaved runs of each, is how well the loader keeps a step fed (target ≤ 1.2).
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
import json, os, resource, sys, threading, time
import numpy as np, torch
from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.benchmarks.harness.streaming import StoredImages
from storagebench.compressors import COMPRESSORS
from storagebench.tasks import TASKS
from storagebench.tasks.training import fit_model, recipe_batches, to_tensor
args = json.loads(sys.argv[1])
torch.set_num_threads(1)
def pss(pid):  # proportional set size: shared pages split between the processes sharing them
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0
def children():
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
        return [int(p) for p in f.read().split()]
peak_total = [0]
def sample():
    while True:
        peak_total[0] = max(peak_total[0], pss(os.getpid()) + sum(pss(c) for c in children()))
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
codec = COMPRESSORS.create("jpeg", {}, "jpeg")
entry = CompressedSetStore(args["root"]).lookup(args["key"])
images = StoredImages(entry, codec)
labels = np.arange(len(images)) % 10
task = TASKS.create("classification", {"depth": 4, "width": 32, "steps": args["steps"], "batch_size": args["batch"],
                                       "resize": args["resize"], "lr": 0.01}, "perf")
task.loader_workers = args["workers"]
first = np.unique(np.concatenate([b.numpy() for b in recipe_batches(len(images), task.params, 0)]))
prepared, _ = task.prepare(images[first], labels[first])
position = {int(i): p for p, i in enumerate(first)}
x, y = to_tensor(prepared), torch.from_numpy(labels[first])
def in_memory():
    torch.manual_seed(0)
    model = task.build(1, 10, (args["resize"], args["resize"]))
    rows = lambda idx: [position[int(i)] for i in idx]
    fit_model(model, len(images), task.params, 0, lambda idx: task.loss(model, x[rows(idx)], y[rows(idx)]))
def timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
runs = [(timed(lambda: task.train(images, labels, 10, seed=0)), timed(in_memory)) for _ in range(args["repeat"])]
streamed, in_memory = min(r[0] for r in runs), min(r[1] for r in runs)
peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"streamed": streamed, "in_memory": in_memory, "peak_self": peak_self,
                  "peak_children": peak_children, "peak_total": peak_total[0]}))
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
    parser.add_argument("--budget-gb", type=float, default=2.0)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--resize", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--loader-workers", type=int, default=1)
    parser.add_argument("--encode-workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="interleaved runs of each; the best is kept")
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
               "resize": args.resize, "workers": args.loader_workers, "repeat": args.repeat}
        done = subprocess.run([sys.executable, "-c", TRAIN, json.dumps(job)], capture_output=True, text=True)
        if done.returncode:
            sys.exit(done.stderr)
        r = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"training: {args.steps} steps of {args.batch} images resized to {args.resize}², ConvNet-4 width 32, "
          f"one thread, {args.loader_workers} loader worker(s)")
    print(f"peak RSS, training process      : {r['peak_self'] / 1e9:.2f} GB")
    print(f"peak RSS, largest loader worker : {r['peak_children'] / 1e9:.2f} GB (pages shared with the training "
          f"process counted again)")
    print(f"peak of both together (PSS)     : {r['peak_total'] / 1e9:.2f} GB, sampled every 50 ms: under the "
          f"{args.budget_gb:g} GB budget: {r['peak_total'] < budget}")
    print(f"s/step streamed / in memory     : {r['streamed'] / args.steps:.3f} / {r['in_memory'] / args.steps:.3f}")
    print(f"ratio streamed / in memory      : {r['streamed'] / r['in_memory']:.2f} (target ≤ 1.2)")


if __name__ == "__main__":
    main()
