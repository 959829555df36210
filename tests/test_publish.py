"""W&B publishing in offline mode: a run per trained cell, the fit run with its parameter table, the leaderboard
table; stable run ids, so publishing twice makes no new runs; `run --wandb` logs cells while running."""
import json
import sqlite3

from conftest import run_cli
from leaderboard_data import BUDGETS, offline_env


def run_dirs(results_dir):
    return sorted((results_dir / "wandb").glob("offline-run-*"))


def run_ids(results_dir):
    return {path.name.rsplit("-", 1)[1] for path in run_dirs(results_dir)}


def tables(results_dir, prefix):
    found = sorted(results_dir.glob(f"wandb/offline-run-*/files/media/table/{prefix}_*.table.json"))
    return [json.loads(path.read_text()) for path in found]


def test_publish_offline_writes_fit_and_leaderboard_tables(tmp_path, leaderboard_results):
    results = leaderboard_results["webp"]
    with sqlite3.connect(results / "results.sqlite") as db:
        cells = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
        cells += db.execute("SELECT COUNT(*) FROM curve_cells").fetchone()[0]  # the protocol's sets
    env = offline_env(tmp_path, tmp_path)
    first = run_cli(["publish", str(results), "--project", "sb-test"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "(offline)" in first.stdout
    ids = run_ids(results)
    assert len(ids) == cells + 2  # the cells, the fit, the leaderboard
    (fit_params,) = tables(results, "fit_params")
    assert fit_params["columns"] == ["param", "value", "ci_low", "ci_high"]
    assert [row[0] for row in fit_params["data"]] == ["e_star", "A", "alpha", "B", "beta", "nu"]
    (leaderboard,) = tables(results, "leaderboard")
    assert len(leaderboard["data"]) == 2 * len(BUDGETS) * (1 + 2)  # per view and budget: one entry, two baselines
    assert len(tables(results, "cross_compression")) == 1 and len(tables(results, "allocation")) == 1
    second = run_cli(["publish", str(results), "--project", "sb-test"], env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert run_ids(results) == ids  # the same runs again (they resume on sync), not new ones
    assert len(run_dirs(results)) == 2 * len(ids)


def test_run_with_wandb_logged_every_cell(leaderboard_results):
    from storagebench.leaderboard.publish import run_id

    results = leaderboard_results["jpegxl"]
    with sqlite3.connect(results / "results.sqlite") as db:
        cells = [row[0] for row in db.execute("SELECT cell FROM cells")]
        config_hash = db.execute("SELECT value FROM meta WHERE key = 'config_hash'").fetchone()[0]
    assert run_ids(results) == {run_id(config_hash, "cell", c) for c in cells} | {run_id(config_hash, "fit")}
    assert all((path / f"run-{path.name.rsplit('-', 1)[1]}.wandb").stat().st_size > 0 for path in run_dirs(results))
    assert len(tables(results, "fit_params")) == 1


def test_a_results_dir_without_budgets_publishes_cells_and_fit(tmp_path, leaderboard_results):
    import re
    import shutil

    results = tmp_path / "no-budgets"
    shutil.copytree(leaderboard_results["webp"], results, ignore=shutil.ignore_patterns("wandb"))
    config = results / "config.toml"
    config.write_text(re.sub(r"budgets = \[[^\]]*\]\n", "", config.read_text()))
    result = run_cli(["publish", str(results)], offline_env(tmp_path, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(results / "results.sqlite") as db:
        cells = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
        cells += db.execute("SELECT COUNT(*) FROM curve_cells").fetchone()[0]
    assert len(run_ids(results)) == cells + 1 and tables(results, "leaderboard") == []


def test_publish_a_reduction_benchmark(tmp_path, tiny_reduction):
    """A run per reduced set and per codec cell at equal bytes, and the ranked reduction table with every set."""
    import shutil

    results = tmp_path / "reduction"
    shutil.copytree(tiny_reduction[1], results)
    with sqlite3.connect(results / "results.sqlite") as db:
        reduced = db.execute("SELECT COUNT(*) FROM reduced_cells").fetchone()[0]
        curves = db.execute("SELECT COUNT(*) FROM curve_cells").fetchone()[0]
    result = run_cli(["publish", str(results)], offline_env(tmp_path, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(run_ids(results)) == reduced + curves + 1
    (table,) = tables(results, "reduction")
    names = {row[table["columns"].index("name")] for row in table["data"]}
    assert {"random (recipe)", "dd-fixed (own protocol)", "jpegxl optimal"} <= names
