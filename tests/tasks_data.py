"""Three tiny results dirs of one set of fashion-scenes read as labels, masks and boxes (2 seeds each, fitted,
storage curves for the tasks whose fit allocates), shared by the tasks-compared tests and the browser test."""
from __future__ import annotations

from pathlib import Path

from conftest import run_cli

CONFIG = """
[benchmark]
name = "tiny-{task}"
seeds = [0, 1]
n = [30, 60, 90]
budgets = ["30k", "60k"]

[dataset]
name = "fashion-scenes"
target = "{target}"
root = "{root}"
train = 90
test = 30
size = 48
max_items = 2

[compressor]
name = "jpegxl"
effort = 3
train_levels = ["lossless", 2, 8]
test_levels = ["lossless", 8]

[task]
name = "{task}"
epochs = 1
min_steps = {steps}
"""
TASKS = {"classification": ("labels", 30), "segmentation": ("masks", 15), "detection": ("boxes", 10)}


def make_task_dirs(root: Path, env: dict[str, str]) -> dict[str, Path]:
    """{task: results dir}: each run and fitted; `curves` where the fit allocates (it refuses, rightly, when ten
    steps of detection leave no n term)."""
    dirs = {}
    for task, (target, steps) in TASKS.items():
        config = root / f"{task}.toml"
        config.write_text(CONFIG.format(task=task, target=target, root=root / "scenes", steps=steps))
        out = dirs[task] = root / f"results-{task}"
        result = run_cli(["run", str(config), "--out", str(out)], env, root)
        assert result.returncode == 0, result.stderr
        run_cli(["curves", str(out), "--naive", "8"], env, root)
    return dirs
