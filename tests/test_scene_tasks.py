"""Segmentation and detection run on the classification harness: run → results rows → fit → matrix → curves."""
import json
import sqlite3

import pytest
from conftest import SMALLEST_MODELS, run_cli, toml_keys

SCENES_CONFIG = """
[benchmark]
name = "tiny-{task}"
n = [30, 60, 90]

[dataset]
name = "fashion-scenes"
target = "{target}"
root = "{root}"
train = 90
test = 30
size = {size}

[compressor]
name = "jpegxl"
effort = 3
train_levels = ["lossless", 6]
test_levels = ["lossless", 6]

[task]
name = "{task}"
epochs = 1
min_steps = 10
{recipe}
"""


# (task, target, scene size, a metric every evaluation records, least label bytes per training image, curves?).
# Ten steps of detection learn nothing, so its fit has no n term and curves rightly refuses to allocate; the
# quick-det benchmark (README) shows detection curves on a grid that learns.
@pytest.mark.parametrize("task, target, size, metric, label_bytes, curves", [
    ("segmentation", "masks", 32, "miou", 20, True),  # a PNG mask per image
    ("detection", "boxes", 32, "ap50", 10, False),  # the JSON of each image's boxes
])
def test_scene_task_runs_on_the_same_harness(tmp_path, cli_env, task, target, size, metric, label_bytes, curves):
    config = tmp_path / f"{task}.toml"
    config.write_text(SCENES_CONFIG.format(task=task, target=target, root=tmp_path / "scenes", size=size,
                                           recipe=toml_keys(SMALLEST_MODELS[task])))
    result = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        rows = db.execute("SELECT n, train_label_bytes_total, error, metrics FROM results").fetchall()
    assert len(rows) == 6 * 2  # 2 train levels × 3 n, each evaluated at 2 test levels
    for n, total_label_bytes, error, metrics in rows:
        assert total_label_bytes > label_bytes * n and 0 <= error <= 1 and metric in json.loads(metrics)
    assert run_cli(["matrix", "out"], cli_env, tmp_path).returncode == 0
    assert (tmp_path / "out" / "matrix.csv").is_file() and (tmp_path / "out" / "fits.json").is_file()
    if curves:
        result = run_cli(["curves", "out", "--budgets", "40k", "--naive", "6"], cli_env, tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads((tmp_path / "out" / "curves.json").read_text())
        assert (tmp_path / "out" / "figures" / "curves.png").is_file()
