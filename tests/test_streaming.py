"""A set too large for memory trains from the store: images read on access in DataLoader workers, prepared as the
task declares, in the same batches as in memory — so the same model comes out."""
import sqlite3

import numpy as np
import pytest
import torch
from conftest import SMALLEST_MODELS, run_cli, scenes_config, toml_keys

from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.benchmarks.harness.streaming import StoredImages
from storagebench.compressors import COMPRESSORS
from storagebench.errors import StorageBenchError
from storagebench.images import RaggedImages
from storagebench.tasks import DATASETS, TASKS


@pytest.fixture(scope="module")
def scenes(tmp_path_factory, fashion_dir):
    """Scenes of 32–64 px, as boxes (detection) and as labels (classification) of the same images."""
    root = tmp_path_factory.mktemp("scenes")
    keys = {"root": str(root), "path": str(fashion_dir), "train": 48, "test": 8, "size": 32, "max_size": 64,
            "max_items": 2}
    return {target: DATASETS.create("fashion-scenes", {**keys, "target": target}, "[dataset]").load()
            for target in ("labels", "boxes")}


def stored(tmp_path, images):
    codec = COMPRESSORS.create("jpegxl", {"effort": 3}, "[compressor]")
    entry, _ = CompressedSetStore(tmp_path).ensure(images, np.arange(len(images)), codec, 4.0, fingerprint="f" * 64,
                                                   split="train", workers=1)
    return entry, codec


@pytest.mark.parametrize("task, target, resize, flip", [("classification", "labels", 24, False),
                                                        ("detection", "boxes", 32, True)])
def test_streamed_training_gives_the_model_trained_in_memory(tmp_path, scenes, task, target, resize, flip):
    train = scenes[target].train
    entry, codec = stored(tmp_path, train.images)
    decoded, lazy = entry.decode(codec, workers=1), StoredImages(entry, codec)
    assert isinstance(decoded, RaggedImages) and all(np.array_equal(a, b) for a, b in zip(lazy, decoded))
    recipe = TASKS.create(task, {**SMALLEST_MODELS[task], "epochs": 1, "min_steps": 5, "batch_size": 8,
                                 "resize": resize, "flip": flip}, "[task]")
    recipe.loader_workers = 2
    in_memory = recipe.train(decoded, train.targets(), len(scenes[target].classes), seed=3)
    streamed = recipe.train(lazy[np.arange(len(lazy))], train.targets(), len(scenes[target].classes), seed=3)
    for (name, a), b in zip(in_memory.state_dict().items(), streamed.state_dict().values()):
        assert torch.equal(a, b), name  # with flips: the same items mirrored at the same steps
    if flip:
        unflipped = TASKS.create(task, {**SMALLEST_MODELS[task], "epochs": 1, "min_steps": 5, "batch_size": 8,
                                        "resize": resize}, "[task]")
        plain = unflipped.train(decoded, train.targets(), len(scenes[target].classes), seed=3)
        assert not all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), in_memory.state_dict().values()))


def test_a_damaged_bitstream_is_named_when_it_is_read(tmp_path, scenes):
    entry, codec = stored(tmp_path, scenes["labels"].train.images)
    lazy = StoredImages(entry, codec)
    blob = bytearray(entry.bitstreams_path.read_bytes())
    blob[int(entry.index["offset"][7]) + 3] ^= 0xFF
    entry.bitstreams_path.write_bytes(bytes(blob))
    assert lazy[6].shape == tuple(entry.item_shapes[6])
    with pytest.raises(StorageBenchError, match="item 7 does not match its sha256"):
        lazy[7]  # noqa: B018


def test_a_run_over_its_memory_budget_reads_from_the_store_and_gives_the_same_numbers(tmp_path, cli_env):
    config = tmp_path / "c.toml"
    config.write_text(scenes_config("classification", "labels", tmp_path / "scenes", [20, 40],
                                    "train = 40\ntest = 12\nsize = 32\nmax_size = 64\nmax_items = 2", "min_steps = 4",
                                    f"resize = 24\n{toml_keys(SMALLEST_MODELS['classification'])}"))
    in_memory = run_cli(["run", str(config), "--out", "memory"], cli_env, tmp_path)
    streamed = run_cli(["run", str(config), "--out", "streamed", "--memory-gb", "0.0001"], cli_env, tmp_path)
    assert in_memory.returncode == 0 and streamed.returncode == 0, streamed.stderr
    assert "read from the store on access" in streamed.stderr and "on access" not in in_memory.stderr
    rows = {}
    for out in ("memory", "streamed"):
        with sqlite3.connect(tmp_path / out / "results.sqlite") as db:
            rows[out] = db.execute("SELECT cell, test_level, error, metrics FROM results ORDER BY 1, 2").fetchall()
    assert rows["memory"] == rows["streamed"] and len(rows["memory"]) == 8


@pytest.mark.parametrize("task, target", [("classification", "labels"), ("detection", "boxes")])
def test_a_test_set_read_on_access_is_scored_in_chunks_as_in_memory(tmp_path, scenes, task, target, monkeypatch):
    import storagebench.tasks.training as training

    train, test = scenes[target].train, scenes[target].test
    entry, codec = stored(tmp_path, test.images)
    keep_all = {"score_thresh": 0.0} if task == "detection" else {}  # an untrained FCOS's boxes score under 0.05
    recipe = TASKS.create(task, {**SMALLEST_MODELS[task], "steps": 3, "batch_size": 8, "resize": 32, **keep_all},
                          "[task]")
    model = recipe.train(train.images, train.targets(), len(scenes[target].classes), seed=0)
    seen = []  # what metrics is given: every image's predictions and prepared targets, in order
    scored = recipe.metrics
    monkeypatch.setattr(recipe, "metrics", lambda *args: seen.append(args[1:3]) or scored(*args))
    in_memory = recipe.evaluate(model, entry.decode(codec, workers=1), test.targets())
    monkeypatch.setattr(training, "EVAL_CHUNK", 3)  # 8 test images: chunks of 3, 3 and 2
    assert recipe.evaluate(model, StoredImages(entry, codec), test.targets()) == in_memory
    (whole, whole_targets), (chunked, chunked_targets) = seen
    assert len(chunked) == len(whole) == len(test) and len(chunked_targets) == len(test)
    if task == "detection":  # boxes are found (score_thresh 0), and each image keeps its own, in order
        assert sum(len(d["boxes"]) for d in whole) > 0
        assert all(np.array_equal(a["boxes"], b["boxes"]) for a, b in zip(whole, chunked))
        assert all(np.array_equal(a, b) for a, b in zip(whole_targets, chunked_targets))
    else:
        assert np.array_equal(whole, chunked) and np.array_equal(whole_targets, chunked_targets)
