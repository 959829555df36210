"""`storagebench run` end to end on tiny generated data, through the real CLI."""
import hashlib
import json
import re
import sqlite3

import numpy as np

from conftest import run_cli, write_config
from storagebench.benchmarks.store import StoredSet
from storagebench.compressors import COMPRESSORS
from storagebench.tasks.subsets import stratified_order


def table_of(stdout):
    return stdout[stdout.index("test error on"):stdout.index("outputs:")]


def test_run_fit_resume_and_provenance(tmp_path, cli_env, fashion_dir):
    config = write_config(tmp_path / "tiny.toml")
    first = run_cli(["run", str(config), "--out", "out", "--workers", "2"], cli_env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert re.search(r"α = \d+\.\d+", first.stdout) and re.search(r"β = \d+\.\d+", first.stdout)
    assert "6 trained, 0 already done" in first.stderr and "4 sets encoded" in first.stderr
    out = tmp_path / "out"
    assert {"results.sqlite", "config.toml", "fits.json"} <= {p.name for p in out.iterdir()}
    assert (out / "figures" / "fit.png").stat().st_size > 10_000
    fits = json.loads((out / "fits.json").read_text())
    assert set(fits["params"]) == {"e_star", "A", "alpha", "B", "beta"} and len(fits["data"]) == 6

    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT cell, test_level, error FROM results").fetchall()
        run = db.execute("SELECT git_commit, library_versions FROM runs").fetchone()
    assert len(rows) == 6 * 2 and all(0 <= e <= 1 for _, _, e in rows)
    assert run[0] and {"torch", "imagecodecs", "numpy"} <= set(json.loads(run[1]))

    second = run_cli(["run", str(config), "--out", "out", "--workers", "2"], cli_env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "nothing to encode or train" in second.stderr
    assert "0 trained" in second.stderr and "0 sets encoded" in second.stderr and "decode" not in second.stderr
    assert table_of(second.stdout) == table_of(first.stdout)


def test_trained_arrays_are_exactly_the_decoded_bitstreams(tmp_path, cli_env, fashion_dir):
    """Each cell records the sha256 of the array it trained on: decode the stored bitstreams and compare."""
    config = write_config(tmp_path / "tiny.toml", n="[30, 90]", train_levels='[6]')
    assert run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path).returncode == 0
    codec = COMPRESSORS.create("jpegxl", {"effort": 3}, "x")
    from storagebench.tasks import DATASETS
    train = DATASETS.create("fashion-mnist", {"path": str(fashion_dir)}, "x").load().train
    entries = [StoredSet(p.parent, json.loads(p.read_text()))
               for p in (tmp_path / "cache" / "store").glob("*/manifest.json")]
    (pool,) = [e for e in entries if e.manifest["split"] == "train"]
    assert sum(pool.sizes) == pool.bitstreams_path.stat().st_size
    decoded = pool.decode(codec, workers=1)
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        cells = db.execute("SELECT n, train_sha256, train_bytes_per_image FROM cells").fetchall()
    for n, recorded, mean_bytes in cells:
        subset = stratified_order(train.labels, 0)[:n]
        positions = np.searchsorted(pool.dataset_index, subset)
        digest = hashlib.sha256(np.ascontiguousarray(decoded[positions]).data)
        digest.update(np.ascontiguousarray(train.labels[subset], dtype=np.int64).data)
        assert digest.hexdigest() == recorded
        assert mean_bytes == float(pool.sizes[positions].mean())


def test_workers_do_not_change_results(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml", n="[50]", train_levels='["lossless", 5]')
    errors = []
    for workers in ("1", "2"):
        result = run_cli(["run", str(config), "--out", f"out{workers}", "--workers", workers], cli_env, tmp_path)
        assert result.returncode == 0, result.stderr
        with sqlite3.connect(tmp_path / f"out{workers}" / "results.sqlite") as db:
            errors.append(db.execute("SELECT cell, test_level, error FROM results ORDER BY 1, 2").fetchall())
    assert errors[0] == errors[1]


def test_fit_command_rewrites_fits(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml")
    assert run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path).returncode == 0
    (tmp_path / "out" / "fits.json").unlink()
    fit = run_cli(["fit", "out"], cli_env, tmp_path)
    assert fit.returncode == 0 and "ν = " in fit.stdout and (tmp_path / "out" / "fits.json").exists()
