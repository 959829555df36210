"""A tiny reduction benchmark (every built-in reducer, JPEG XL compared at equal bytes) run once per session: the
distillation tests and the browser test share it."""
from __future__ import annotations

import os
from pathlib import Path

from conftest import run_cli

TINY_REDUCTION = """
[benchmark]
name = "tiny-distill"
seeds = [0, 1, 2]
images_per_class = [1, 2]

[dataset]
name = "fashion-mnist"

[[reducer]]
name = "random"

[[reducer]]
name = "herding"
feature_epochs = 0.5

[[reducer]]
name = "dm"
iterations = 3
real_batch = 8

[[reducer]]
name = "dd"
label = "dd-fixed"
iterations = 3
real_batch = 32
images_per_class = [1]

[compare]
compressor = "jpegxl"
effort = 3
schemes = ["original", "optimal"]
law = {{ e_star = 0.1, A = 0.5, alpha = 0.3, B = 600000.0, beta = 3.5 }}

[task]
name = "classification"
width = 8
epochs = 1
min_steps = {min_steps}
batch_size = 32
lr = 0.05
"""


def write_reduction(path: Path, min_steps: int = 10) -> Path:
    path.write_text(TINY_REDUCTION.format(min_steps=min_steps))
    return path




def make_reduction(root: Path, fashion_dir: Path) -> tuple[Path, Path, dict[str, str], object]:
    """(config, results dir, environment, the run's completed process)."""
    env = {**os.environ, "STORAGEBENCH_CACHE": str(root / "cache"), "STORAGEBENCH_DATA": str(fashion_dir)}
    config, out = write_reduction(root / "distill.toml"), root / "out"
    result = run_cli(["run", str(config), "--out", str(out), "--workers", "2"], env, root)
    assert result.returncode == 0, result.stderr
    return config, out, env, result
