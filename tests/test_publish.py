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


def test_publish_respects_wandb_dir_and_names_tags_histories_and_artifacts(tmp_path, leaderboard_results):
    import shutil

    from wandb_records import read_run

    results = tmp_path / "results"
    shutil.copytree(leaderboard_results["jpegxl"], results, ignore=shutil.ignore_patterns("wandb"))
    env = {**offline_env(tmp_path, tmp_path), "WANDB_DIR": str(tmp_path / "wb"), "WANDB_MODE": "offline"}
    published = run_cli(["publish", str(results), "--project", "sb-test"], env, tmp_path)
    assert published.returncode == 0, published.stderr
    assert not (results / "wandb").exists()  # nothing in the results dir
    runs = [read_run(path) for path in sorted((tmp_path / "wb" / "wandb").glob("offline-run-*"))]
    trains = [r for r in runs if r["job_type"] == "train" and "level=8" in r["tags"]]
    assert len(trains) == 3 and all(r["name"].startswith("classification fashion-mnist jpegxl 8 n=") for r in trains)
    assert {"classification", "fashion-mnist", "jpegxl"} <= set(trains[0]["tags"])
    assert trains[0]["config"]["train_level_value"] == 8.0  # a number W&B can put on an axis
    losses = [row["train/loss"] for row in trains[0]["history"] if "train/loss" in row]
    assert len(losses) >= 2 and all(loss > 0 for loss in losses)
    (fit,) = [r for r in runs if r["job_type"] == "fit"]
    artifacts = [kind for kind in fit["logged"] if kind != "run_table"]  # (W&B keeps each table as one too)
    assert artifacts == ["results", "fit"]  # offline, wandb cannot mark results as the fit's input


def test_the_mode_follows_wandb_settings_and_credentials_for_its_server(tmp_path, monkeypatch):
    from storagebench.leaderboard.publish import wandb_mode

    for key in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert wandb_mode() == "offline"  # no credentials anywhere: never a login prompt mid-run
    (tmp_path / ".netrc").write_text("machine wandb.example.org login user password k\n")
    (tmp_path / ".netrc").chmod(0o600)
    assert wandb_mode() == "offline"  # a key for another server than wandb.ai's
    monkeypatch.setenv("WANDB_BASE_URL", "https://wandb.example.org")
    assert wandb_mode() == "online"  # a self-hosted server with its key
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode() is None  # wandb resolves WANDB_MODE itself
