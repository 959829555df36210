"""`storagebench compare`: three tasks of one set of scenes side by side at equal storage, read back from their
results dirs and checked against the databases themselves."""
import json
import os
import sqlite3

import numpy as np
import pytest
from conftest import run_cli

from storagebench.benchmarks.law.allocation import optimal_n
from storagebench.benchmarks.law.fit import law_from_dict
from storagebench.leaderboard.tasks_compared import FLAT, law_note


@pytest.fixture(scope="module")
def compared(task_dirs, tmp_path_factory, fashion_dir):
    root = tmp_path_factory.mktemp("compare")
    env = {**os.environ, "STORAGEBENCH_DATA": str(fashion_dir)}
    result = run_cli(["compare", *map(str, task_dirs.values()), "--out", str(root / "cmp")], env, root)
    assert result.returncode == 0, result.stderr
    return root / "cmp", result.stdout


def _curve_errors(out, scheme, budget):
    with sqlite3.connect(out / "results.sqlite") as db:
        return dict(db.execute("SELECT seed, error FROM curve_cells WHERE scheme = ? AND budget = ?",
                               (scheme, budget)).fetchall())


def test_every_task_gets_its_law_allocation_and_measured_sets(compared, task_dirs):
    cmp, stdout = compared
    data = json.loads((cmp / "comparison.json").read_text())
    assert sorted(law["task"] for law in data["laws"]) == sorted(task_dirs)
    assert data["budgets"] == [30e3, 60e3]  # the definitions' budgets
    assert len(data["rows"]) == len(task_dirs) * 2
    by_name = {law["benchmark"]: law for law in data["laws"]}
    measured = 0
    for row in data["rows"]:
        task = by_name[row["benchmark"]]["task"]
        out = task_dirs[task]
        fits = json.loads((out / "fits.json").read_text())
        law = law_from_dict(fits["params"])
        if row["n_star"] is not None:
            assert row["n_star"] == pytest.approx(optimal_n(law, row["budget"]))
            assert row["L_star"] == pytest.approx(row["budget"] / row["n_star"])
        optimal, original = (_curve_errors(out, s, row["budget"]) for s in ("optimal", "original"))
        if not optimal:
            assert row["optimal"] is None and row["gain"] is None
            continue
        measured += 1
        assert row["seeds"] == 2 == len(optimal) == len(original)
        assert row["optimal"]["mean"] == pytest.approx(np.mean(list(optimal.values())))
        assert row["optimal"]["low"] <= row["optimal"]["mean"] <= row["optimal"]["high"]
        gains = [1 - optimal[s] / original[s] for s in optimal]
        assert row["gain"]["mean"] == pytest.approx(np.mean(gains))
    assert measured >= 2  # the classification dir has storage curves at both budgets
    assert (cmp / "figures" / "error-vs-storage.png").stat().st_size > 10_000
    assert "**Laws**" in stdout and stdout.count("cross-compression error at n = 90") == 3
    assert (cmp / "comparison.md").read_text().strip() in stdout


def test_the_matrices_are_the_databases_means_at_the_largest_n(compared, task_dirs):
    data = json.loads((compared[0] / "comparison.json").read_text())
    for matrix, out in zip(data["matrices"], task_dirs.values()):
        assert matrix["train_levels"] == ["lossless", "2", "8"] and matrix["test_levels"] == ["lossless", "8"]
        with sqlite3.connect(out / "results.sqlite") as db:
            for i, train in enumerate(matrix["train_levels"]):
                for j, test in enumerate(matrix["test_levels"]):
                    (mean,) = db.execute("SELECT avg(error) FROM results WHERE n = 90 AND train_level = ? AND "
                                         "test_level = ?", (train, test)).fetchone()
                    assert matrix["errors"][i][j] == pytest.approx(mean)


def test_a_flat_grid_or_a_poor_fit_is_not_shown_as_a_law():
    def grid(errors):
        return [{"level": lv, "n": n, "seed": 0, "error": e} for (lv, n), e in zip(
            [("lossless", 30), ("lossless", 90), ("8", 30), ("8", 90)], errors)]

    assert law_note(grid([0.50, 0.40, 0.55, 0.45]), r2=0.95) == ""
    assert law_note(grid([0.50, 0.40, 0.55, 0.45]), r2=0.3).startswith("poor fit")
    flat = [0.5, 0.5 * (1 + FLAT / 2), 0.5, 0.5]
    assert law_note(grid(flat), r2=0.99).startswith("flat")


def test_bad_input_is_one_error(compared, task_dirs, tmp_path):
    env = dict(os.environ)
    one = str(task_dirs["classification"])
    for args, message in ((["compare", one, one], "named twice"), (["compare", one, str(tmp_path)], "not a results dir")):
        result = run_cli([*args, "--out", str(tmp_path / "cmp")], env, tmp_path)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "cmp").exists()  # nothing half-written
