"""Does bf16 mixed precision (``--amp``) change a cell's result beyond seed noise, and what does it save?

    python benchmarks/perf/precision.py [--device auto] [--n 2000] [--steps 300] [--seeds 5] [--data DIR]

Trains the quick benchmark's recipe (ConvNet-3, SGD, cosine) on n lossless Fashion-MNIST images with each seed, in
fp32 and in bf16 autocast, on one thread, and evaluates each model on the full test split. Prints the test error
of both (mean ± sd over seeds), their difference against its standard error, and the time per cell of each.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from storagebench.device import describe_device, on_device
from storagebench.tasks import DATASETS, TASKS
from storagebench.tasks.subsets import stratified_order


def cell_errors(task, splits, n: int, seeds: list[int], device: str, amp: bool) -> tuple[list[float], float, str]:  # noqa: ANN001
    """Test errors per seed, mean seconds per cell and where they ran."""
    errors, started = [], time.perf_counter()
    with on_device(device, amp):
        for seed in seeds:
            subset = stratified_order(splits.train.labels, seed)[:n]
            model = task.train(splits.train.images[subset], splits.train.labels[subset], 10, seed=seed)
            errors.append(task.evaluate(model, splits.test.images, splits.test.labels)["error"])
        where = describe_device()
    return errors, (time.perf_counter() - started) / len(seeds), where


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--n", type=int, default=2000, help="training images per cell (default 2000)")
    parser.add_argument("--steps", type=int, default=300, help="SGD steps per cell (default 300)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--data", default="", help="Fashion-MNIST directory (default: Debian's)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    splits = DATASETS.create("fashion-mnist", {"path": args.data}, "--data").load()
    task = TASKS.create("classification", {"epochs": 1, "min_steps": args.steps, "batch_size": 64, "lr": 0.05,
                                           "eval_batch_size": 500}, "perf")
    seeds = list(range(args.seeds))
    for amp in (False, True):  # untimed: first calls pay for lazy set-up (kernels, autocast caches)
        with on_device(args.device, amp):
            task.train(splits.train.images[:64], splits.train.labels[:64], 10, seed=0)
    runs = {amp: cell_errors(task, splits, args.n, seeds, args.device, amp) for amp in (False, True)}
    print(f"{args.n} images, {task.steps_for(args.n)} steps, {args.seeds} seeds, one thread, test split of "
          f"{len(splits.test)}")
    for amp, (errors, seconds, where) in runs.items():
        print(f"{'bf16 autocast' if amp else 'fp32':14s} on {where:24s}: error {100 * np.mean(errors):6.2f} ± "
              f"{100 * np.std(errors, ddof=1):.2f} %  ({seconds:.1f} s per cell)")
    fp32, bf16 = np.array(runs[False][0]), np.array(runs[True][0])
    standard_error = np.sqrt(fp32.var(ddof=1) / len(fp32) + bf16.var(ddof=1) / len(bf16))
    difference = bf16.mean() - fp32.mean()
    verdict = "within seed noise" if abs(difference) <= 2 * standard_error else "BEYOND seed noise"
    print(f"bf16 − fp32    : {100 * difference:+.2f} points, standard error {100 * standard_error:.2f}: {verdict}")
    print(f"time bf16/fp32 : {runs[True][1] / runs[False][1]:.2f}")


if __name__ == "__main__":
    main()
