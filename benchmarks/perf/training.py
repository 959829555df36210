"""The training data path, as ratios measured in one run on one core (as each runner worker has):

    python benchmarks/perf/training.py [--images N] [--epochs E] [--level D] [--data DIR]

1. harness ÷ bare loop: an epoch of ``task.train`` on decoded uint8 images (what every cell does) against the same
   optimizer steps on a float tensor already in memory, same model, batches and schedule (target ≤ 1.1);
2. paper's pipeline ÷ harness: the same steps when a DataLoader encodes and decodes every image with JPEG XL on
   every access (one loader process beside the training core), as a per-epoch pipeline does (target ≥ 5×);
3. many small models at once: K seeds trained together as one vmapped model (``torch.func``) against one after
   another, and how far their weights drift from the sequential ones.
Each timing is the best of R repeats.
"""
from __future__ import annotations

import argparse
import time

import imagecodecs
import numpy as np
import torch

from storagebench.tasks import DATASETS, TASKS
from storagebench.tasks.training import batch_order, recipe_optimizer, to_tensor


def best_of(repeat: int, fn) -> float:  # noqa: ANN001
    """The fastest of ``repeat`` timed calls, after one untimed call (first calls pay for lazy set-up)."""
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def bare_loop(task, x: torch.Tensor, y: torch.Tensor, index: list[torch.Tensor], seed: int) -> None:  # noqa: ANN001
    torch.manual_seed(seed)
    model = task.build(1, 10, tuple(x.shape[2:]))
    optimizer, schedule = recipe_optimizer(model.parameters(), task.params, len(index))
    model.train()
    for idx in index:
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()


class EncodeDecodeEachAccess(torch.utils.data.Dataset):
    """The paper's pipeline: every access compresses the original and decodes it again."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, distance: float):
        self.images, self.labels, self.distance = images, labels, distance

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        stream = imagecodecs.jpegxl_encode(self.images[i], distance=self.distance, effort=7, numthreads=1)
        pixels = imagecodecs.jpegxl_decode(stream, numthreads=1)
        return torch.from_numpy(pixels).float().div_(127.5).sub_(1.0).unsqueeze(0), int(self.labels[i])


def paper_pipeline(task, images: np.ndarray, labels: np.ndarray, index: list[torch.Tensor], seed: int,  # noqa: ANN001
                   distance: float) -> None:
    loader = torch.utils.data.DataLoader(EncodeDecodeEachAccess(images, labels, distance), batch_sampler=index,
                                         num_workers=1, prefetch_factor=4, persistent_workers=False)
    torch.manual_seed(seed)
    model = task.build(1, 10, images.shape[1:3])
    optimizer, schedule = recipe_optimizer(model.parameters(), task.params, len(index))
    model.train()
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()


def stacked_seeds(task, x: torch.Tensor, y: torch.Tensor, seeds: list[int], steps: int, batch: int):  # noqa: ANN001, ANN201
    """K models (one per seed: own init, own batch order) trained as one: parameters stacked along a new first
    dimension, forward and backward vmapped over it, one SGD step for all."""
    from torch.func import functional_call, stack_module_state, vmap

    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(task.build(1, 10, tuple(x.shape[2:])))
    params, buffers = stack_module_state(models)
    base = models[0]
    index = torch.stack([torch.stack(list(batch_order(len(x), batch, steps, seed))) for seed in seeds], 1)  # steps×K×batch
    leaves = list(params.values())
    optimizer, schedule = recipe_optimizer(leaves, task.params, steps)

    def loss_one(p, b, idx):  # noqa: ANN001, ANN202
        return torch.nn.functional.cross_entropy(functional_call(base, (p, b), (x[idx],)), y[idx])

    losses = vmap(loss_one)
    for step in range(steps):
        loss = losses(params, buffers, index[step]).sum()  # each model's gradient is its own loss's
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return params


def sequential_seeds(task, images: np.ndarray, labels: np.ndarray, seeds: list[int]) -> list:  # noqa: ANN001
    return [task.train(images, labels, 10, seed) for seed in seeds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=4000, help="training images (default 4000)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--level", type=float, default=4.0, help="JPEG XL distance of the paper's pipeline")
    parser.add_argument("--models", type=int, default=4, help="seeds trained at once (default 4)")
    parser.add_argument("--repeat", type=int, default=3, help="best of R timed runs, after a warm-up")
    parser.add_argument("--data", default="", help="Fashion-MNIST directory (default: Debian's)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    train = DATASETS.create("fashion-mnist", {"path": args.data}, "--data").load().train
    images, labels = train.images[:args.images], train.labels[:args.images]
    task = TASKS.create("classification", {"epochs": args.epochs, "min_steps": 0, "batch_size": 64, "width": 16,
                                           "lr": 0.05}, "perf")
    steps, batch = task.steps_for(len(images)), task.params.batch_size
    index = list(batch_order(len(images), batch, steps, seed=0))
    x, y = to_tensor(images), torch.from_numpy(labels.astype(np.int64))

    harness = best_of(args.repeat, lambda: task.train(images, labels, 10, seed=0))
    bare = best_of(args.repeat, lambda: bare_loop(task, x, y, index, seed=0))
    paper = best_of(args.repeat, lambda: paper_pipeline(task, images, labels, index, 0, args.level))
    print(f"{len(images)} Fashion-MNIST images, ConvNet-3 width 16, batch {batch}, {steps} steps "
          f"({args.epochs} epoch{'s' * (args.epochs > 1)}), one training thread, best of {args.repeat}")
    print(f"bare loop on tensors in memory : {bare:7.2f} s/epoch")
    print(f"storagebench task.train        : {harness:7.2f} s/epoch")
    print(f"paper's pipeline (JPEG XL d={args.level:g} encode+decode per access, 1 loader process): "
          f"{paper:7.2f} s/epoch")
    print(f"ratio harness / bare loop      : {harness / bare:7.2f}   (target ≤ 1.1)")
    print(f"paper's pipeline / harness     : {paper / harness:7.2f}×  (target ≥ 5×)")

    seeds = list(range(args.models))
    one_by_one = best_of(args.repeat, lambda: sequential_seeds(task, images, labels, seeds))
    together = best_of(args.repeat, lambda: stacked_seeds(task, x, y, seeds, steps, batch))
    stacked = stacked_seeds(task, x, y, seeds, steps, batch)
    sequential = sequential_seeds(task, images, labels, seeds)
    drift = max(float((stacked[name][k] - dict(model.named_parameters())[name]).abs().max().detach())
                for k, model in enumerate(sequential) for name in stacked)
    print(f"{args.models} seeds one after another : {one_by_one:7.2f} s")
    print(f"{args.models} seeds vmapped together  : {together:7.2f} s")
    print(f"speed-up of training together  : {one_by_one / together:7.2f}×  (max weight difference "
          f"{drift:.2g})")


if __name__ == "__main__":
    main()
