"""``storagebench submit``: validation first, then the benchmark and a leaderboard entry."""
import json
import sqlite3
from pathlib import Path

from conftest import run_cli, write_config

FIXTURES = Path(__file__).parent / "fixtures" / "bad_compressors.py"


def test_submit_a_file_spec_benchmarks_it_and_writes_an_entry(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml", n="[40, 80]")
    result = run_cli(["submit", f"{FIXTURES}:Raw", "--config", str(config), "--levels", "lossless", "1",
                      "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "validation of" in result.stdout and "passed" in result.stdout
    entry = json.loads((tmp_path / "out" / "entry.json").read_text())
    assert entry["compressor"]["name"] == "raw" and entry["compressor"]["spec"] == "bad_compressors.py:Raw"
    assert entry["validation"]["passed"] and entry["benchmark"]["name"] == "tiny-raw"
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as con:
        manifests = {row[0] for row in con.execute("SELECT train_manifest_sha256 FROM cells")}
        assert entry["benchmark"]["config_hash"] == con.execute(
            "SELECT value FROM meta WHERE key = 'config_hash'").fetchone()[0]
    assert {m for level in entry["levels"] for m in level["manifest_sha256"]} == manifests
    # raw pixels plus a 2-byte header: the counted bytes are exactly that
    assert [level["bytes_per_image"] for level in entry["levels"]] == [28 * 28 + 2] * 2
    assert len(entry["errors"]) == 2 * 2 * 1  # cells (2 levels × 2 n) × test levels
    assert entry["fit"] is None or "params" in entry["fit"]


def test_submit_rejects_a_cheating_compressor_before_any_training(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml")
    result = run_cli(["submit", f"{FIXTURES}:GlobalState", "--config", str(config), "--levels", "lossless",
                      "--test-levels", "lossless", "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "rejected: decodes from the bytes and declared state alone" in result.stdout
    report = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert not report["passed"]
    assert not (tmp_path / "out" / "results.sqlite").exists()


def test_submit_unknown_compressor_is_a_clear_error(tmp_path, cli_env):
    result = run_cli(["submit", "jpeg-xxl"], cli_env, tmp_path)
    assert result.returncode == 2 and "unknown compressor 'jpeg-xxl'" in result.stderr
