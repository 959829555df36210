"""Three tiny results dirs of one set of fashion-scenes read as labels, masks and boxes (2 seeds each, fitted;
storage curves for classification), shared by the tasks-compared tests and the browser test. The models are the
smallest each task takes: these dirs test the comparison, not the recipes."""
from __future__ import annotations

from pathlib import Path

from conftest import SMALLEST_MODELS, run_cli, toml_keys

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
size = 32
max_items = 1

[compressor]
name = "jpegxl"
effort = 3
train_levels = ["lossless", 2, 8]
test_levels = ["lossless", 8]

[task]
name = "{task}"
epochs = 1
{recipe}
"""
TASKS = {"classification": ("labels", 30), "segmentation": ("masks", 15), "detection": ("boxes", 10)}  # target, steps


def make_task_dirs(root: Path, env: dict[str, str]) -> dict[str, Path]:
    """{task: results dir}: each run and fitted; classification's storage curves of the two schemes compared (a
    few steps of segmentation or detection leave no n term to allocate by, and `curves` rightly refuses)."""
    dirs = {}
    for task, (target, min_steps) in TASKS.items():
        recipe = toml_keys({"min_steps": min_steps, **SMALLEST_MODELS[task]})
        config = root / f"{task}.toml"
        config.write_text(CONFIG.format(task=task, target=target, root=root / "scenes", recipe=recipe))
        out = dirs[task] = root / f"results-{task}"
        result = run_cli(["run", str(config), "--out", str(out)], env, root)
        assert result.returncode == 0, result.stderr
    curves = run_cli(["curves", str(dirs["classification"]), "--schemes", "original", "optimal"], env, root)
    assert curves.returncode == 0, curves.stderr
    return dirs
