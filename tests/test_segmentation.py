"""Segmentation: mIoU by hand, the image/mask folder reader and its errors, fashion-scenes, the Unet task."""
import json

import numpy as np
import pytest
from conftest import before_and_after_training
from PIL import Image

from storagebench.errors import StorageBenchError
from storagebench.tasks import DATASETS, TASKS
from storagebench.tasks.fashion_scenes import compose_scene
from storagebench.tasks.segmentation import IGNORE_INDEX, confusion_matrix, mean_iou


def test_miou_of_a_hand_made_pair_equals_the_hand_computed_value():
    truth = np.array([[0, 0, 1, 1],
                      [0, 0, 1, 1],
                      [2, 2, 2, IGNORE_INDEX]], dtype=np.uint8)
    predicted = np.array([[0, 1, 1, 1],
                          [0, 0, 1, 0],
                          [2, 2, 0, 3]], dtype=np.uint8)
    # class 0: TP 3, FP 2 (a 1 and a 2 predicted as 0), FN 1 → 3/6; class 1: TP 3, FP 1, FN 1 → 3/5;
    # class 2: TP 2, FP 0, FN 1 → 2/3; class 3 only predicted on an ignored pixel → absent from both, not averaged;
    # class 4 absent from both → not averaged.
    miou, per_class = mean_iou(confusion_matrix(predicted, truth, 5))
    assert per_class[:3] == pytest.approx([3 / 6, 3 / 5, 2 / 3])
    assert np.isnan(per_class[3]) and np.isnan(per_class[4])
    assert miou == pytest.approx((3 / 6 + 3 / 5 + 2 / 3) / 3)


def write_pairs(root, split, count=4, size=(16, 12), palette=False):
    (root / split / "images").mkdir(parents=True)
    (root / split / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, size[::-1], dtype=np.uint8)).save(root / split / "images" / f"{i}.png")
        mask = Image.fromarray((np.arange(size[0] * size[1]).reshape(size[::-1]) % 3).astype(np.uint8))
        if palette:
            mask = mask.convert("P")
            mask.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (256 * 3 - 9))
        mask.save(root / split / "masks" / f"{i}.png")


def load(root, **params):
    return DATASETS.create("segmentation-folder", {"path": str(root), **params}, "[dataset]").load()


def test_folder_reader_accepts_gray_and_palette_masks(tmp_path):
    write_pairs(tmp_path, "train")
    write_pairs(tmp_path, "test", palette=True)
    splits = load(tmp_path)
    assert splits.train.target.masks.shape == (4, 12, 16) and splits.test.target.masks.max() == 2
    assert splits.classes == ("class_0", "class_1", "class_2")
    assert np.array_equal(splits.train.targets(np.array([1])), splits.train.target.masks[[1]])


@pytest.mark.parametrize("split, folder, name, message", [
    ("train", "masks", "2.png", r"masks/2.png: size \(10, 10\) differs from its image 2.png \(16, 12\)"),
    ("test", "images", "3.png", r"masks/3.png: size \(16, 12\) differs from its image 3.png \(10, 10\)"),
])
def test_a_file_of_the_wrong_size_is_named(tmp_path, split, folder, name, message):
    write_pairs(tmp_path, "train")
    write_pairs(tmp_path, "test")
    Image.new("L", (10, 10)).save(tmp_path / split / folder / name)
    with pytest.raises(StorageBenchError, match=message):
        load(tmp_path)


def test_missing_mask_is_named(tmp_path):
    write_pairs(tmp_path, "train")
    write_pairs(tmp_path, "test")
    (tmp_path / "train" / "masks" / "2.png").unlink()
    with pytest.raises(StorageBenchError, match="2.png: missing mask"):
        load(tmp_path)


def test_too_few_class_names_and_rgb_masks(tmp_path):
    write_pairs(tmp_path, "train")
    write_pairs(tmp_path, "test")
    with pytest.raises(StorageBenchError, match="masks use class 2"):
        load(tmp_path, classes=["bg", "a"])
    Image.new("RGB", (16, 12)).save(tmp_path / "test" / "masks" / "0.png")
    with pytest.raises(StorageBenchError, match="gray or palette PNG"):
        load(tmp_path)


def test_scene_composition_is_deterministic_and_consistent():
    items = np.zeros((5, 28, 28), np.uint8)
    items[:, 6:22, 8:20] = 200
    labels = np.arange(5)
    one = compose_scene(np.random.default_rng(3), items, labels, (64, 64), 4)
    two = compose_scene(np.random.default_rng(3), items, labels, (64, 64), 4)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1]) and one[2] == two[2]
    image, mask, boxes = one
    assert boxes and set(np.unique(mask)) <= {0} | {b[4] for b in boxes}
    for x0, y0, x1, y1, category in boxes:
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64 and (mask[y0:y1, x0:x1] == category).any()


def test_fashion_scenes_written_and_read_back(tmp_path, fashion_dir, monkeypatch):
    monkeypatch.setenv("STORAGEBENCH_DATA", str(fashion_dir))
    params = {"root": str(tmp_path / "scenes"), "train": 30, "test": 10, "size": 48}
    splits = DATASETS.create("fashion-scenes", params, "[dataset]").load()
    assert splits.train.images.shape == (30, 48, 48) and splits.test.target.masks.shape == (10, 48, 48)
    assert splits.classes[0] == "background" and len(splits.classes) == 11
    coco = json.loads((tmp_path / "scenes" / "train" / "annotations.json").read_text())
    assert len(coco["images"]) == 30 and coco["annotations"]
    again = DATASETS.create("fashion-scenes", params, "[dataset]").load()
    assert again.train.fingerprint == splits.train.fingerprint


def test_fashion_scenes_three_targets_of_the_same_images_share_their_subsets(tmp_path, fashion_dir, monkeypatch):
    """masks, boxes and labels read one scene folder: the same pixels, each scene labelled by the class covering
    most of its item pixels, so the stratified subsets (hence the bytes trained on) are the same for the three."""
    from storagebench.tasks.subsets import stratified_order

    monkeypatch.setenv("STORAGEBENCH_DATA", str(fashion_dir))
    params = {"root": str(tmp_path / "scenes"), "train": 40, "test": 10, "size": 48}
    read = {t: DATASETS.create("fashion-scenes", {**params, "target": t}, "[dataset]").load()
            for t in ("masks", "boxes", "labels")}
    masks, boxes, labels = (read[t].train for t in ("masks", "boxes", "labels"))
    assert np.array_equal(masks.images, boxes.images) and np.array_equal(masks.images, labels.images)
    for mask, label in zip(masks.target.masks, labels.labels):
        counts = np.bincount(mask.ravel(), minlength=11)[1:11]
        assert label == counts.argmax() and counts[label] > 0
    assert labels.targets().tolist() == labels.labels.tolist() and read["labels"].classes == read["masks"].classes[1:]
    for seed in (0, 1):
        order = stratified_order(labels.labels, seed)
        assert np.array_equal(order, stratified_order(masks.labels, seed))
        assert np.array_equal(order, stratified_order(boxes.labels, seed))


def test_unet_learns_scenes(tmp_path, fashion_dir, monkeypatch):
    monkeypatch.setenv("STORAGEBENCH_DATA", str(fashion_dir))
    splits = DATASETS.create("fashion-scenes", {"root": str(tmp_path / "s"), "train": 96, "test": 32, "size": 32},
                             "[dataset]").load()
    task = TASKS.create("segmentation", {"epochs": 1, "min_steps": 150, "batch_size": 16}, "[task]")
    before, after = before_and_after_training(task, (splits.train.images, splits.train.targets()),
                                              (splits.test.images, splits.test.targets()), len(splits.classes))
    assert after["error"] < before["error"] - 0.05 and 0 < after["miou"] <= 1
