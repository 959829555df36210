"""Two tiny results dirs on one benchmark definition (budgets and a 3-seed protocol included, both measured), one per
compressor, shared by the leaderboard, site and W&B tests; the JPEG XL one is run with ``--wandb`` (offline)."""
from __future__ import annotations

import os
from pathlib import Path

from conftest import make_fashion_dir, run_cli

CONFIG = """
[benchmark]
name = "{name}"
seeds = [0]
n = [40, 80, 120]
budgets = ["30k", "60k", "100k"]

[protocol]
seeds = [0, 1, 2]

[dataset]
name = "fashion-mnist"

[compressor]
name = "{compressor}"
train_levels = {levels}
test_levels = ["lossless"]

[task]
name = "classification"
width = 8
epochs = 2
min_steps = 20
batch_size = 32
lr = 0.05
"""

COMPRESSORS = {"jpegxl": '["lossless", 2, 8]', "webp": '["lossless", 40, 90]'}
BUDGETS = [30e3, 60e3, 100e3]


def offline_env(root: Path, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return {**env, "HOME": str(root / "home"), "STORAGEBENCH_CACHE": str(root / "cache"),
            "STORAGEBENCH_DATA": str(data)}


def make_results(root: Path) -> dict[str, Path]:
    """{compressor: results dir}, plus root/env, for a fresh root."""
    data = make_fashion_dir(root / "fashion")
    env = offline_env(root, data)
    dirs = {}
    for compressor, levels in COMPRESSORS.items():
        config = root / f"{compressor}.toml"
        config.write_text(CONFIG.format(name=f"lb-{compressor}", compressor=compressor, levels=levels))
        out = root / f"results-{compressor}"
        extra = ["--wandb"] if compressor == "jpegxl" else []
        result = run_cli(["run", str(config), "--out", str(out), *extra], env, root)
        assert result.returncode == 0, result.stderr
        result = run_cli(["protocol", str(out)], env, root)
        assert result.returncode == 0, result.stderr
        dirs[compressor] = out
    return dirs
