"""``--executor ray``: cells and encodes run as Ray tasks on a local Ray instance, the driver alone writes, and the
numbers equal the local executor's bit for bit; a Ray worker killed mid-grid loses no finished cell."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import INVERT_PLUGIN, processes_with, run_cli, write_config

from storagebench.benchmarks.harness.store import StoredSet

pytest.importorskip("ray")

GRID = dict(seeds="[0, 1]", n="[40, 80]", train_levels='["lossless", 4]', min_steps=60)
CELLS = 2 * 2 * 2
TIMING = {"run_id", "finished_at", "train_seconds", "eval_seconds", "train_manifest_sha256", "test_manifest_sha256"}


def results(out: Path) -> dict[str, list[dict]]:
    """Every cell and evaluation row, less what differs between runs by design (times, run ids, and the manifest
    digests, whose manifests record encode times)."""
    with sqlite3.connect(out / "results.sqlite") as db:
        db.row_factory = sqlite3.Row
        cells = [{k: v for k, v in dict(r).items() if k not in TIMING}
                 for r in db.execute("SELECT * FROM cells ORDER BY cell")]
        evaluations = [{k: v for k, v in dict(r).items() if k not in TIMING}
                       for r in db.execute("SELECT * FROM evaluations ORDER BY cell, test_level")]
    return {"cells": cells, "evaluations": evaluations}


def stored_bitstreams(cache: Path) -> dict[str, list[str]]:
    """Each store entry's per-item sha256, by entry key."""
    entries = [StoredSet(p.parent, json.loads(p.read_text())) for p in (cache / "store").glob("*/manifest.json")]
    return {json.dumps(e.manifest["key"], sort_keys=True): e.index["sha256"].tolist() for e in entries}


def run_record(out: Path) -> list[dict]:
    with sqlite3.connect(out / "results.sqlite") as db:
        return [json.loads(row[0]) for row in db.execute("SELECT machine FROM runs ORDER BY run_id")]


def test_an_address_with_no_ray_cluster_is_one_clear_error(tmp_path, cli_env):
    # `--address auto` joins any cluster on the machine: give one killed by an earlier test time to be gone
    if processes_with("gcs_server", settle=30.0):
        if os.environ.get("CI"):
            pytest.fail("a Ray cluster outlived its run by 30 s (a killed run must take its Ray instance with it)")
        pytest.skip("a Ray cluster runs on this machine: --address auto would join it")
    config = write_config(tmp_path / "grid.toml", **GRID)
    env = {k: v for k, v in cli_env.items() if k != "RAY_ADDRESS"}
    done = run_cli(["run", str(config), "--out", "out", "--executor", "ray", "--address", "auto"], env, tmp_path)
    assert done.returncode == 2
    assert "--address auto: cannot connect to a Ray cluster" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, fashion_dir):
    root = tmp_path_factory.mktemp("local")
    config = write_config(root / "grid.toml", **GRID)
    env = {**os.environ, "STORAGEBENCH_CACHE": str(root / "cache"), "STORAGEBENCH_DATA": str(fashion_dir)}
    done = run_cli(["run", str(config), "--out", "out", "--workers", "2", "--executor", "local"], env, root)
    assert done.returncode == 0, done.stderr
    return root


def test_ray_executor_gives_the_local_executors_numbers_exactly(local_run, tmp_path, cli_env):
    config = write_config(tmp_path / "grid.toml", **GRID)
    done = run_cli(["run", str(config), "--out", "out", "--workers", "2", "--executor", "ray"], cli_env, tmp_path)
    assert done.returncode == 0, done.stderr
    ray_results, local_results = results(tmp_path / "out"), results(local_run / "out")
    assert len(ray_results["cells"]) == CELLS and len(ray_results["evaluations"]) == CELLS * 2
    assert ray_results == local_results
    # the store was encoded by Ray tasks into its own cache: the same bitstreams
    assert stored_bitstreams(tmp_path / "cache") == stored_bitstreams(local_run / "cache")
    (record,) = run_record(tmp_path / "out")
    assert record["executor"] == "ray" and record["cpus"] == 2 and record["device"] == "auto"
    assert {c["device"] for c in ray_results["cells"]} == {"cpu"}


def ray_cell_workers() -> list[int]:
    """Pids of Ray worker processes now running a storagebench task (Ray titles them ``ray::run_item``)."""
    return processes_with("ray::run_item", settle=0)


def finished_cells(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=1) as db:
            return db.execute("SELECT count(*) FROM cells").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_killing_a_ray_worker_mid_grid_loses_no_finished_cell_and_the_rerun_completes(local_run, tmp_path, cli_env):
    config = write_config(tmp_path / "grid.toml", **GRID)
    db_path = tmp_path / "out" / "results.sqlite"
    process = subprocess.Popen([sys.executable, "-m", "storagebench", "run", str(config), "--out",
                                "out", "--workers", "2", "--executor", "ray"], env=cli_env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline, killed = time.monotonic() + 300, []
    while not killed and process.poll() is None and time.monotonic() < deadline:
        workers = ray_cell_workers() if finished_cells(db_path) >= 1 else []
        for pid in workers[:1]:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.01)
    done_at_kill = finished_cells(db_path)
    assert killed and 1 <= done_at_kill < CELLS, "the kill must land mid-grid for this test to mean anything"
    try:
        _, stderr = process.communicate(timeout=300)
    finally:
        os.killpg(process.pid, signal.SIGKILL) if process.poll() is None else None
    assert finished_cells(db_path) >= done_at_kill  # nothing finished was lost
    assert process.returncode == 0, stderr  # Ray re-ran the killed cell on a new worker

    rerun = run_cli(["run", str(config), "--out", "out", "--workers", "2", "--executor", "ray"], cli_env, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert f"all {CELLS} cells already done" in rerun.stderr
    assert results(tmp_path / "out") == results(local_run / "out")


def test_killing_the_whole_ray_run_mid_grid_keeps_finished_cells_and_the_rerun_resumes(local_run, tmp_path,
                                                                                       cli_env):
    config = write_config(tmp_path / "grid.toml", **GRID)
    db_path = tmp_path / "out" / "results.sqlite"
    process = subprocess.Popen([sys.executable, "-m", "storagebench", "run", str(config), "--out",
                                "out", "--workers", "2", "--executor", "ray"], env=cli_env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while finished_cells(db_path) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the driver, its Ray instance and every worker
    process.wait()
    done_at_kill = finished_cells(db_path)
    assert 2 <= done_at_kill < CELLS, "the kill must land mid-grid for this test to mean anything"

    rerun = run_cli(["run", str(config), "--out", "out", "--workers", "2", "--executor", "ray"], cli_env, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{done_at_kill} of {CELLS} cells already done" in rerun.stderr
    assert results(tmp_path / "out") == results(local_run / "out")


@pytest.mark.parametrize("options, message", [
    (["--address", "auto"], "--address and --gpus-per-cell need --executor ray"),
    (["--executor", "ray", "--gpus-per-cell", "-1"], "--gpus-per-cell: must be ≥ 0, got -1"),
    (["--executor", "ray", "--device", "tpu"], "--device: 'tpu' is not a device"),
    (["--executor", "ray", "--device", "cuda", "--gpus-per-cell", "0"], "--device cuda: the Ray cluster's cells get "
                                                                        "no GPU"),
])
def test_bad_ray_and_device_options_are_one_error_and_write_nothing(tmp_path, cli_env, options, message):
    config = write_config(tmp_path / "grid.toml", **GRID)
    done = run_cli(["run", str(config), "--out", "out", *options], cli_env, tmp_path)
    assert done.returncode == 2
    assert f"storagebench: error: {message}" in done.stderr
    assert not (tmp_path / "out").exists()


RAY_SCRIPT = """
import numpy as np
from storagebench.errors import StorageBenchError
from storagebench.parallel import parallel_map, using
from storagebench.ray_executor import RayExecutor

def refuse_odd(job, item):  # defined in __main__: Ray's cloudpickle ships it by value
    if item % 2:
        raise StorageBenchError(f"item {item}: odd items are refused")
    return job["scale"] * item

with RayExecutor(num_cpus=2) as executor, using(executor):
    job = {"scale": np.arange(3)}
    print([r.tolist() for r in parallel_map(refuse_odd, job, [0, 2, 4], workers=2, desc="t", total=3)])
    try:
        list(parallel_map(refuse_odd, job, [0, 1, 2], workers=2, desc="t", total=3, ordered=False))
    except StorageBenchError as exc:
        print(type(exc).__name__, exc)
"""


def test_ray_tasks_return_in_order_and_a_task_error_reaches_the_driver_as_itself(tmp_path):
    # in a process of its own: a process that ran a Ray driver is no place to fork the local executor's workers
    script = tmp_path / "ray_map.py"
    script.write_text(RAY_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[[0, 0, 0], [0, 2, 4], [0, 4, 8]]",
                                        "StorageBenchError item 1: odd items are refused"]


def reduction_rows(out: Path) -> dict[str, list[dict]]:
    skip = TIMING | {"reduce_seconds", "info"}  # info records whether a stored set was reused from the cache
    with sqlite3.connect(out / "results.sqlite") as db:
        db.row_factory = sqlite3.Row
        return {table: [{k: v for k, v in dict(r).items() if k not in skip}
                        for r in db.execute(f"SELECT * FROM {table} ORDER BY cell")]
                for table in ("reduced_cells", "curve_cells")}


def test_a_reduction_benchmark_on_ray_gives_the_local_numbers(tiny_reduction, tmp_path, fashion_dir):
    from reduction_data import write_reduction

    _, local_out, _, _ = tiny_reduction
    env = {**os.environ, "STORAGEBENCH_CACHE": str(tmp_path / "cache"), "STORAGEBENCH_DATA": str(fashion_dir)}
    done = run_cli(["run", str(write_reduction(tmp_path / "distill.toml")), "--out", "out", "--workers", "2",
                    "--executor", "ray"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    ray_rows, local_rows = reduction_rows(tmp_path / "out"), reduction_rows(local_out)
    assert ray_rows["reduced_cells"] and ray_rows["curve_cells"]
    assert ray_rows == local_rows


def test_a_compressor_from_a_file_runs_on_ray_workers(tmp_path, cli_env):
    (tmp_path / "invert.py").write_text(INVERT_PLUGIN)
    config = write_config(tmp_path / "grid.toml", n="[40]", train_levels='["lossless"]')
    text = config.read_text().replace('name = "jpegxl"\neffort = 3', f'name = "{tmp_path / "invert.py"}:Invert"')
    config.write_text(text.replace('test_levels = ["lossless", 8]', 'test_levels = ["lossless"]'))
    done = run_cli(["run", str(config), "--out", "out", "--workers", "2", "--executor", "ray"], cli_env, tmp_path)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        assert db.execute("SELECT train_bytes_per_image FROM cells").fetchall() == [(784.0,)]
