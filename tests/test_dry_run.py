"""``storagebench run --dry-run``: the plan and its cost, before anything is written."""
from conftest import run_cli, write_config


def test_dry_run_counts_cells_encodes_and_training_then_writes_nothing(tmp_path, cli_env):
    config = write_config(tmp_path / "grid.toml", n="[40, 80]", train_levels='["lossless", 4]', min_steps=5)
    result = run_cli(["run", str(config), "--out", "out", "--dry-run", "--memory-gb", "0.0001"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "dry run: 4 cells; nothing is written" in out
    assert "encode jpegxl 4, train" in out and "encode png lossless, train (baseline)" in out
    assert "ms/image on one core, 8 measured" in out and "CPU-hours" in out
    assert "training: 640 images seen over all cells" in out  # 4 cells × max(2 epochs · n / 32, 5) steps × 32
    assert "training sets read from the store on access" in out
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache" / "store").exists()
    assert run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path).returncode == 0
    again = run_cli(["run", str(config), "--out", "out2", "--dry-run"], cli_env, tmp_path).stdout
    assert "encoding: 0 images not in the store" in again and "decoded into memory" in again
