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


def test_a_submitted_codec_with_an_integer_knob_gets_storage_curves(tmp_path, cli_env):
    """A codec given as file.py:Class whose levels are separate integers (no continuous range): the optimal scheme
    searches its declared levels, says how full each budget is, and randomized (which needs a distance) is left out."""
    (tmp_path / "quantize.py").write_text(QUANTIZE)
    config = write_config(tmp_path / "q.toml", n="[40, 80, 160]", train_levels='["lossless", 1, 2, 3]')
    text = config.read_text().replace('name = "jpegxl"\neffort = 3', f'name = "{tmp_path / "quantize.py"}:Quantize"')
    config.write_text(text.replace('test_levels = ["lossless", 8]', 'test_levels = ["lossless"]'))
    assert run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path).returncode == 0
    done = run_cli(["curves", "out", "--budgets", "30k", "--naive", "2"], cli_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "discrete levels 1, 2, 3, 4, 5, 6 (fewest bytes first)" in done.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        rows = {r[0]: r[1:] for r in db.execute("SELECT scheme, n, bytes_total, level FROM curve_cells")}
    assert sorted(rows) == ["naive-d2", "optimal", "original"]
    n, total, level = rows["optimal"]
    assert total <= 30e3 and "fills" in level and "% of s" in level
