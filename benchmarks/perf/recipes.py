"""Recipe study: which model and training recipe makes each task learn its target on fashion-scenes within a CPU
budget (the three tasks read one set of scenes: ``labels``, ``masks``, ``boxes``). Every candidate is a ``[task]``
table; it trains on the first n scenes of a seed's stratified order (lossless pixels) and is scored on the test
scenes. One line per finished run (error, the task's metric, steps, seconds), then a markdown table of the mean over
seeds, for the README. Several ``--n`` show how a recipe's error scales with the number of training scenes: a
recipe whose small n are step-limited (a plateau, then a fall) cannot give a storage law.

    python benchmarks/perf/recipes.py TASK [--train N] [--test M] [--n N ...] [--seeds 0 1] [--only NAME ...]
                                           [--size PX] [--max-items K] [--set KEY=VALUE ...] [--data DIR]

TASK is classification, segmentation or detection. Nothing here is a test: it measures, and prints what it found.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from storagebench.benchmarks.harness.submit import parse_param
from storagebench.tasks import DATASETS, TASKS
from storagebench.tasks.subsets import stratified_order

TARGETS = {"classification": "labels", "segmentation": "masks", "detection": "boxes"}

# name → the [task] table; the first of each task is its quick benchmark's recipe (the reference)
CANDIDATES: dict[str, dict[str, dict]] = {
    "classification": {
        "quick": {"depth": 3, "width": 16, "epochs": 10, "min_steps": 300, "batch_size": 64, "lr": 0.05},
        "w32-d4": {"depth": 4, "width": 32, "epochs": 10, "min_steps": 300, "batch_size": 64, "lr": 0.05},
        "w64-d4-30ep": {"depth": 4, "width": 64, "epochs": 30, "min_steps": 1000, "batch_size": 64, "lr": 0.05},
    },
    "segmentation": {
        "quick": {"encoder_depth": 3, "decoder_width": 32, "epochs": 2, "min_steps": 300, "batch_size": 16,
                  "lr": 3e-3},
        "mnv3-d4-3k": {"encoder_depth": 4, "decoder_width": 64, "epochs": 2, "min_steps": 3000, "batch_size": 32,
                       "lr": 3e-3},
        "resnet18-d4-3k": {"encoder": "resnet18", "encoder_depth": 4, "decoder_width": 64, "epochs": 2,
                           "min_steps": 3000, "batch_size": 32, "lr": 1e-3},
        "mnv3-d4-1500": {"encoder_depth": 4, "decoder_width": 64, "epochs": 2, "min_steps": 1500, "batch_size": 32,
                         "lr": 3e-3},
        "regnetx-d4-1500": {"encoder": "tu-regnetx_002", "encoder_depth": 4, "decoder_width": 64, "epochs": 2,
                            "min_steps": 1500, "batch_size": 32, "lr": 3e-3},
        "mnv4-d4-1500": {"encoder": "tu-mobilenetv4_conv_small_050", "encoder_depth": 4, "decoder_width": 64,
                         "epochs": 2, "min_steps": 1500, "batch_size": 32, "lr": 3e-3},
    },
    "detection": {
        "quick": {"width": 16, "fpn_channels": 32, "head_convs": 2, "epochs": 10, "min_steps": 300,
                  "batch_size": 16, "lr": 5e-3},
        "w32-3k": {"width": 32, "fpn_channels": 64, "head_convs": 2, "epochs": 10, "min_steps": 3000,
                   "batch_size": 16, "lr": 5e-3},
    },
}


def run(task_name: str, name: str, table: dict, splits, n: int, seed: int) -> dict:  # noqa: ANN001
    task = TASKS.create(task_name, table, f"recipe {name}")
    subset = stratified_order(splits.train.labels, seed)[:n]
    started = time.perf_counter()
    model = task.train(splits.train.images[subset], splits.train.targets(subset), len(splits.classes), seed)
    seconds = time.perf_counter() - started
    error = task.evaluate(model, splits.test.images, splits.test.targets())["error"]
    return {"recipe": name, "seed": seed, "n": n, "steps": task.steps_for(n), "seconds": seconds,
            "error": error, "metric": 1.0 - error}  # every task's error is 1 − its metric


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(TARGETS))
    parser.add_argument("--train", type=int, default=2000, help="training scenes generated (default 2000)")
    parser.add_argument("--test", type=int, default=500, help="test scenes (default 500)")
    parser.add_argument("--size", type=int, default=64, help="scene side in pixels (default 64)")
    parser.add_argument("--max-items", type=int, default=4, help="most items per scene (default 4)")
    parser.add_argument("--n", type=int, nargs="+", default=[0],
                        help="scenes each candidate trains on; several give one run per n (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", default=None, help="candidate names to run (default: all)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override a [task] key in every candidate (e.g. min_steps=20 epochs=1 for a smoke run)")
    parser.add_argument("--data", default="", help="Fashion-MNIST folder the scenes are made from (default: Debian's)")
    args = parser.parse_args()
    unknown = sorted(set(args.only or ()) - set(CANDIDATES[args.task]))
    if unknown:
        parser.error(f"--only: no {args.task} candidate named {', '.join(unknown)} "
                     f"(candidates: {', '.join(CANDIDATES[args.task])})")
    if min(args.n) < 0:
        parser.error(f"--n {min(args.n)}: a number of scenes is ≥ 0 (0: all of them)")
    if max(args.n) > args.train:
        parser.error(f"--n {max(args.n)} is more than the {args.train} training scenes (--train)")
    overrides = dict(parse_param(text) for text in args.set)
    candidates = {k: {**v, **overrides} for k, v in CANDIDATES[args.task].items()
                  if args.only is None or k in args.only}
    splits = DATASETS.create("fashion-scenes", {"target": TARGETS[args.task], "train": args.train,
                                                "test": args.test, "path": args.data,
                                                "size": args.size, "max_items": args.max_items}, "--task").load()
    sizes = [n or len(splits.train) for n in args.n]
    rows = []
    for name, table in candidates.items():
        for n in sizes:
            for seed in args.seeds:
                rows.append(run(args.task, name, table, splits, n, seed))
                r = rows[-1]
                print(f"{args.task} {name} n {n} seed {seed}: error {r['error']:.4f} (metric {r['metric']:.4f}), "
                      f"{r['steps']} steps, {r['seconds']:.0f} s", flush=True)
    print(f"\n{args.task} on fashion-scenes ({args.train} train / {args.test} test scenes of {args.size}² px, "
          f"≤ {args.max_items} items), seeds {args.seeds}\n")
    print("| recipe | n | steps | seconds per model | error (mean) | metric (mean) |\n|---|---|---|---|---|---|")
    for name in candidates:
        for n in sizes:
            mine = [r for r in rows if r["recipe"] == name and r["n"] == n]
            print(f"| {name} | {n} | {mine[0]['steps']} | {np.mean([r['seconds'] for r in mine]):.0f} | "
                  f"{np.mean([r['error'] for r in mine]):.4f} | {np.mean([r['metric'] for r in mine]):.4f} |")


if __name__ == "__main__":
    main()
