"""`storagebench run` end to end on tiny generated data, through the real CLI."""
import hashlib
import json
import re
import sqlite3

import numpy as np
from conftest import run_cli, write_config

from storagebench.benchmarks.harness.store import StoredSet
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
    # stderr is a pipe here, as under nohup or SLURM: one line per finished cell, also kept in run.log
    cell_lines = re.findall(r"cell (\d)/6: train (\S+), n \d+, seed 0: error 0\.\d{4} at test \S+ \(\d+ s\); (\d) left",
                            first.stderr)
    assert [int(done) for done, _, _ in cell_lines] == [1, 2, 3, 4, 5, 6]
    assert [int(left) for *_, left in cell_lines] == [5, 4, 3, 2, 1, 0]
    out = tmp_path / "out"
    assert len((out / "run.log").read_text().splitlines()) == 6
    assert {"results.sqlite", "config.toml", "fits.json"} <= {p.name for p in out.iterdir()}
    assert (out / "figures" / "fit.png").stat().st_size > 10_000
    fits = json.loads((out / "fits.json").read_text())
    assert {"e_star", "A", "alpha", "B", "beta", "nu"} <= set(fits["params"]) and len(fits["data"]) == 6
    assert {"paper_method", "bootstrap", "allocation"} <= set(fits)
    assert "≥ 5 cells left" in fits["held_out_note"]  # 2 levels × 3 n: too small to hold an n out

    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT cell, test_level, error FROM results").fetchall()
        run = db.execute("SELECT git_commit, library_versions FROM runs").fetchone()
    assert len(rows) == 6 * 2 and all(0 <= e <= 1 for _, _, e in rows)
    assert run[0] and {"torch", "imagecodecs", "numpy"} <= set(json.loads(run[1]))

    fitted_at = (out / "fits.json").stat().st_mtime_ns
    second = run_cli(["run", str(config), "--out", "out", "--workers", "2"], cli_env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert (out / "fits.json").stat().st_mtime_ns == fitted_at  # nothing new: the fit is shown, not redone
    assert second.stdout[second.stdout.index("fit:"):second.stdout.index("outputs:")] == \
        first.stdout[first.stdout.index("fit:"):first.stdout.index("outputs:")]
    assert "nothing to encode or train" in second.stderr
    assert "0 trained" in second.stderr and "0 sets encoded" in second.stderr
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
    (pool,) = [e for e in entries if e.manifest["split"] == "train" and e.manifest["level"] == 6]  # not baselines
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


def test_fit_matrix_and_their_errors(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml")
    assert run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path).returncode == 0
    out = tmp_path / "out"
    (out / "fits.json").unlink()
    fit = run_cli(["fit", "--budgets", "20k", "60k", "out", "--bootstrap", "20"], cli_env, tmp_path)  # DIR stays DIR
    assert fit.returncode == 0, fit.stderr
    assert "ν = " in fit.stdout and "optimal allocation" in fit.stdout
    assert [r["s"] for r in json.loads((out / "fits.json").read_text())["allocation"]] == [20000, 60000]

    too_small = run_cli(["fit", "out", "--budgets", "50"], cli_env, tmp_path)
    assert too_small.returncode == 2 and "smaller than one compressed image" in too_small.stderr

    matrix = run_cli(["matrix", "out"], cli_env, tmp_path)
    assert matrix.returncode == 0, matrix.stderr
    lines = (out / "matrix.csv").read_text().splitlines()
    assert lines[0].startswith("train_level,train_bytes_per_image,n,test lossless (")
    assert [line.split(",")[0] for line in lines[1:]] == ["lossless", "4"]
    assert all(line.split(",")[2] == "120" for line in lines[1:])
    assert (out / "figures" / "matrix.png").stat().st_size > 10_000

    with sqlite3.connect(out / "results.sqlite") as db:
        db.execute("DELETE FROM evaluations WHERE cell LIKE '4|%'")
        db.execute("DELETE FROM cells WHERE cell LIKE '4|%'")
    partial = run_cli(["fit", "out"], cli_env, tmp_path)
    assert partial.returncode == 2
    assert "Missing cells: 4|n=40|seed=0, 4|n=80|seed=0, 4|n=120|seed=0" in partial.stderr
