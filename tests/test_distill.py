"""Reduction benchmarks end to end on tiny data: coresets and distilled sets stored as real files whose bytes are
the reported bytes, trained by the recipe (and DD by its own protocol), the codec measured at their sizes."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli, synthetic_images

TINY_REDUCTION = """
[benchmark]
name = "tiny-distill"
seeds = [0, 1]
images_per_class = [1, 2]

[dataset]
name = "fashion-mnist"

[[reducer]]
name = "random"

[[reducer]]
name = "herding"
feature_epochs = 0.5

[[reducer]]
name = "dm"
iterations = 3
real_batch = 8

[[reducer]]
name = "dd"
label = "dd-fixed"
iterations = 3
real_batch = 32
images_per_class = [1]

[compare]
compressor = "jpegxl"
effort = 3
schemes = ["original", "optimal"]
law = {{ e_star = 0.1, A = 0.5, alpha = 0.3, B = 600000.0, beta = 3.5 }}

[task]
name = "classification"
width = 8
epochs = 1
min_steps = {min_steps}
batch_size = 32
lr = 0.05
"""


def write_reduction(path: Path, min_steps: int = 10) -> Path:
    path.write_text(TINY_REDUCTION.format(min_steps=min_steps))
    return path


def payload_bytes(cache: Path) -> dict[str, int]:
    """Bytes on disk of each stored reduced set's payload, by the sha256 of its manifest's file list."""
    import hashlib

    sizes = {}
    for manifest in (cache / "store" / "reduced").glob("*/manifest.json"):
        files = json.loads(manifest.read_text())["files"]
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
        sizes[digest] = sum(f.stat().st_size for f in (manifest.parent / "payload").rglob("*") if f.is_file())
    return sizes


def test_reduction_benchmark_stores_trains_compares_and_resumes(tmp_path, cli_env):
    config = write_reduction(tmp_path / "distill.toml")
    out = tmp_path / "out"
    first = run_cli(["run", str(config), "--out", str(out), "--workers", "2"], cli_env, tmp_path)
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(out / "results.sqlite") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM reduced_cells")]
        curves = [dict(r) for r in db.execute("SELECT * FROM curve_cells")]
    assert len(rows) == 3 * 2 * 2 + 2  # random, herding, dm at 1 and 2 per class; dd-fixed at 1; two seeds
    on_disk = payload_bytes(Path(cli_env["STORAGEBENCH_CACHE"]))
    for row in rows:
        assert row["n"] == 10 * row["images_per_class"]
        assert row["bytes_total"] == on_disk[row["payload_sha256"]]  # reported bytes are the stored files' bytes
        assert row["bytes_total"] == row["image_bytes"] + row["label_bytes"] + row["extra_bytes"]
        assert row["label_bytes"] == row["n"]  # one byte per label
        assert 0 <= row["error"] <= 1
    dd = [r for r in rows if r["reducer"] == "dd-fixed"]
    assert all(r["extra_bytes"] == 10 * 4 + 8 and r["own_error"] is not None for r in dd)  # 10 rates + the seed
    assert all(r["own_error"] is None for r in rows if r["method"] != "dd")
    # the codec at each setting's largest reduced set, both schemes, both seeds, within the budget
    budgets = {ipc: max(r["bytes_total"] for r in rows if r["images_per_class"] == ipc) for ipc in (1, 2)}
    assert sorted({c["budget"] for c in curves}) == sorted(budgets.values())
    assert len(curves) == 2 * 2 * 2 and all(c["bytes_total"] <= c["budget"] for c in curves)
    summary = json.loads((out / "reduction.json").read_text())
    assert {s["reducer"] for s in summary["sets"]} == {"random", "herding", "dm", "dd-fixed"}
    assert (out / "figures" / "reduction.png").stat().st_size > 10_000
    assert "dd-fixed" in first.stdout and "own protocol" in first.stdout

    again = run_cli(["run", str(config), "--out", str(out), "--workers", "1"], cli_env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 reduced and trained, 14 already done, 0 codec cells" in again.stderr


def test_stored_sets_are_what_learners_get(tmp_path):
    """A coreset decodes to exactly the chosen real images; DD's step sizes and seed round-trip bit for bit."""
    from storagebench.benchmarks.reduced_store import ReducedStore
    from storagebench.compressors import COMPRESSORS, ReducedSet

    images, labels = synthetic_images(20, 0)
    png = COMPRESSORS.create("png", {}, "png")
    reduced = ReducedSet(images, labels.astype(np.int64), step_sizes=np.array([0.1, 0.0123], dtype=np.float32),
                         init_seed=2**40 + 3)
    stored, made = ReducedStore(tmp_path).ensure({"k": 1}, lambda: reduced, png, "lossless", 10)
    again, made_again = ReducedStore(tmp_path).ensure({"k": 1}, lambda: pytest.fail("re-reduced"), png, "lossless", 10)
    assert made and not made_again and again.path == stored.path
    loaded = stored.load(png)
    assert np.array_equal(loaded.images, images) and np.array_equal(loaded.labels, labels)
    assert loaded.step_sizes.tobytes() == reduced.step_sizes.tobytes() and loaded.init_seed == 2**40 + 3
    assert stored.bytes_on_disk()["extra"] == 8 + 8
    (stored.payload / "labels.u8").write_bytes(b"\0" * 20)
    with pytest.raises(Exception, match="sha256"):
        stored.load(png)


def test_reduction_definition_errors(tmp_path, cli_env):
    bad = TINY_REDUCTION.format(min_steps=10).replace('label = "dd-fixed"', 'label = "random"')
    (tmp_path / "bad.toml").write_text(bad)
    result = run_cli(["run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")], cli_env, tmp_path)
    assert result.returncode != 0 and "labels must differ" in result.stderr
    assert not (tmp_path / "o").exists()
    bad = TINY_REDUCTION.format(min_steps=10).replace('images_per_class = [1]\n', 'images_per_class = [3]\n')
    (tmp_path / "bad.toml").write_text(bad)
    result = run_cli(["run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")], cli_env, tmp_path)
    assert result.returncode != 0 and "[3] not in [benchmark].images_per_class" in result.stderr
    result = run_cli(["run", str(REPO / "benchmarks" / "fmnist-distill.toml"), "--images-per-class", "7",
                      "--out", str(tmp_path / "o")], cli_env, tmp_path)
    assert result.returncode != 0 and "--images-per-class: [7]" in result.stderr
    assert not (tmp_path / "o").exists()
