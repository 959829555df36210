"""Reduction benchmarks end to end on tiny data: coresets and distilled sets stored as real files whose bytes are
the reported bytes, trained by the recipe (and DD by its own protocol), the codec measured at their sizes."""
from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli, synthetic_images
from reduction_data import TINY_REDUCTION


def payload_bytes(cache: Path) -> dict[str, int]:
    """Bytes on disk of each stored reduced set's payload, by the sha256 of its manifest's file list."""
    import hashlib

    sizes = {}
    for manifest in (cache / "store" / "reduced").glob("*/manifest.json"):
        files = json.loads(manifest.read_text())["files"]
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
        sizes[digest] = sum(f.stat().st_size for f in (manifest.parent / "payload").rglob("*") if f.is_file())
    return sizes


def test_reduction_benchmark_stores_trains_compares_and_resumes(tiny_reduction, tmp_path):
    config, out, cli_env, first = tiny_reduction
    with sqlite3.connect(out / "results.sqlite") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM reduced_cells")]
        curves = [dict(r) for r in db.execute("SELECT * FROM curve_cells")]
    assert len(rows) == (3 * 2 + 1) * 3  # random, herding, dm at 1 and 2 per class; dd-fixed at 1; three seeds
    on_disk = payload_bytes(Path(cli_env["STORAGEBENCH_CACHE"]))
    for row in rows:
        assert row["n"] == 10 * row["images_per_class"]
        assert row["bytes_total"] == on_disk[row["payload_sha256"]]  # reported bytes are the stored files' bytes
        assert row["bytes_total"] == row["image_bytes"] + row["label_bytes"] + row["extra_bytes"]
        assert row["label_bytes"] == row["n"]  # one byte per label
        assert 0 <= row["error"] <= 1
    # each model was trained on exactly the images and labels the stored files decode to
    from storagebench.benchmarks.harness.reduced_store import StoredReduction
    from storagebench.compressors import COMPRESSORS

    stored = {}
    for manifest in (Path(cli_env["STORAGEBENCH_CACHE"]) / "store" / "reduced").glob("*/manifest.json"):
        loaded = StoredReduction(manifest.parent, json.loads(manifest.read_text())).load(
            COMPRESSORS.create("png", {}, "png"))
        digest = hashlib.sha256(np.ascontiguousarray(loaded.images).data)
        digest.update(loaded.labels.astype(np.int64).data)
        stored[digest.hexdigest()] = loaded
    assert {r["train_sha256"] for r in rows} <= set(stored)
    dd = [r for r in rows if r["reducer"] == "dd-fixed"]
    assert all(r["extra_bytes"] == 10 * 4 + 8 and r["own_error"] is not None for r in dd)  # 10 rates + the seed
    assert all(r["own_error"] is None for r in rows if r["method"] != "dd")
    # the codec at each group of similar-sized reduced sets: every set has a budget at most 10 % above its size
    budgets = sorted({c["budget"] for c in curves})
    set_sizes = {(r["reducer"], r["images_per_class"]): max(x["bytes_total"] for x in rows if x["reducer"] == r["reducer"]
                                                            and x["images_per_class"] == r["images_per_class"])
                 for r in rows}
    assert set(budgets) <= {float(size) for size in set_sizes.values()}
    assert all(any(size <= b <= 1.1 * size for b in budgets) for size in set_sizes.values())
    assert len(curves) == len(budgets) * 2 * 3 and all(c["bytes_total"] <= c["budget"] for c in curves)
    summary = json.loads((out / "reduction.json").read_text())
    assert {s["reducer"] for s in summary["sets"]} == {"random", "herding", "dm", "dd-fixed"}
    assert (out / "figures" / "reduction.png").stat().st_size > 10_000
    assert "dd-fixed" in first.stdout and "own protocol" in first.stdout

    again = run_cli(["run", str(config), "--out", str(out), "--workers", "1"], cli_env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 reduced and trained, 21 already done, 0 codec cells" in again.stderr


def test_leaderboard_ranks_reduced_sets_next_to_codecs(tiny_reduction, leaderboard_results, tmp_path):
    """A reduction dir becomes its own board beside the codec boards: every reducer (DD also by its own
    protocol) and both codec schemes at each budget, each by its declared set (a reducer's largest setting that
    fits, never its best), ranked by the mean over seeds with intervals and ties, recomputed here."""
    from storagebench.leaderboard.site import build_leaderboard

    _, out, _, _ = tiny_reduction
    summary = build_leaderboard([leaderboard_results["jpegxl"], out], tmp_path / "site")
    codec_board, board = summary["boards"]
    assert board["kind"] == "reduction" and "rankings" in codec_board
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT reducer, images_per_class, bytes_total, error, own_error FROM reduced_cells").fetchall()
        curves = db.execute("SELECT scheme, budget, error FROM curve_cells").fetchall()
    for budget, tables in board["rankings"].items():
        by_id = {r["id"]: r for r in tables["entries"]}
        assert set(by_id) == {"random", "herding", "dm", "dd-fixed", "dd-fixed-own", "jpegxl-original", "jpegxl-optimal"}
        for label in ("random", "herding", "dm", "dd-fixed"):
            fits = {k for k in {r[1] for r in rows if r[0] == label}
                    if max(r[2] for r in rows if r[0] == label and r[1] == k) <= float(budget)}
            expected = np.mean([r[3] for r in rows if r[0] == label and r[1] == max(fits)]) if fits else None
            assert by_id[label]["measured_error"] == pytest.approx(expected)
        scheme = [c[2] for c in curves if c[0] == "optimal" and c[1] == float(budget)]
        assert by_id["jpegxl-optimal"]["measured_error"] == pytest.approx(np.mean(scheme))
        ranked = [r for r in tables["entries"] if r["rank"] is not None]
        assert len(ranked) >= 2 and ranked[0]["rank"] == 1 and all(r["seeds"] == 3 for r in ranked)
        assert all(r["measured_error_lo"] <= r["measured_error"] <= r["measured_error_hi"] for r in ranked)
        assert [r["measured_error"] for r in ranked if not r.get("tied")] == sorted(
            r["measured_error"] for r in ranked if not r.get("tied"))
        assert all(r["to_original"] is not None for r in ranked if r["id"] != "jpegxl-original")
    page = (tmp_path / "site" / "index.html").read_text()
    assert "dd-fixed (own protocol)" in page and "coresets and distilled sets vs jpegxl" in page
    assert (tmp_path / "site" / "figures" / "reduction-1.png").is_file()


def test_stored_sets_are_what_learners_get(tmp_path):
    """A coreset decodes to exactly the chosen real images; DD's step sizes and seed round-trip bit for bit."""
    from storagebench.benchmarks.harness.reduced_store import ReducedStore
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
    result = run_cli(["run", str(REPO / "benchmarks" / "fmnist-distill.toml"), "--images-per-class", "1,ten",
                      "--out", str(tmp_path / "o")], cli_env, tmp_path)
    assert result.returncode == 2 and "comma-separated whole numbers" in result.stderr
    result = run_cli(["run", str(REPO / "benchmarks" / "quick.toml"), "--images-per-class", "1",
                      "--out", str(tmp_path / "o")], cli_env, tmp_path)
    assert result.returncode == 2 and "is a codec grid, not a reduction benchmark" in result.stderr
    assert not (tmp_path / "o").exists()


def test_grid_analyses_refuse_a_reduction_dir(tiny_reduction, tmp_path):
    _, out, env, _ = tiny_reduction
    for command in ("fit", "matrix", "curves"):
        result = run_cli([command, str(out)], env, tmp_path)
        assert result.returncode != 0 and "a reduction benchmark's results" in result.stderr, (command, result.stderr)


def test_herding_tracks_the_class_mean_better_than_random_draws():
    from storagebench.compressors.coresets import herd

    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 16)) + rng.normal(size=16)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    chosen = herd(features, 10)
    assert len(set(chosen.tolist())) == 10
    gap = lambda idx: np.linalg.norm(unit[idx].mean(0) - unit.mean(0))  # noqa: E731
    random_gaps = [gap(rng.choice(400, 10, replace=False)) for _ in range(200)]
    assert gap(chosen) < np.percentile(random_gaps, 1)


def test_learned_pixels_are_trained_as_they_are_stored():
    """The forward pass of a learned set rounds to the uint8 grid: storing and reloading it changes nothing."""
    import torch

    from storagebench.compressors import Network
    from storagebench.compressors.dataset_distillation import step_batches
    from storagebench.tasks.training import to_tensor

    network = Network(build=lambda seed: None, to_input=to_tensor, identity={})
    x = torch.randn(6, 1, 5, 5) * 2
    quantised = network.quantised(x)
    assert torch.allclose(quantised, to_tensor(network.to_pixels(x)), atol=1e-6)  # the same grid points
    assert quantised.min() >= -1 and quantised.max() <= 1
    # DD's steps use every image, one per class per step: 3 classes × 4 per class, at least 10 steps
    batches = step_batches(12, 4, 10)
    assert len(batches) == 12 and sorted(torch.cat(batches[:4]).tolist()) == list(range(12))
    assert all(sorted((b // 4).tolist()) == [0, 1, 2] for b in batches)


def test_compare_schemes_that_search_need_a_codec_with_a_level_knob(tmp_path, cli_env):
    bad = TINY_REDUCTION.format(min_steps=10).replace('compressor = "jpegxl"\neffort = 3', 'compressor = "png"')
    (tmp_path / "bad.toml").write_text(bad)
    result = run_cli(["run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")], cli_env, tmp_path)
    assert result.returncode != 0 and "png has no level knob to search" in result.stderr, result.stderr
    assert not (tmp_path / "o").exists()


def test_every_shipped_benchmark_file_parses_and_names_valid_parts():
    from storagebench.benchmarks.definition import (
        BENCHMARKS_DIR,
        is_reduction,
        parse_config,
        parse_reduction,
        read_definition,
    )
    from storagebench.compressors import COMPRESSORS, REDUCERS
    from storagebench.tasks import TASKS

    files = sorted(BENCHMARKS_DIR.glob("*.toml"))
    assert "fmnist-distill.toml" in {f.name for f in files}
    for path in files:
        data, _ = read_definition(path)
        if is_reduction(data):
            config = parse_reduction(data, path)
            for spec in config.reducers:
                REDUCERS.create(spec.name, spec.params, str(path))
                COMPRESSORS.create(spec.storage[0], {}, str(path)).parse_level(spec.storage[1])
            COMPRESSORS.create(config.compare.compressor, config.compare.params, str(path))
        else:
            config = parse_config(data, path)
            COMPRESSORS.create(config.compressor, config.compressor_params, str(path))
        TASKS.create(config.task, config.task_params, str(path))
