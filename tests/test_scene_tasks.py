"""Segmentation and detection run on the classification harness: run → results rows → fit → matrix → curves."""
import json
import sqlite3

import pytest
from conftest import SMALLEST_MODELS, run_cli, scenes_config, toml_keys

# (task, target, scene size, a metric every evaluation records, least label bytes per training image, curves?).
# Ten steps of detection learn nothing, so its fit has no n term and curves rightly refuses to allocate; the
# quick-det benchmark (README) shows detection curves on a grid that learns.
@pytest.mark.parametrize("task, target, size, metric, label_bytes, curves", [
    ("segmentation", "masks", 32, "miou", 20, True),  # a PNG mask per image
    ("detection", "boxes", 32, "ap50", 10, False),  # the JSON of each image's boxes
])
def test_scene_task_runs_on_the_same_harness(tmp_path, cli_env, task, target, size, metric, label_bytes, curves):
    config = tmp_path / f"{task}.toml"
    config.write_text(scenes_config(task, target, tmp_path / "scenes", [30, 60, 90],
                                    f"train = 90\ntest = 30\nsize = {size}", "min_steps = 10",
                                    toml_keys(SMALLEST_MODELS[task])))
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
