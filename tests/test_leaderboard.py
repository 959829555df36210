"""storagebench leaderboard: rankings at equal storage that agree with the measured errors, the exports, entry
files, and the refusal to mix benchmark definitions."""
import json
import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from leaderboard_data import BUDGETS, offline_env


def protocol_errors(results_dir, budget):
    """Independently of the leaderboard: the ranked set's error per seed, read from the results dir's own rows."""
    with sqlite3.connect(results_dir / "results.sqlite") as db:
        return dict(db.execute("SELECT seed, error FROM curve_cells WHERE scheme = 'optimal' AND budget = ? "
                               "AND test_level = 'lossless'", (budget,)).fetchall())


def build(tmp_path, sources, *extra):
    env = offline_env(tmp_path, tmp_path)
    return run_cli(["leaderboard", *map(str, sources), "--out", str(tmp_path / "site"), *extra], env, tmp_path)


def test_two_compressors_rank_by_their_protocol_sets(tmp_path, leaderboard_results):
    """Each entry's number at s is the mean over the protocol's 3 seeds of its one ranked set, with an interval and
    its paired difference to the original format; ranks follow the means, ties are shown."""
    dirs = leaderboard_results
    result = build(tmp_path, dirs.values())
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    summary = json.loads((site / "leaderboard.json").read_text())
    (board,) = summary["boards"]
    assert board["budgets"] == BUDGETS and board["task"] == "classification"
    assert board["protocol"]["seeds"] == [0, 1, 2] and board["view"] == "counted"
    for budget in BUDGETS:
        tables = board["rankings"][f"{budget:g}"]
        for row in tables["entries"]:
            errors = protocol_errors(dirs[row["name"].split(" ")[0]], budget)
            assert sorted(errors) == [0, 1, 2] and row["seeds"] == 3
            assert row["measured_error"] == pytest.approx(np.mean(list(errors.values())))
            assert row["measured_error_lo"] <= row["measured_error"] <= row["measured_error_hi"]
            assert row["to_original_lo"] <= row["to_original"] <= row["to_original_hi"]
            assert row["fill"] <= 1 and row["measured_by"].startswith("optimal: ")
        ranked = tables["entries"]
        assert [r["measured_error"] for r in ranked] == sorted(r["measured_error"] for r in ranked)
        assert ranked[0]["rank"] == 1 and all(r["rank_label"] in ("1", "1=", "2") for r in ranked)
        assert [b["kind"] for b in tables["baselines"]] == ["baseline", "baseline"]
        assert all(b["seeds"] == 3 and b["measured_error_lo"] is not None for b in tables["baselines"])
    frame = pd.read_csv(site / "leaderboard.csv")
    assert len(frame) == 2 * len(BUDGETS) * (len(dirs) + 2)  # counted and amortized (identical here) views
    assert set(frame["kind"]) == {"entry", "baseline"} and set(frame["view"]) == {"counted", "amortized"}
    per_board = pd.read_csv(site / "boards" / "board-0.csv")
    assert len(per_board) == len(frame)
    pages = sorted(p.name for p in (site / "entries").glob("*.html"))
    assert len(pages) == len(dirs) and all(row["id"] + ".html" in pages for row in ranked)
    assert "s = 100 kB (decoders counted)" in result.stdout


def test_more_cells_are_never_more_draws(leaderboard_results):
    """Extra grid and storage-curve cells (here: every error set to 0) change nothing in the ranking: only the
    protocol's ranked set counts."""
    from storagebench.leaderboard.entry import build_entry
    from storagebench.leaderboard.ranking import rank_board
    from storagebench.leaderboard.sources import group_boards

    entries = [{**build_entry(path), "source": str(path)} for path in leaderboard_results.values()]
    before = rank_board(group_boards(entries)[0])
    for row in entries[1]["errors"]:
        row["error"] = 0.0
    entries[1]["curves"] += [{**row, "scheme": "naive-d1", "error": 0.0} for row in entries[1]["curves"]]
    after = rank_board(group_boards(entries)[0])
    assert before["rankings"] == after["rankings"]


def test_baselines_are_lossless_cells_at_real_sizes(tmp_path, leaderboard_results):
    """The original-format baseline's bytes are the real lossless JPEG XL sizes: the jpegxl entry's own lossless cells."""
    result = build(tmp_path, [leaderboard_results["jpegxl"]])
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(leaderboard_results["jpegxl"] / "results.sqlite") as db:
        baselines = json.loads(db.execute("SELECT value FROM meta WHERE key = 'baselines'").fetchone()[0])
        lossless = dict(db.execute("SELECT n, train_bytes_per_image FROM cells WHERE train_level = 'lossless'"))
    original = baselines["original format"]["bytes_per_image"]
    assert {n: original[f"n={n}|seed=0"] for n in lossless} == lossless  # same images, same format, same bytes
    png = baselines["random subset"]["bytes_per_image"]
    assert all(png[k] != original[k] for k in png)  # PNG is measured, not copied


def test_baselines_are_the_harness_models_never_an_entrys_cells(tmp_path, leaderboard_results, fashion_dir):
    """A bad entry cannot move the board's baselines: their errors are the harness's models on the original pixels,
    recorded in every results dir; a grid without a lossless level gets them trained."""
    from storagebench.leaderboard.entry import write_entry

    entries = tmp_path / "entries"
    for name, path in leaderboard_results.items():
        write_entry(path, entries / f"{name}.json")
    (tmp_path / "honest").mkdir()
    (tmp_path / "tampered").mkdir()
    honest = build(tmp_path / "honest", [entries])
    bad = json.loads((entries / "webp.json").read_text())
    for row in bad["errors"]:
        row["error"] = 0.0 if row["train_level"] == "lossless" else row["error"]
    (entries / "webp.json").write_text(json.dumps(bad))
    tampered = build(tmp_path / "tampered", [entries])
    assert honest.returncode == tampered.returncode == 0, honest.stderr + tampered.stderr
    boards = [json.loads((tmp_path / d / "site" / "leaderboard.json").read_text())["boards"][0]
              for d in ("honest", "tampered")]
    baselines = [{b: t["baselines"] for b, t in board["rankings"].items()} for board in boards]
    assert baselines[0] == baselines[1]
    with sqlite3.connect(leaderboard_results["jpegxl"] / "results.sqlite") as db:
        recorded = json.loads(db.execute("SELECT value FROM meta WHERE key = 'baseline_errors'").fetchone()[0])
        lossless = dict(db.execute("SELECT c.n, e.error FROM cells c JOIN evaluations e USING (cell) "
                                   "WHERE c.train_level = 'lossless' AND e.test_level = 'lossless'"))
    grid = {b["n"]: b["error"] for b in recorded.values() if b["from"].startswith("grid cell")}
    assert grid == lossless  # its own lossless cells: verified pixels
    with sqlite3.connect(leaderboard_results["jpegxl"] / "results.sqlite") as db:
        filled = json.loads(db.execute("SELECT value FROM meta WHERE key = 'baselines_filled'").fetchone()[0])
    by_subset = {(b["n"], b["seed"]): b["error"] for b in recorded.values()}
    for budget in BUDGETS:  # the original format filled to s on each protocol seed, by the harness's own models
        sets = filled["original format"][f"{budget:g}"]
        assert all(0 < found["bytes_total"] <= budget for found in sets.values())
        row = boards[0]["rankings"][f"{budget:g}"]["baselines"][0]
        assert row["measured_error"] == pytest.approx(np.mean([by_subset[(found["n"], int(seed))]
                                                               for seed, found in sets.items()]))

    from conftest import write_config  # a grid without a lossless train level: the harness trains them itself
    config = write_config(tmp_path / "lossy.toml", n="[40, 80]", train_levels="[4]")
    env = offline_env(tmp_path, fashion_dir)
    assert run_cli(["run", str(config), "--out", "lossy"], env, tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "lossy" / "results.sqlite") as db:
        trained = json.loads(db.execute("SELECT value FROM meta WHERE key = 'baseline_errors'").fetchone()[0])
    assert sorted(b["n"] for b in trained.values()) == [40, 80]
    assert all(b["from"].startswith("trained on the original pixels") and 0 < b["error"] < 1 for b in trained.values())


def test_entry_files_rank_like_their_results_dirs(tmp_path, leaderboard_results):
    entries = tmp_path / "entries"
    env = offline_env(tmp_path, tmp_path)
    from storagebench.leaderboard.entry import write_entry
    for name, path in leaderboard_results.items():
        write_entry(path, entries / f"{name}.json", claimed={60e3: 0.05} if name == "webp" else None)
    by_files = run_cli(["leaderboard", str(entries), "--out", str(tmp_path / "a")], env, tmp_path)
    by_dirs = run_cli(["leaderboard", *map(str, leaderboard_results.values()), "--out", str(tmp_path / "b")], env,
                      tmp_path)
    assert by_files.returncode == 0 and by_dirs.returncode == 0, by_files.stderr + by_dirs.stderr
    ranks = [{b: [(r["name"], r["measured_error"]) for r in t["entries"]]
              for b, t in json.loads((tmp_path / d / "leaderboard.json").read_text())["boards"][0]["rankings"].items()}
             for d in ("a", "b")]
    assert ranks[0] == ranks[1]
    board = json.loads((tmp_path / "a" / "leaderboard.json").read_text())["boards"][0]
    (claimed,) = [r for r in board["rankings"]["60000"]["entries"] if r["claimed_error"] is not None]
    assert claimed["name"].startswith("webp") and claimed["claimed_error"] == 0.05
    assert claimed["claimed_minus_measured"] == 0.05 - claimed["measured_error"]
    side = json.loads((tmp_path / "a" / "leaderboard.json").read_text())["tasks_side_by_side"]
    assert [r["budget"] for r in side] == BUDGETS and all(r["nu"] is not None for r in side)


def test_a_different_benchmark_definition_is_refused(tmp_path, leaderboard_results):
    other = tmp_path / "other-budgets"
    shutil.copytree(leaderboard_results["webp"], other)
    config = other / "config.toml"
    config.write_text(config.read_text().replace("100000.0", "120000.0"))
    result = build(tmp_path, [leaderboard_results["jpegxl"], other])
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"storagebench: error: {other}: measured under a different benchmark definition")
    assert "budgets" in message and "120000.0" in message and "Traceback" not in result.stderr
    assert not (tmp_path / "site").exists()


def test_bad_sources_get_one_clear_error(tmp_path, leaderboard_results):
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "old.json").write_text(json.dumps({"entry_format": 1}))
    for source, needle in ((tmp_path / "missing", "no such results dir or entry file"),
                           (tmp_path / "broken.json", "not a JSON leaderboard entry"),
                           (tmp_path / "old.json", "entry format 1, this storagebench reads 4")):
        result = build(tmp_path, [source])
        assert result.returncode == 2 and needle in result.stderr, result.stderr
        assert not (tmp_path / "site").exists()


def test_bad_claims_are_refused_before_any_work(tmp_path, fashion_dir):
    from leaderboard_data import CONFIG

    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG.format(name="claims", compressor="jpegxl", levels='["lossless", 4]'))
    env = offline_env(tmp_path, fashion_dir)
    for claim, needle in (("7=0.1", "--claim: budget(s) 7 are not among the benchmark's [benchmark].budgets "
                                    "(30000, 60000, 100000)"),
                          ("30k", "--claim '30k': expected BUDGET=ERROR"),
                          ("30k=1.5", "--claim '30k=1.5': expected BUDGET=ERROR with an error in [0, 1]")):
        result = run_cli(["submit", "png", "--config", str(config), "--claim", claim, "--out", "sub"], env, tmp_path)
        assert result.returncode == 2 and needle in result.stderr, result.stderr
        assert not (tmp_path / "sub").exists()
