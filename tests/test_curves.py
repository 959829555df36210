"""`storagebench curves` on a tiny grid: real sets fill each budget, every scheme trains, resume, clear errors."""
import json
import sqlite3

from conftest import make_fashion_dir, run_cli, write_config


def test_curves_fill_budgets_with_real_bytes_and_resume(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml", n="[40, 80, 160]", train_levels='["lossless", 3, 9]')
    assert run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path).returncode == 0
    budgets = ["40k", "90k"]
    first = run_cli(["curves", "out", "--budgets", *budgets, "--naive", "6"], cli_env, tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT scheme, budget, n, bytes_total, bytes_per_image, level, error "
                          "FROM curve_cells").fetchall()
    assert sorted({r[0] for r in rows}) == ["naive-d6", "optimal", "original", "randomized"]
    assert len(rows) == 2 * 4
    for scheme, budget, n, total, per_image, level, error in rows:
        assert total <= budget and total > 0.9 * budget, (scheme, budget, total)
        assert per_image * n == total or abs(per_image * n - total) < 1e-6 * total
        assert 0 <= error <= 1
    assert {r[5] for r in rows if r[0] == "original"} == {"lossless"}
    # Per-image distances, unless the fit's n* did not fit even at the largest distance (then it says so).
    assert all(".." in r[5] or "capped" in r[5] for r in rows if r[0] == "randomized")
    summary = json.loads((out / "curves.json").read_text())
    assert len(summary["optimal_vs_original"]) == 2
    assert "curves_held_out_prediction" in json.loads((out / "fits.json").read_text())
    assert (out / "figures" / "curves.png").stat().st_size > 20_000
    assert "scaling-optimal" in first.stdout

    again = run_cli(["curves", "out", "--budgets", *budgets, "--naive", "6"], cli_env, tmp_path)
    assert again.returncode == 0 and "8 already done" in again.stderr and "encode" not in again.stderr

    too_small = run_cli(["curves", "out", "--budgets", "100"], cli_env, tmp_path)
    assert too_small.returncode == 2 and "smaller than one compressed image" in too_small.stderr
    bad_naive = run_cli(["curves", "out", "--budgets", "60k", "--naive", "40"], cli_env, tmp_path)
    assert bad_naive.returncode == 2 and "--naive" in bad_naive.stderr and "Traceback" not in bad_naive.stderr
    other = make_fashion_dir(tmp_path / "other", n_train=300)
    elsewhere = run_cli(["curves", "out", "--budgets", "60k", "--data", str(other)], cli_env, tmp_path)
    assert elsewhere.returncode == 2 and "was run on different data" in elsewhere.stderr
    with sqlite3.connect(out / "results.sqlite") as db:  # neither wrote a row
        assert db.execute("SELECT COUNT(*) FROM curve_cells").fetchone()[0] == 8
