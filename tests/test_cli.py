"""The command line's shared habits: one list syntax that leaves positionals alone, did-you-mean, and --set
overrides that change the recorded definition and its identity."""
import sqlite3
import tomllib

import pytest
from conftest import run_cli, write_config

from storagebench.benchmarks.cli.common import regroup_lists
from storagebench.benchmarks.definition import with_overrides
from storagebench.errors import StorageBenchError


@pytest.mark.parametrize("argv, expected", [
    (["fit", "--budgets", "100k", "1M", "out"], ["fit", "--budgets=100k,1M", "out"]),
    (["fit", "out", "--budgets", "100k,1M"], ["fit", "out", "--budgets=100k,1M"]),
    (["curves", "out", "--schemes", "original", "optimal", "--naive", "3", "8"],
     ["curves", "out", "--schemes=original,optimal", "--naive=3,8"]),
    (["rd", "--levels", "lossless", "90", "webp"], ["rd", "--levels=lossless,90", "webp"]),
    (["theory", "--levels", "7"], ["theory", "--levels", "7"]),  # not a list option of that command
    (["fit", "--", "--budgets", "1k"], ["fit", "--", "--budgets", "1k"]),
])
def test_list_values_end_where_the_positionals_begin(argv, expected):
    assert regroup_lists(argv) == expected


def test_a_misspelt_command_gets_a_suggestion(tmp_path, cli_env):
    result = run_cli(["rnu"], cli_env, tmp_path)
    assert result.returncode == 2 and "unknown command 'rnu'; did you mean 'run'?" in result.stderr
    assert result.stderr.count("\n") == 1
    unknown = run_cli(["run", "--set", "task.lr=0.1", "--set", "dataset.name=fmnist", "--dry-run"], cli_env, tmp_path)
    assert unknown.returncode == 2 and "unknown dataset 'fmnist'; did you mean 'fashion-mnist'?" in unknown.stderr


def test_overrides_are_toml_values_and_bad_ones_one_error():
    data = {"task": {"lr": 0.01}, "benchmark": {"n": [1]}}
    changed = with_overrides(data, ["task.lr=0.1", "task.optimizer=adamw", "benchmark.n=[40, 80]",
                                    'dataset.path="/d"'])
    assert changed == {"task": {"lr": 0.1, "optimizer": "adamw"}, "benchmark": {"n": [40, 80]},
                       "dataset": {"path": "/d"}}
    assert data["task"]["lr"] == 0.01  # the file's own table is left as read
    for bad in ("task.lr", "lr=0.1", "task.=1", "task.a.b=1"):
        with pytest.raises(StorageBenchError, match=rf"--set {bad}: expected SECTION.KEY=VALUE"):
            with_overrides(data, [bad])


def test_set_changes_the_recorded_definition_and_its_identity(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml", n="[40]", train_levels='["lossless"]')
    assert run_cli(["run", str(config), "--out", "plain"], cli_env, tmp_path).returncode == 0
    changed = run_cli(["run", str(config), "--out", "plain", "--set", "task.lr=0.1"], cli_env, tmp_path)
    assert changed.returncode == 2 and "holds results of a different benchmark definition" in changed.stderr
    quiet = run_cli(["run", str(config), "--out", "set", "--set", "task.lr=0.1", "-q"], cli_env, tmp_path)
    assert quiet.returncode == 0 and "storagebench:" not in quiet.stderr and "test error" in quiet.stdout  # -q
    assert tomllib.loads((tmp_path / "set" / "config.toml").read_text())["task"]["lr"] == 0.1
    hashes = []
    for out in ("plain", "set"):
        with sqlite3.connect(tmp_path / out / "results.sqlite") as db:
            hashes.append(db.execute("SELECT value FROM meta WHERE key = 'config_hash'").fetchone()[0])
    assert hashes[0] != hashes[1]


def test_downloads_that_cannot_happen_are_one_line(tmp_path, cli_env):
    offline = {**cli_env, "HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
               "HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    for name, expected in (("coco", "download coco: dataset 'coco' has no download; place its files yourself"),
                           ("fashion-mnist", "download fashion-mnist: could not fetch it")):
        result = run_cli(["download", name, str(tmp_path / "data")], offline, tmp_path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr


def test_leaderboard_text_shows_long_entry_names_whole():
    from storagebench.leaderboard.text import _codec_lines

    name = "jpegxl-butteraugli-targeted effort 9 (a very long submitted entry name)"
    row = {"kind": "entry", "rank_label": "1", "name": name, "measured_error": None, "to_original": None,
           "seeds": 3, "n": 1000, "fill": 0.99, "measured_by": "optimal"}
    lines = _codec_lines({"entries": [row], "baselines": []})
    assert name in lines[1] and lines[0].index("error") > len(name)
