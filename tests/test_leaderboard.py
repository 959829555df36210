"""storagebench leaderboard: rankings at equal storage that agree with the measured errors, the exports, entry
files, and the refusal to mix benchmark definitions."""
import json
import shutil
import sqlite3
from collections import defaultdict

import pandas as pd
from conftest import run_cli
from leaderboard_data import BUDGETS, offline_env


def best_within(results_dir, budget):
    """Independently of the leaderboard: the lowest mean error over seeds among grid cells whose stored bytes fit."""
    with sqlite3.connect(results_dir / "results.sqlite") as db:
        rows = db.execute("SELECT c.train_level, c.n, c.train_bytes_total, e.error FROM cells c JOIN evaluations e "
                          "USING (cell) WHERE e.test_level = 'lossless'").fetchall()
    groups = defaultdict(list)
    for level, n, total, error in rows:
        groups[(level, n)].append((total, error))
    fitting = [sum(e for _, e in g) / len(g) for g in groups.values() if max(t for t, _ in g) <= budget]
    return min(fitting) if fitting else None


def build(tmp_path, sources, *extra):
    env = offline_env(tmp_path, tmp_path)
    return run_cli(["leaderboard", *map(str, sources), "--out", str(tmp_path / "site"), *extra], env, tmp_path)


def test_two_compressors_rank_by_their_measured_errors(tmp_path, leaderboard_results):
    dirs = leaderboard_results
    result = build(tmp_path, dirs.values())
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    summary = json.loads((site / "leaderboard.json").read_text())
    (board,) = summary["boards"]
    assert board["budgets"] == BUDGETS and board["task"] == "classification"
    for budget in BUDGETS:
        tables = board["rankings"][f"{budget:g}"]
        expected = {f"{name}": best_within(path, budget) for name, path in dirs.items()}
        measured = {row["name"].split(" ")[0]: row["measured_error"] for row in tables["entries"]}
        assert measured == expected
        ranked = [row for row in tables["entries"] if row["rank"] is not None]
        assert [row["rank"] for row in ranked] == list(range(1, len(ranked) + 1))
        assert [row["measured_error"] for row in ranked] == sorted(row["measured_error"] for row in ranked)
        assert [b["kind"] for b in tables["baselines"]] == ["baseline", "baseline"]
    # the largest budget holds every grid cell: both entries and the lossless baselines are measured there
    largest = board["rankings"][f"{BUDGETS[-1]:g}"]
    assert all(row["measured_error"] is not None for row in largest["entries"] + largest["baselines"])
    frame = pd.read_csv(site / "leaderboard.csv")
    assert len(frame) == len(BUDGETS) * (len(dirs) + 2)
    assert set(frame["kind"]) == {"entry", "baseline"}
    pages = sorted(p.name for p in (site / "entries").glob("*.html"))
    assert len(pages) == len(dirs) and all(row["id"] + ".html" in pages for row in largest["entries"])
    assert "s = 100,000 bytes" in result.stdout


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
    assert {b["n"]: b["error"] for b in recorded.values()} == lossless  # its own lossless cells: verified pixels
    assert all(b["from"].startswith("grid cell lossless|n=") for b in recorded.values())
    largest = boards[0]["rankings"][f"{BUDGETS[-1]:g}"]["baselines"][0]
    best = min(lossless, key=lossless.get)  # every subset fits the largest budget: the best of them
    assert largest["measured_error"] == lossless[best] and largest["measured_by"] == f"lossless, n = {best}"

    from conftest import write_config  # a grid without a lossless train level: the harness trains them itself
    config = write_config(tmp_path / "lossy.toml", n="[40, 80]", train_levels="[4]")
    env = offline_env(tmp_path, fashion_dir)
    assert run_cli(["run", str(config), "--out", "lossy"], env, tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "lossy" / "results.sqlite") as db:
        trained = json.loads(db.execute("SELECT value FROM meta WHERE key = 'baseline_errors'").fetchone()[0])
    assert sorted(b["n"] for b in trained.values()) == [40, 80]
    assert all(b["from"].startswith("trained on the original pixels") and 0 < b["error"] < 1 for b in trained.values())


def test_a_levels_decoder_state_counts_toward_every_budget(leaderboard_results):
    """A codec whose decoder holds the data (declared, so measured) cannot fit a budget its decoder alone fills,
    whether or not its benchmark counted decoder bytes."""
    from storagebench.leaderboard.entry import build_entry
    from storagebench.leaderboard.ranking import measured_best

    entry = build_entry(leaderboard_results["webp"])
    assert not entry["benchmark"]["config"]["compressor"].get("count_decoder_bytes")
    best = measured_best(entry, BUDGETS[1])
    level = best.source.removeprefix("grid: level ").split(",")[0]
    for row in entry["levels"]:
        row["decoder_bytes"] = int(BUDGETS[1]) if row["level"] == level else 0
    again = measured_best(entry, BUDGETS[1])
    assert again is not None and f"level {level}," not in again.source and again.error >= best.error


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
                           (tmp_path / "old.json", "entry format 1, this storagebench reads 3")):
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
