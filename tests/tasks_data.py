"""Three tiny results dirs of one set of fashion-scenes read as labels, masks and boxes (2 seeds each, fitted;
storage curves for classification), shared by the tasks-compared tests and the browser test. The models are the
smallest each task takes: these dirs test the comparison, not the recipes."""
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
TASKS = {"classification": ("labels", "min_steps = 30\ndepth = 2\nwidth = 8"),
         "segmentation": ("masks", "min_steps = 15\nencoder_depth = 3\ndecoder_width = 16"),
         "detection": ("boxes", "min_steps = 10\nwidth = 8\nfpn_channels = 32\nhead_convs = 1\n"
                                "score_thresh = 0.2\ndetections_per_img = 10")}


def make_task_dirs(root: Path, env: dict[str, str]) -> dict[str, Path]:
    """{task: results dir}: each run and fitted; classification's storage curves of the two schemes compared (a
    few steps of segmentation or detection leave no n term to allocate by, and `curves` rightly refuses)."""
    dirs = {}
    for task, (target, recipe) in TASKS.items():
        config = root / f"{task}.toml"
        config.write_text(CONFIG.format(task=task, target=target, root=root / "scenes", recipe=recipe))
        out = dirs[task] = root / f"results-{task}"
        result = run_cli(["run", str(config), "--out", str(out)], env, root)
        assert result.returncode == 0, result.stderr
    curves = run_cli(["curves", str(dirs["classification"]), "--schemes", "original", "optimal"], env, root)
    assert curves.returncode == 0, curves.stderr
    return dirs
