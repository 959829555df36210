"""The performance suite's scripts run on tiny data and print every ratio the README reports (their timings are
measured by ``make perf``, never asserted here)."""
import subprocess
import sys
from pathlib import Path

PERF = Path(__file__).resolve().parents[1] / "benchmarks" / "perf"


def run_script(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(PERF / name), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_compression_perf_prints_its_ratios_and_the_cached_rerun_encodes_nothing(fashion_dir):
    out = run_script("compress.py", "--images", "64", "--repeat", "1", "--ray", "0", "--data", str(fashion_dir))
    assert "ratio store(1) / plain loop" in out and "speed-up 1 → 2 workers" in out
    assert "encoded anything: False" in out


def test_training_perf_prints_the_data_path_and_pipeline_ratios(fashion_dir):
    out = run_script("training.py", "--images", "128", "--repeat", "1", "--models", "2", "--data", str(fashion_dir))
    for line in ("ratio harness / bare loop", "paper's pipeline / harness", "speed-up of training together"):
        assert line in out


def test_end_to_end_perf_times_cold_warm_and_resume_with_the_same_numbers(tmp_path, fashion_dir):
    from conftest import write_config

    config = write_config(tmp_path / "grid.toml", n="[40]", train_levels='["lossless", 4]')
    out = run_script("end_to_end.py", str(config), "--workers", "2", "--data", str(fashion_dir))
    for line in ("cold (empty store)", "warm (store cached)", "resume (all done)"):
        assert line in out
    assert "same numbers in every run : True" in out


def test_precision_study_compares_fp32_and_bf16_against_seed_noise(fashion_dir):
    out = run_script("precision.py", "--n", "64", "--steps", "5", "--seeds", "2", "--data", str(fashion_dir))
    assert "fp32           on cpu " in out and "bf16 autocast  on cpu bf16" in out
    assert "seed noise" in out and "time bf16/fp32" in out


def test_recipe_study_trains_every_candidate_of_a_task_and_prints_its_table(tmp_path, fashion_dir):
    import os

    done = subprocess.run([sys.executable, str(PERF / "recipes.py"), "segmentation", "--train", "40", "--test", "10",
                           "--n", "20", "40", "--set", "min_steps=2", "epochs=1", "--data", str(fashion_dir),
                           "--size", "32", "--max-items", "2"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "STORAGEBENCH_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "recipe" not in line]
    names = ["quick", "mnv3-d4-3k", "resnet18-d4-3k", "mnv3-d4-1500", "regnetx-d4-1500", "mnv4-d4-1500"]
    assert [tuple(row.split(" | ")[:2]) for row in rows] == [(f"| {name}", n) for name in names for n in ("20", "40")]
    assert done.stdout.count("segmentation quick n 20 seed 0") == 1 and "seeds [0]" in done.stdout
    assert "scenes of 32² px, ≤ 2 items" in done.stdout
    typo = subprocess.run([sys.executable, str(PERF / "recipes.py"), "segmentation", "--only", "resnet81"],
                          capture_output=True, text=True, timeout=60)
    assert typo.returncode == 2 and "no segmentation candidate named resnet81" in typo.stderr
    negative = subprocess.run([sys.executable, str(PERF / "recipes.py"), "segmentation", "--n", "20", "-5"],
                              capture_output=True, text=True, timeout=60)
    assert negative.returncode == 2 and "--n -5: a number of scenes is ≥ 0" in negative.stderr


def test_store_index_perf_opens_an_entry_and_reads_one_image_both_ways():
    out = run_script("store_index.py", "--items", "3000", "--workers", "1")
    assert "open + read one image (binary index)   :" in out and "(format, shape, bytes: 2 (8, 8)" in out
    assert "open + read one image (format-1 JSON)  :" in out and "(format, shape, bytes: 1 (8, 8)" in out


def test_streaming_perf_trains_past_its_budget_and_prints_rss_and_the_step_ratio():
    out = run_script("streaming.py", "--budget-gb", "0.005", "--side", "128", "--resize", "32", "--steps", "4",
                     "--batch", "8")
    assert "(4.0× the 0.005 GB budget)" in out and "peak RSS, training process" in out
    assert "ratio streamed / in memory" in out
