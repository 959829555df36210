"""Results dirs are read without running anything they name and without changing them; a damaged or edited one,
or a second command writing into one, is one clear error."""
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import run_cli, write_config
from leaderboard_data import offline_env

from storagebench.benchmarks.definition import identity_hash
from storagebench.leaderboard.export import inert_text, write_exports
from storagebench.leaderboard.sources import MAX_ID, entry_id


def copy(results, tmp_path, name="copy"):
    target = tmp_path / name
    shutil.copytree(results, target, ignore=shutil.ignore_patterns(".lock", "wandb"))
    return target


def set_meta(directory, key, value):
    with sqlite3.connect(directory / "results.sqlite") as db:
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def test_a_results_dir_never_imports_the_compressor_its_config_names(tmp_path, leaderboard_results):
    """A dir someone sends you: its config.toml names a module that would run code on import, and its recorded
    hash was forged to match. Building the leaderboard reads it and imports nothing."""
    import tomllib

    import tomli_w

    results = copy(leaderboard_results["webp"], tmp_path)
    marker = tmp_path / "imported"
    (tmp_path / "evil_codec.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\nclass Codec: pass\n")
    config = tomllib.loads((results / "config.toml").read_text())
    config["compressor"]["name"] = "evil_codec:Codec"
    (results / "config.toml").write_text(tomli_w.dumps(config))
    set_meta(results, "config_hash", identity_hash(config))
    set_meta(results, "compressor", "null")  # as a dir from before storagebench recorded the compressor
    env = {**offline_env(tmp_path, tmp_path), "PYTHONPATH": str(tmp_path)}
    result = run_cli(["leaderboard", str(results), "--out", str(tmp_path / "site")], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    board = json.loads((tmp_path / "site" / "leaderboard.json").read_text())["boards"][0]
    (row,) = board["rankings"]["30000"]["entries"]
    assert row["name"] == "codec (method=4)"  # named by its spec, with the parameters the dir records


def test_an_edited_config_toml_is_refused(tmp_path, leaderboard_results):
    results = copy(leaderboard_results["webp"], tmp_path)
    config = results / "config.toml"
    config.write_text(config.read_text().replace('name = "webp"', 'name = "jpeg"'))
    for command in (["fit", str(results)], ["matrix", str(results)],
                    ["leaderboard", str(results), "--out", str(tmp_path / "site")]):
        result = run_cli(command, offline_env(tmp_path, tmp_path), tmp_path)
        assert result.returncode == 2, result.stderr
        message = result.stderr.strip().splitlines()[-1]
        assert message.startswith(f"storagebench: error: {config}: does not match the definition"), message
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign"])
def test_a_damaged_results_database_is_one_clear_error_for_every_command(tmp_path, leaderboard_results, fashion_dir,
                                                                          damage):
    results = copy(leaderboard_results["webp"], tmp_path)
    db = results / "results.sqlite"
    if damage == "truncate":
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    elif damage == "garbage":
        db.write_bytes(b"not a database at all" * 100)
    else:
        db.unlink()
        with sqlite3.connect(db) as con:
            con.execute("CREATE TABLE notes (text)")
    before = db.read_bytes()
    env = offline_env(tmp_path, fashion_dir)
    config = write_config(tmp_path / "run.toml")
    commands = [["fit", str(results)], ["run", str(config), "--out", str(results)]]
    if damage == "truncate":  # every command opens it the same two ways (read-only, or as the writer)
        commands += [["matrix", str(results)], ["curves", str(results)], ["publish", str(results)],
                     ["leaderboard", str(results), "--out", str(tmp_path / "site")]]
    for command in commands:
        result = run_cli(command, env, tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        message = result.stderr.strip().splitlines()[-1]
        assert "not a readable results database" in message and str(db) in message, (command, message)
        assert "Traceback" not in result.stderr
    assert db.read_bytes() == before


def test_read_only_commands_change_nothing_in_the_database(tmp_path, leaderboard_results):
    results = copy(leaderboard_results["jpegxl"], tmp_path)
    db = results / "results.sqlite"
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    env = offline_env(tmp_path, tmp_path)
    for command in (["fit", str(results)], ["matrix", str(results)],
                    ["leaderboard", str(results), "--out", str(tmp_path / "site")]):
        assert run_cli(command, env, tmp_path).returncode == 0
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    with sqlite3.connect(db) as con:  # an older schema: a reader says how to upgrade, and leaves it as it is
        con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    result = run_cli(["fit", str(results)], env, tmp_path)
    assert result.returncode == 2 and "results schema 3; any `storagebench run`" in result.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_a_second_run_into_the_same_results_dir_is_refused_while_the_first_runs(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml", n="[40, 80]", min_steps=150)
    command = [sys.executable, "-m", "storagebench", "run", str(config), "--out", "out"]
    first = subprocess.Popen(command, env=cli_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    lock = tmp_path / "out" / ".lock"
    deadline = time.monotonic() + 120
    while not (lock.is_file() and lock.read_text()) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    second = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert second.returncode == 2, second.stderr
    message = second.stderr.strip().splitlines()[-1]
    assert f"out: in use by another storagebench command (pid {first.pid} on" in message, message
    assert "wait for it to finish, or run into another --out" in message
    again = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)  # the lock left with its holder
    assert again.returncode == 0 and "all 4 cells already done" in again.stderr


def test_entry_ids_of_long_names_stay_short_and_distinct():
    def entry(params):
        return {"compressor": {"name": "x" * 300, "params": params}, "benchmark": {"config_hash": "ab" * 32}}
    first, second = entry_id(entry({"a": 1})), entry_id(entry({"a": 2}))
    assert len(first) <= MAX_ID and len(second) <= MAX_ID and first != second


def test_text_cells_that_look_like_formulas_are_written_inert(tmp_path):
    row = {"kind": "entry", "id": "x", "name": "=HYPERLINK(\"http://x\")", "budget": 1.0, "measured_error": -0.5}
    write_exports(tmp_path, [{"task": "+t", "dataset": "@d", "rankings": {"1": {"entries": [row], "baselines": []}}}],
                  [], [])
    text = (tmp_path / "leaderboard.csv").read_text()
    assert "'=HYPERLINK" in text and ",'+t," in text.replace("\n", ",") and "'@d" in text and ",-0.5" in text
    assert inert_text("plain") == "plain" and inert_text(3) == 3


def test_a_missing_or_wrong_results_dir_is_one_error_and_creates_nothing(tmp_path):
    from storagebench.benchmarks.harness.results import ResultsDB
    from storagebench.benchmarks.harness.results_dir import open_results_dir
    from storagebench.errors import StorageBenchError

    missing = tmp_path / "nowhere"
    for open_it in (lambda: ResultsDB(missing / "results.sqlite", read_only=True),
                    lambda: ResultsDB(missing / "results.sqlite"),  # a writer needs the folder to exist
                    lambda: open_results_dir(missing)):
        with pytest.raises(StorageBenchError, match="nowhere"):
            open_it()
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StorageBenchError, match="no results database here"):
        ResultsDB(empty / "results.sqlite", read_only=True)
    with pytest.raises(StorageBenchError, match="not a results dir"):
        open_results_dir(empty)
    assert list(empty.iterdir()) == []


def test_every_row_writer_refuses_an_unknown_column_the_same_way():
    """Rows are dataclasses: a writer passing a key the table does not have fails where the row is made, for grid,
    curve and reduced cells alike (not dropped by one path and an SQL error in another)."""
    from storagebench.benchmarks.harness.rows import CellRow, CurveCellRow, ReducedCellRow

    for row in (CellRow, CurveCellRow, ReducedCellRow):
        fields = {column: 0 for column in row.columns()}
        with pytest.raises(TypeError, match="bogus"):
            row(**fields, bogus=1)
