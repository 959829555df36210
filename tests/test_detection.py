"""Detection: COCO scoring against pycocotools and by hand, FCOS learning fashion-scenes boxes, and the harness."""
import json

import numpy as np
import pytest
from conftest import SMALLEST_MODELS, before_and_after_training

from storagebench.errors import StorageBenchError
from storagebench.tasks import DATASETS, TASKS
from storagebench.tasks.detection import coco_ground_truth, coco_map, coco_results

# Two images, two categories. Image 1: class-1 boxes A and B; image 2: class-2 box C.
TRUTH = [np.array([[0, 0, 10, 10, 1], [20, 20, 30, 30, 1]], np.float32),
         np.array([[5, 5, 25, 15, 2]], np.float32)]


def detections(*per_image):
    return [{"boxes": np.array([d[:4] for d in image], np.float32).reshape(-1, 4),
             "scores": np.array([d[4] for d in image], np.float32),
             "labels": np.array([d[5] for d in image], np.int64)} for image in per_image]


def test_one_of_two_boxes_found_gives_the_hand_computed_ap():
    # Only class 1 in the truth; A found exactly, B missed: precision 1 up to recall 0.5, then nothing. COCO's
    # 101-point interpolation averages precision at recall 0, 0.01, …, 1: 51 points of 1 → AP = 51/101 at every
    # IoU threshold.
    truth = coco_ground_truth(TRUTH[:1], (40, 40), num_classes=2)
    scores = coco_map(truth, coco_results(detections([(0, 0, 10, 10, 0.9, 1)])))
    assert scores["map"] == pytest.approx(51 / 101) and scores["ap50"] == pytest.approx(51 / 101)
    perfect = coco_map(truth, coco_results(detections([(0, 0, 10, 10, 0.9, 1), (20, 20, 30, 30, 0.8, 1)])))
    assert perfect["map"] == pytest.approx(1.0)
    assert coco_map(truth, []) == {"map": 0.0, "ap50": 0.0, "ap75": 0.0}


def test_scoring_equals_pycocotools_on_files(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    found = detections(
        [(0, 0, 10, 10, 0.9, 1), (21, 22, 31, 30, 0.8, 1), (0, 20, 8, 30, 0.95, 1), (0, 0, 10, 10, 0.3, 2)],
        [(6, 5, 25, 16, 0.7, 2), (5, 5, 25, 15, 0.2, 1)])
    truth = coco_ground_truth(TRUTH, (40, 40), num_classes=3)
    results = coco_results(found)
    assert results[1]["bbox"] == [21.0, 22.0, 10.0, 8.0]  # xyxy → xywh
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    (tmp_path / "results.json").write_text(json.dumps(results))
    reference = COCOeval(COCO(str(tmp_path / "truth.json")), COCO(str(tmp_path / "truth.json")).loadRes(
        str(tmp_path / "results.json")), "bbox")
    reference.evaluate()
    reference.accumulate()
    reference.summarize()
    scores = coco_map(truth, results)
    assert 0 < scores["map"] < scores["ap50"] < 1
    assert (scores["map"], scores["ap50"], scores["ap75"]) == pytest.approx(tuple(reference.stats[:3]))


def test_a_test_split_without_boxes_is_an_error():
    with pytest.raises(StorageBenchError, match="no boxes"):
        coco_map(coco_ground_truth([np.zeros((0, 5), np.float32)], (8, 8), 2), [])


def scenes(tmp_path, fashion_dir, monkeypatch, **params):
    monkeypatch.setenv("STORAGEBENCH_DATA", str(fashion_dir))
    return DATASETS.create("fashion-scenes", {"root": str(tmp_path / "scenes"), "target": "boxes", **params},
                           "[dataset]").load()


def test_fashion_scenes_boxes_come_back_through_the_coco_reader(tmp_path, fashion_dir, monkeypatch):
    boxes = scenes(tmp_path, fashion_dir, monkeypatch, train=20, test=8, size=48)
    masks = DATASETS.create("fashion-scenes", {"root": str(tmp_path / "scenes"), "train": 20, "test": 8,
                                               "size": 48}, "[dataset]").load()
    assert np.array_equal(boxes.train.images, masks.train.images) and boxes.classes == masks.classes
    for image_boxes, mask in zip(boxes.train.targets(), masks.train.target.masks):
        assert len(image_boxes) >= 1
        for x0, y0, x1, y1, c in image_boxes.astype(int):
            assert 0 <= x0 < x1 <= 48 and 0 <= y0 < y1 <= 48 and (mask[y0:y1, x0:x1] == c).any()
    assert boxes.train.target_sizes.min() > 0
    with pytest.raises(StorageBenchError, match="target must be one of masks, boxes, labels"):
        DATASETS.create("fashion-scenes", {"target": "points"}, "[dataset]")


def test_fcos_learns_scenes(tmp_path, fashion_dir, monkeypatch):
    splits = scenes(tmp_path, fashion_dir, monkeypatch, train=128, test=32, size=32)
    task = TASKS.create("detection", {"epochs": 1, "min_steps": 200, "lr": 5e-3, **SMALLEST_MODELS["detection"]},
                        "[task]")
    before, after = before_and_after_training(task, (splits.train.images, splits.train.targets()),
                                              (splits.test.images, splits.test.targets()), len(splits.classes))
    # 200 steps on 128 scenes: far from converged, but an untrained FCOS scores nothing at all
    assert before["map"] < 0.01 and after["map"] > 0.04 and after["ap50"] > 0.1, after
    assert after["error"] < before["error"] - 0.04
