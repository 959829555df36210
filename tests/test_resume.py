"""Killing a run with SIGKILL mid-grid loses at most the cells in flight; the re-run completes exactly."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import run_cli, write_config


def finished_cells(db_path):
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path, timeout=1) as db:
            return db.execute("SELECT count(*) FROM cells").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_grid_then_rerun_gives_one_row_per_cell_and_test_level(tmp_path, cli_env):
    config = write_config(tmp_path / "grid.toml", seeds="[0, 1]", n="[40, 80, 160]",
                          train_levels='["lossless", 3, 9]', min_steps=120)
    total_cells = 3 * 3 * 2
    db_path = tmp_path / "out" / "results.sqlite"
    process = subprocess.Popen([sys.executable, "-m", "storagebench", "run", str(config),
                                "--out", "out", "--workers", "1"], env=cli_env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while finished_cells(db_path) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_at_kill = finished_cells(db_path)
    assert 2 <= done_at_kill < total_cells, "the kill must land mid-grid for this test to mean anything"

    rerun = run_cli(["run", str(config), "--out", "out", "--workers", "2"], cli_env, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{done_at_kill} of {total_cells} cells already done" in rerun.stderr
    with sqlite3.connect(db_path) as db:
        per_pair = db.execute("SELECT cell, test_level, count(*) FROM evaluations GROUP BY 1, 2").fetchall()
        cells = db.execute("SELECT count(*) FROM cells").fetchone()[0]
    assert cells == total_cells
    assert len(per_pair) == total_cells * 2 and all(count == 1 for _, _, count in per_pair)
