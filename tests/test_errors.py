"""Bad input: one clear error, a non-zero exit, nothing written."""
import pytest
from conftest import run_cli, write_config


def fails_cleanly(tmp_path, cli_env, args, *needles):
    result = run_cli(["run", *args, "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("storagebench: error:")
    for needle in needles:
        assert needle in message
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("old, new, needles", [
    ('name = "jpegxl"', 'name = "jpeg-xxl"', ["unknown compressor 'jpeg-xxl'", "valid compressors: avif, bmshj2018-factorized", "jpegxl-butteraugli, png, randomized, webp"]),
    ('name = "classification"', 'name = "clasification"', ["unknown task", "classification"]),
    ('name = "fashion-mnist"', 'name = "fmnist"', ["unknown dataset 'fmnist'", "cityscapes, coco, fashion-mnist, fashion-scenes, food101, image-folder, isaid, segmentation-folder"]),
    ('train_levels = ["lossless", 4]', 'train_levels = ["lossless", 40]', ["train_levels", "(0, 25]"]),
    ('test_levels = ["lossless", 8]', 'test_levels = [8]', ["must include the original format"]),
    ('train_levels = ["lossless", 4]', 'train_levels = ["lossless", 4, 4.0]', ["train_levels", "4 given more than once"]),
    ("n = [40, 80, 120]", "n = [40, 1000]", ["[benchmark].n: 1000 is larger than the training split (400 images)"]),
    ("n = [40, 80, 120]", "n = [0, 40]", ["[benchmark].n"]),
    ("n = [40, 80, 120]", 'n = [40, 80, 120]\nbudgets = ["30k", "lots"]', ["[benchmark].budgets", "'lots'"]),
    ("n = [40, 80, 120]", 'n = [40, 80, 120]\nbudgets = [30000, "30k"]', ["[benchmark].budgets: expected distinct"]),
    ("epochs = 2", "epochs = 2\nepoch = 3", ["[task]: unknown key(s) epoch"]),
    ("width = 8", 'width = "wide"', ["[task].width: expected int"]),
    ("lr = 0.05", "lr = inf", ["[task].lr: expected a finite number, got inf"]),
    ("lr = 0.05", "lr = 0.05\nmomentum = nan", ["[task].momentum: expected a finite number, got nan"]),
    ("lr = 0.05", "lr = 0.05\nweight_decay = -1", ["[task]: weight_decay must be ≥ 0"]),
    ('name = "tiny"', 'name = "../../x"', ["[benchmark].name '../../x' must be a plain name"]),
    ("lr = 0.05", "lr = 0.05\n[protocol]\nseeds = [0, 1]", ["[protocol].seeds: a ranked number needs ≥ 3 seeds"]),
    ("lr = 0.05", 'lr = 0.05\n[protocol]\ndecoders = "free"', ["[protocol].decoders: expected one of 'counted'"]),
    ("lr = 0.05", "lr = 0.05\n[protocol]\nfallback = 3", ["[protocol]: unknown key(s) fallback"]),
    ("lr = 0.05", "lr = 0.05\n[protocl]\nseeds = [0, 1, 2]", ["unknown table(s) protocl", "protocol"]),
])
def test_bad_config_values(tmp_path, cli_env, old, new, needles):
    path = write_config(tmp_path / "bad.toml")
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    fails_cleanly(tmp_path, cli_env, [str(path)], "bad.toml", *needles)


def test_missing_dataset_says_how_to_get_it(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml")
    fails_cleanly(tmp_path, {**cli_env, "STORAGEBENCH_DATA": str(tmp_path / "none")}, [str(config)],
                  "Fashion-MNIST not found", "apt-get install dataset-fashion-mnist")


def test_corrupt_dataset_file(tmp_path, cli_env, fashion_dir):
    import shutil
    data = tmp_path / "data"
    shutil.copytree(fashion_dir, data)
    victim = data / "t10k-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:300])
    config = write_config(tmp_path / "tiny.toml")
    fails_cleanly(tmp_path, {**cli_env, "STORAGEBENCH_DATA": str(data)}, [str(config)],
                  "t10k-images-idx3-ubyte.gz", "truncated or corrupt")


def test_missing_and_malformed_config_files(tmp_path, cli_env):
    fails_cleanly(tmp_path, cli_env, [str(tmp_path / "nope.toml")], "benchmark file not found", "quick.toml")
    (tmp_path / "broken.toml").write_text("[benchmark\nname=")
    fails_cleanly(tmp_path, cli_env, [str(tmp_path / "broken.toml")], "not valid TOML")


def test_results_dir_of_another_benchmark_is_refused(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml", n="[40]", train_levels='["lossless", 4]')
    assert run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path).returncode == 0
    other = write_config(tmp_path / "other.toml", n="[40, 80]", train_levels='["lossless", 4]')
    result = run_cli(["run", str(other), "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 2 and "different benchmark definition" in result.stderr


def test_fit_on_a_non_results_dir(tmp_path, cli_env):
    result = run_cli(["fit", str(tmp_path)], cli_env, tmp_path)
    assert result.returncode == 2 and "not a results dir" in result.stderr


def test_listing_commands(tmp_path, cli_env):
    for command, name in (("compressors", "jpegxl"), ("tasks", "classification"), ("datasets", "image-folder")):
        result = run_cli([command], cli_env, tmp_path)
        assert result.returncode == 0 and name in result.stdout


def test_results_dir_of_another_schema_is_refused(tmp_path):
    from storagebench.benchmarks.harness.results import SCHEMA_VERSION, ResultsDB
    from storagebench.errors import StorageBenchError

    db = ResultsDB(tmp_path / "results.sqlite")
    db.start_run("hash", "commit", {}, {}, 1)
    db.conn.execute("DELETE FROM meta WHERE key = 'schema_version'")  # as an older storagebench left it
    db.close()
    with pytest.raises(StorageBenchError, match=f"results schema 1, this one reads {SCHEMA_VERSION}"):
        ResultsDB(tmp_path / "results.sqlite")


def test_measuring_the_protocol_of_a_benchmark_without_one_is_one_error(tmp_path, cli_env):
    config = write_config(tmp_path / "tiny.toml", n="[40]", train_levels='["lossless", 4]')
    assert run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path).returncode == 0
    result = run_cli(["protocol", "out"], cli_env, tmp_path)
    assert result.returncode == 2 and "declares no [protocol] table" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
