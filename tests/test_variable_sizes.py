"""Images of any size: readers keep each image at its own size, the store encodes it there (L is the mean of real
bitstreams of whole images), and a task's declared preprocessing brings images, masks and boxes to one training
size."""
import hashlib
import json
import sqlite3

import numpy as np
import pytest
from conftest import SMALLEST_MODELS, run_cli, scenes_config, toml_keys
from PIL import Image

from storagebench.benchmarks.harness.store import StoredSet
from storagebench.compressors import COMPRESSORS, LOSSLESS
from storagebench.errors import StorageBenchError
from storagebench.images import RaggedImages, as_images, same_pixels, update_digest
from storagebench.tasks import DATASETS, TASKS
from storagebench.tasks.preprocess import PreprocessParams, prepare_boxes, prepare_images, prepare_masks
from storagebench.tasks.subsets import stratified_order


def ragged(*shapes):
    rng = np.random.default_rng(0)
    return as_images([rng.integers(0, 256, s, dtype=np.uint8) for s in shapes])


def digest(images):
    h = hashlib.sha256()
    update_digest(h, images)
    return h.hexdigest()


def test_ragged_images_index_iterate_and_name_their_content():
    images = ragged((5, 7), (9, 4), (6, 6))
    assert isinstance(images, RaggedImages) and len(images) == 3
    assert [a.shape for a in images] == [(5, 7), (9, 4), (6, 6)]
    subset = images[np.array([2, 0])]
    assert [a.shape for a in subset] == [(6, 6), (5, 7)] and np.array_equal(subset[1], images[0])
    assert [a.shape for a in images[1:]] == [(9, 4), (6, 6)] and images[-1].shape == (6, 6)
    joined = RaggedImages.concatenate([images[:1], images[1:]])
    assert same_pixels(joined, images).all() and digest(joined) == digest(images)
    # the same pixels in other shapes are other content
    reshaped = RaggedImages(images.buffer, images.offsets, np.array([[7, 5], [4, 9], [6, 6]]))
    assert digest(reshaped) != digest(images)
    assert same_pixels(reshaped, images).tolist() == [False, False, True]
    assert isinstance(as_images([np.zeros((3, 3), np.uint8)] * 2), np.ndarray)  # one size: one stacked array


def test_preprocessing_crops_or_pads_and_moves_masks_and_boxes_with_the_image():
    image = np.arange(40 * 80, dtype=np.uint32).reshape(40, 80).astype(np.uint8)  # 40 high, 80 wide
    mask = np.zeros((40, 80), np.uint8)
    mask[:, 40:] = 3
    crop = PreprocessParams(resize=20, crop=20, fit="crop")  # shorter side 40 → 20: 20×40, centre 20×20
    assert prepare_images(as_images([image, image[:, :40]]), crop).shape == (2, 20, 20)
    cropped_mask = prepare_masks(as_images([mask]), crop)[0]
    assert cropped_mask[:, :10].max() == 0 and (cropped_mask[:, 10:] == 3).all()
    box = np.array([[40, 10, 60, 30, 1]], np.float32)  # halved: x 20..30, minus the window's left 10: 10..20
    assert prepare_boxes([box], np.array([[40, 80]]), crop)[0].tolist() == [[10, 5, 20, 15, 1]]
    outside = np.array([[0, 0, 10, 10, 2]], np.float32)  # halved to x 0..5, left of the window (x 10..30): dropped
    assert prepare_boxes([outside], np.array([[40, 80]]), crop)[0].shape == (0, 5)
    pad = PreprocessParams(resize=40, fit="pad")  # longer side 80 → 40: 20×40, padded below to 40×40
    padded_mask = prepare_masks(as_images([mask]), pad)[0]
    assert padded_mask.shape == (40, 40) and (padded_mask[20:] == 255).all() and (padded_mask[:20, 20:] == 3).all()
    assert prepare_boxes([box], np.array([[40, 80]]), pad)[0].tolist() == [[20, 5, 30, 15, 1]]
    assert prepare_images(as_images([image]), pad)[0, 20:].max() == 0


def test_masks_read_from_files_come_out_as_one_array_without_a_resize(tmp_path):
    from storagebench.tasks.file_images import FileImages

    paths = [tmp_path / f"{i}.png" for i in range(2)]
    for i, path in enumerate(paths):
        Image.fromarray(np.full((5, 7), i, np.uint8)).save(path)
    masks = prepare_masks(FileImages(paths, "L"), PreprocessParams())
    assert isinstance(masks, np.ndarray) and masks.shape == (2, 5, 7) and masks[1].max() == 1


def test_a_crop_larger_than_an_image_or_mixed_sizes_without_a_resize_are_one_error():
    task = TASKS.create("classification", {"crop": 8}, "[task]")
    with pytest.raises(StorageBenchError, match=r"crop = 8: test image 1 is 6×9, smaller than the crop"):
        task.check_images([("train", ragged((9, 9), (8, 12)), ()), ("test", ragged((10, 10), (6, 9)), ())])
    plain = TASKS.create("segmentation", {}, "[task]")
    with pytest.raises(StorageBenchError, match=r"2 different sizes .*declare \[task\].resize"):
        plain.check_images([("train", ragged((9, 9), (8, 12)), ())])
    with pytest.raises(StorageBenchError, match="crop must be ≤ resize"):
        TASKS.create("classification", {"resize": 8, "crop": 9}, "[task]")


def test_readers_keep_each_image_at_its_own_size_and_a_crop_too_large_names_its_file(tmp_path):
    for split in ("train", "test"):
        for c, size in (("a", (30, 20)), ("b", (17, 41))):
            (tmp_path / split / c).mkdir(parents=True)
            Image.new("RGB", size, (10, 200, 30)).save(tmp_path / split / c / "0.png")
    splits = DATASETS.create("image-folder", {"path": str(tmp_path)}, "[dataset]").load()
    assert [a.shape for a in splits.train.images] == [(20, 30, 3), (41, 17, 3)]
    sets = [(name, s.images, s.names) for name, s in (("train", splits.train), ("test", splits.test))]
    with pytest.raises(StorageBenchError, match=r"crop = 18: .*train/b/0.png is 41×17, smaller than the crop"):
        TASKS.create("classification", {"crop": 18}, "[task]").check_images(sets)


SIZES = "train = 40\ntest = 16\nsize = 32\nmax_size = 80\nmax_items = 2"


# classification runs end to end on these scenes in tests/test_streaming.py (in memory and read from the store)
@pytest.mark.parametrize("task, target, preprocessing", [
    ("segmentation", "masks", "resize = 32\ncrop = 24"),
    ("detection", "boxes", "resize = 32"),  # fit = "pad": the whole scene, every box
])
def test_scenes_of_many_sizes_run_end_to_end_with_l_from_whole_images(tmp_path, cli_env, task, target,
                                                                       preprocessing):
    root = tmp_path / "scenes"
    config = tmp_path / f"{task}.toml"
    config.write_text(scenes_config(task, target, root, [20, 40], SIZES, "min_steps = 4",
                                    f"{preprocessing}\n{toml_keys(SMALLEST_MODELS[task])}"))
    result = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    splits = DATASETS.create("fashion-scenes", {"target": target, "root": str(root), "train": 40, "test": 16,
                                                "size": 32, "max_size": 80, "max_items": 2}, "[dataset]").load()
    shapes = {a.shape for a in splits.train.images}
    assert len(shapes) > 10 and min(min(s) for s in shapes) >= 32 and max(max(s) for s in shapes) <= 80
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        cells = db.execute("SELECT train_level, n, train_bytes_per_image FROM cells").fetchall()
        evaluations = db.execute("SELECT error, metrics FROM results").fetchall()
    assert len(cells) == 4 and len(evaluations) == 8 and all(0 <= e <= 1 for e, _ in evaluations)
    codec = COMPRESSORS.create("jpegxl", {"effort": 3}, "[compressor]")
    for level, n, per_image in cells:  # L: real bitstreams of each whole image, at its own size
        if level == LOSSLESS:
            subset = stratified_order(splits.train.labels, 0)[:n]
            assert per_image == pytest.approx(np.mean([len(codec.encode(splits.train.images[i], LOSSLESS))
                                                       for i in subset]))
    entries = [StoredSet(p.parent, json.loads(p.read_text()))
               for p in (tmp_path / "cache" / "store").glob("*/manifest.json")]
    train = [e for e in entries if e.manifest["split"] == "train"]
    assert train and all(e.item_shapes.tolist() == [list(splits.train.images[i].shape) for i in e.dataset_index]
                         for e in train)


def test_mixed_sizes_without_a_resize_stop_before_anything_is_written(tmp_path, cli_env):
    config = tmp_path / "c.toml"
    config.write_text(scenes_config("classification", "labels", tmp_path / "scenes", [20, 40], SIZES, "", ""))
    result = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)
    assert result.returncode != 0 and result.stderr.count("\n") == 1
    assert "c.toml: [task]: the images have" in result.stderr and "declare [task].resize" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_same_images_read_as_other_targets_share_their_store_key(tmp_path, fashion_dir):
    keys = {"root": str(tmp_path), "path": str(fashion_dir), "train": 12, "test": 4, "size": 32, "max_size": 48,
            "max_items": 2}
    masks, boxes = (DATASETS.create("fashion-scenes", {**keys, "target": t}, "[dataset]").load().train
                    for t in ("masks", "boxes"))
    assert masks.fingerprint != boxes.fingerprint  # other targets: other data for a results dir
    assert masks.pixels_fingerprint == boxes.pixels_fingerprint  # the same bytes to encode: encoded once


def test_a_test_set_is_prepared_once_for_every_cell_a_process_evaluates(monkeypatch):
    import storagebench.tasks.training as training

    task = TASKS.create("classification", {"resize": 8, **SMALLEST_MODELS["classification"]}, "[task]")
    images, labels = ragged((9, 12), (10, 10), (16, 11)), np.array([0, 1, 0])
    model = task.build(1, 2, (8, 8))
    calls = []
    real = training.prepare_images
    monkeypatch.setattr(training, "prepare_images", lambda *a: calls.append(1) or real(*a))
    first, second = task.evaluate(model, images, labels), task.evaluate(model, images, labels)
    assert first == second and len(calls) == 1
    task.evaluate(model, images, np.array([1, 1, 1]))  # other targets of the same images: prepared again
    assert len(calls) == 2


def test_warm_up_and_the_step_schedule_set_each_steps_learning_rate():
    import torch

    from storagebench.tasks.training import RecipeParams, recipe_optimizer

    recipe = RecipeParams(optimizer="sgd", lr=0.02, schedule="step", warmup_steps=10)
    optimizer, scheduler = recipe_optimizer([torch.zeros(1, requires_grad=True)], recipe, steps=120)
    rates = []
    for _ in range(120):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.02 * 0.001) and rates[5] == pytest.approx(0.02 * (0.001 + 0.999 * 0.5))
    assert rates[10] == rates[79] == pytest.approx(0.02)  # after the warm-up, until 8/12 of the steps
    assert rates[80] == rates[109] == pytest.approx(0.002) and rates[110] == pytest.approx(0.0002)  # 8/12, 11/12
    assert "warmup_steps must be ≥ 0" == RecipeParams(warmup_steps=-1).check()
