"""`storagebench curves` on a tiny grid: real sets fill each budget, every scheme trains, resume, clear errors."""
import json
import sqlite3

import pytest
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
    unknown = run_cli(["curves", "out", "--budgets", "60k", "--schemes", "optimal", "greedy"], cli_env, tmp_path)
    assert unknown.returncode == 2 and "--schemes: unknown storage-curve scheme 'greedy'" in unknown.stderr
    with sqlite3.connect(out / "results.sqlite") as db:  # none of them wrote a row
        assert db.execute("SELECT COUNT(*) FROM curve_cells").fetchone()[0] == 8
    only = run_cli(["curves", "out", "--budgets", "60k", "--schemes", "original", "optimal"], cli_env, tmp_path)
    assert only.returncode == 0, only.stderr
    with sqlite3.connect(out / "results.sqlite") as db:
        added = db.execute("SELECT scheme FROM curve_cells WHERE budget = 60000").fetchall()
    assert sorted(s for (s,) in added) == ["optimal", "original"]  # the schemes asked for, nothing else
    assert sorted(json.loads((out / "curves.json").read_text())["table"]) == ["60000"]


QUANTIZE = '''
import zlib
from dataclasses import dataclass

import numpy as np

from storagebench.compressors import ImageCodec


@dataclass(frozen=True)
class Params:
    pass


class Quantize(ImageCodec):
    """Keeps the top k bits of each pixel, zlib-compressed: an integer level knob, more bits = more bytes."""
    Params = Params
    default_levels = ("lossless", 1, 2, 3)
    default_test_levels = ("lossless",)
    larger_is_smaller = False
    search_levels = (1, 2, 3, 4, 5, 6)

    def parse_level(self, value):
        if value == "lossless" or value in range(1, 8):
            return value if value == "lossless" else float(value)
        raise ValueError(f"levels are bits kept, 1..7, or lossless; got {value!r}")

    def encode(self, image, level):
        bits = 8 if level == "lossless" else int(level)
        return bytes([bits]) + zlib.compress((image >> (8 - bits)).astype(np.uint8).tobytes(), 9)

    def decode(self, data, level):
        bits = data[0]
        pixels = np.frombuffer(zlib.decompress(data[1:]), np.uint8).reshape(28, 28)
        return (pixels << (8 - bits)).astype(np.uint8)
'''


def test_submit_alone_ranks_a_file_codec_with_an_integer_knob(tmp_path, cli_env):
    """`submit file.py:Class` (levels are separate integers, no continuous range) on a benchmark with a [protocol]:
    validation, the grid, the protocol's sets on 3 seeds (the declared levels searched, how full each budget is
    said) and the entry, which the leaderboard ranks with an interval. `curves` on the same dir: randomized (which
    needs a distance) is left out."""
    (tmp_path / "quantize.py").write_text(QUANTIZE)
    config = write_config(tmp_path / "q.toml", n="[40, 80, 160]", train_levels='["lossless", 1, 2, 3]')
    text = config.read_text().replace("n = [40, 80, 160]", 'n = [40, 80, 160]\nbudgets = ["20k", "40k"]')
    config.write_text(text.replace('test_levels = ["lossless", 8]', 'test_levels = ["lossless"]') +
                      "\n[protocol]\nseeds = [0, 1, 2]\n")
    done = run_cli(["submit", f"{tmp_path / 'quantize.py'}:Quantize", "--config", str(config), "--out", "sub"],
                   cli_env, tmp_path)
    assert done.returncode == 0, done.stderr
    site = run_cli(["leaderboard", "sub/entry.json", "--out", "site"], cli_env, tmp_path)
    assert site.returncode == 0, site.stderr
    board = json.loads((tmp_path / "site" / "leaderboard.json").read_text())["boards"][0]
    for budget in ("20000", "40000"):
        (row,) = board["rankings"][budget]["entries"]
        assert row["rank_label"] == "1" and row["seeds"] == 3 and row["measured_by"].startswith("optimal: ")
        assert row["measured_error_lo"] <= row["measured_error"] <= row["measured_error_hi"]
        assert "% of s" in row["measured_by"] and row["fill"] <= 1
    done = run_cli(["curves", "sub", "--budgets", "30k", "--naive", "2"], cli_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "discrete levels 1, 2, 3, 4, 5, 6 (fewest bytes first)" in done.stderr
    with sqlite3.connect(tmp_path / "sub" / "results.sqlite") as db:
        rows = {r[0]: r[1:] for r in db.execute("SELECT scheme, n, bytes_total, level FROM curve_cells "
                                                "WHERE budget = 30000")}
    assert sorted(rows) == ["naive-d2", "optimal", "original"]
    n, total, level = rows["optimal"]
    assert total <= 30e3 and "fills" in level and "% of s" in level


def test_without_a_finite_optimum_the_protocol_uses_its_declared_fallback_n(tmp_path, fashion_dir):
    """A flat fit (no n term) or no fit at all: a benchmark with a [protocol] uses its declared fallback n and says
    so; without one, the search refuses rather than guess."""
    from storagebench.benchmarks.definition import load_config
    from storagebench.benchmarks.harness.curves import CurveBuilder
    from storagebench.benchmarks.harness.runner import make_plan
    from storagebench.benchmarks.law.scaling_law import ScalingLaw
    from storagebench.errors import StorageBenchError

    flat = ScalingLaw(e_star=0.2, A=0.0, alpha=0.5, B=1.0, beta=1.0)
    config = write_config(tmp_path / "t.toml", n="[40, 80]")
    with pytest.raises(StorageBenchError, match="allocation needs an additive law"):
        CurveBuilder(make_plan(load_config(config), str(fashion_dir)), None, flat, 1).n_star(1e5)
    config.write_text(config.read_text() + "\n[protocol]\nseeds = [0, 1, 2]\nfallback_n = 60\n")
    plan = make_plan(load_config(config), str(fashion_dir))
    for law, why in ((flat, "allocation needs an additive law with A, B > 0"), (None, "no scaling-law fit")):
        n, note = CurveBuilder(plan, None, law, 1).n_star(1e5)
        assert n == 60 and note.startswith(f"declared fallback n = 60 ({why}")


def test_a_ranked_search_starts_where_the_grid_puts_the_budget(leaderboard_results, tmp_path):
    """The grid's measured bytes per image (its largest n per lossy level) put the budget on the knob, so the
    scaling-optimal set is encoded at ≤ 3 levels (bisecting the whole range took ~10) and fills ≥ 99 % of s."""
    from storagebench.benchmarks.definition import load_config
    from storagebench.benchmarks.harness.curves import CurveBuilder, grid_bytes
    from storagebench.benchmarks.harness.results_dir import open_results_dir
    from storagebench.benchmarks.harness.runner import make_plan
    from storagebench.benchmarks.harness.schemes.optimal import Optimal
    from storagebench.benchmarks.harness.store import CompressedSetStore

    out = leaderboard_results["jpegxl"]
    plan = make_plan(load_config(out / "config.toml"), str(out.parent / "fashion"))
    db, _ = open_results_dir(out)
    with db:
        grid = grid_bytes(plan, db)
        largest = {c.train_level: c.train_bytes_per_image for c in db.cells() if c.n == 120}
    assert grid == {2.0: largest["2"], 8.0: largest["8"]}
    builder = CurveBuilder(plan, CompressedSetStore(tmp_path / "cache"), None, 1, grid)
    builder.n_star = lambda budget: (100, "")
    budget = 100 * (0.3 * grid[2.0] + 0.7 * grid[8.0])
    training = Optimal().build(builder, 1, budget)
    assert training.n == 100 and 0.99 * budget <= training.total_bytes <= budget
    assert 2.0 < training.level < 8.0 and builder.probes <= 3


def test_a_scheme_that_builds_a_set_larger_than_s_is_refused_before_training(leaderboard_results, tmp_path,
                                                                             monkeypatch):
    """Whatever a scheme builds (a registered one with a bug), a set whose bytes exceed s is one error naming the
    cell, and no model is trained on it."""
    import shutil

    from storagebench.benchmarks.definition import load_config
    from storagebench.benchmarks.harness.curves import CurveCell, train_curve_cells
    from storagebench.benchmarks.harness.results_dir import open_results_dir
    from storagebench.benchmarks.harness.runner import make_plan
    from storagebench.benchmarks.harness.schemes.optimal import Optimal
    from storagebench.errors import StorageBenchError

    out = tmp_path / "out"
    shutil.copytree(leaderboard_results["jpegxl"], out)
    plan = make_plan(load_config(out / "config.toml"), str(leaderboard_results["jpegxl"].parent / "fashion"))
    monkeypatch.setattr(Optimal, "build", lambda self, builder, seed, budget: builder.fill(seed, 2 * budget, 8.0))
    db, _ = open_results_dir(out, write=True)
    with db:
        before = len(db.curve_rows())
        with pytest.raises(StorageBenchError, match=r"optimal\|s=45000\|seed=2: the optimal scheme built a set of "
                                                    r"\d+ bytes .* more than s = 45000"):
            train_curve_cells(plan, None, [CurveCell("optimal", 45e3, 2)], db, 1, tmp_path / "cache")
        assert len(db.curve_rows()) == before
