"""``--device``: resolved where cells run, recorded with every result, refused up front when it is not there."""
import sqlite3

import pytest
import torch
from conftest import run_cli, write_config

from storagebench.benchmarks.harness.results import SCHEMA_VERSION, ResultsDB
from storagebench.device import current_device, describe_device, on_device, resolve_device
from storagebench.errors import StorageBenchError

DEVICE_TABLES = ("cells", "curve_cells", "reduced_cells")  # schema 4 added their device column


def test_auto_is_the_cpu_without_a_gpu_and_bad_devices_are_named():
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(StorageBenchError, match="no CUDA GPU is visible"):
            resolve_device("cuda")
    with pytest.raises(StorageBenchError, match="'tpu' is not a device"):
        resolve_device("tpu")
    with pytest.raises(StorageBenchError, match="use auto, cpu, cuda or cuda:N"):
        resolve_device("meta")


def test_on_device_sets_and_restores_the_current_device():
    with on_device("cpu", amp=True):
        assert current_device() == torch.device("cpu")
        assert describe_device() == "cpu bf16"
    assert current_device() == torch.device("cpu") and describe_device() == "cpu"


def test_every_cell_records_its_device_and_the_run_records_the_request(tmp_path, cli_env):
    config = write_config(tmp_path / "grid.toml", n="[40]", train_levels='["lossless"]')
    done = run_cli(["run", str(config), "--out", "out", "--workers", "1", "--device", "cpu"], cli_env, tmp_path)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        assert db.execute("SELECT DISTINCT device FROM cells").fetchall() == [("cpu",)]
        assert '"device": "cpu"' in db.execute("SELECT machine FROM runs").fetchone()[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_one_error_before_any_work(tmp_path, cli_env):
    config = write_config(tmp_path / "grid.toml")
    done = run_cli(["run", str(config), "--out", "out", "--device", "cuda"], cli_env, tmp_path)
    assert done.returncode == 2
    assert "--device cuda: no CUDA GPU is visible here" in done.stderr
    assert not (tmp_path / "out").exists()


def test_schema_3_results_gain_a_device_column_of_cpu_and_curve_decoder_bytes(tmp_path):
    path = tmp_path / "results.sqlite"
    ResultsDB(path).close()
    with sqlite3.connect(path) as db:  # what storagebench before the device column wrote
        for table in DEVICE_TABLES:
            db.execute(f"ALTER TABLE {table} DROP COLUMN device")
        db.execute("ALTER TABLE curve_cells DROP COLUMN decoder_bytes")
        db.execute("ALTER TABLE cells DROP COLUMN history")  # schema 6 added each cell's training history
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with ResultsDB(path) as results:
        assert results.meta("schema_version") == SCHEMA_VERSION == "6"
    with sqlite3.connect(path) as db:
        assert {row[1]: row[4] for row in db.execute("PRAGMA table_info(cells)")}["history"] == "'{}'"
    with sqlite3.connect(path) as db:
        for table in DEVICE_TABLES:
            columns = {row[1]: row[4] for row in db.execute(f"PRAGMA table_info({table})")}
            assert columns["device"] == "'cpu'"
