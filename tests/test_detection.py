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
    assert coco_map(truth, []) == {"map": 0.0, "ap50": 0.0, "ap75": 0.0, "aps": 0.0}  # 10×10 boxes: small


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


def test_instances_move_with_their_image_and_their_outlines_become_masks():
    from storagebench.tasks.preprocess import PreprocessParams, prepare_instances
    from storagebench.tasks.targets.instances import ObjectInstances, masks_of

    square = np.array([10, 10, 30, 10, 30, 30, 10, 30], np.float32)  # 20×20 at (10, 10)
    corner = np.array([70, 0, 80, 0, 80, 0.5, 70, 0.5], np.float32)  # half a pixel high: dropped when halved
    image = ObjectInstances(np.array([[10, 10, 30, 30, 1], [70, 0, 80, 0.5, 2]], np.float32),
                            ((square,), (corner,)))
    assert image.areas().tolist() == [400.0, 5.0]
    (moved,) = prepare_instances([image], np.array([[40, 80, 3]]), PreprocessParams(resize=40, fit="pad"))
    assert moved.boxes.tolist() == [[5, 5, 15, 15, 1]] and len(moved.polygons) == 1  # scaled by ½, one dropped
    assert moved.polygons[0][0].tolist() == [5, 5, 15, 5, 15, 15, 5, 15]
    masks = masks_of(moved, (40, 40))
    assert masks.shape == (1, 40, 40) and masks.dtype == np.uint8
    assert masks[0, 5:15, 5:15].all() and masks.sum() == 100  # the 10×10 square, as pycocotools draws it


def test_coco_scores_give_ap_by_object_size_only_for_sizes_the_test_split_has():
    small = coco_ground_truth(TRUTH, (40, 40), num_classes=3)  # areas 100, 100, 200: all small
    found = coco_results(detections([(0, 0, 10, 10, 0.9, 1), (20, 20, 30, 30, 0.8, 1)], [(5, 5, 25, 15, 0.7, 2)]))
    scores = coco_map(small, found)
    assert scores["aps"] == pytest.approx(1.0) and "apm" not in scores and "apl" not in scores
    large = coco_ground_truth([np.array([[0, 0, 40, 40, 1]], np.float32)], (40, 40), num_classes=2)
    assert set(coco_map(large, [])) == {"map", "ap50", "ap75", "apm"}  # 1,600 px²: medium


def test_mask_rcnn_needs_outlines_and_aps_needs_small_objects(tmp_path):
    task = TASKS.create("detection", {"model": "mask_rcnn"}, "[task]")
    with pytest.raises(StorageBenchError, match=r'model = "mask_rcnn" trains on instance outlines; this dataset gives '
                                                r"boxes alone \(read COCO data with \[dataset\].masks = true"):
        task.check_targets("boxes")
    task.check_targets("instances")
    with pytest.raises(StorageBenchError, match="detection trains on boxes; this dataset gives labels"):
        TASKS.create("detection", {}, "[task]").check_targets("labels")
    with pytest.raises(StorageBenchError, match="FCOS's small backbone has no pretrained weights"):
        TASKS.create("detection", {"weights": "DEFAULT"}, "[task]")


def test_a_mirrored_batch_mirrors_boxes_outlines_and_masks_with_its_images():
    import torch

    from storagebench.tasks.detection import _with_masks
    from storagebench.tasks.targets.instances import ObjectInstances

    detection = TASKS.create("detection", {"model": "mask_rcnn", "flip": True}, "[task]")
    x = torch.arange(2 * 3 * 4 * 10, dtype=torch.float32).reshape(2, 3, 4, 10)
    square = np.array([1, 0, 3, 0, 3, 2, 1, 2], np.float32)
    instances = ObjectInstances(np.array([[1, 0, 3, 2, 1]], np.float32), ((square,),))
    y = detection.targets_to_device([instances, instances])
    mirrored, targets = detection.mirror(x, y, torch.tensor([True, False]))
    assert torch.equal(mirrored[0], x[0].flip(-1)) and torch.equal(mirrored[1], x[1])
    assert targets[0]["boxes"].tolist() == [[7, 0, 9, 2]] and targets[1]["boxes"].tolist() == [[1, 0, 3, 2]]
    assert targets[0]["instances"].polygons[0][0].tolist() == [9, 0, 7, 0, 7, 2, 9, 2]
    drawn, original = (_with_masks(t, (4, 10), True)["masks"] for t in targets)
    assert torch.equal(drawn, original.flip(-1))  # the mask drawn from the mirrored outline is the mirror
    segmentation = TASKS.create("segmentation", {"flip": True}, "[task]")
    masks = torch.arange(2 * 4 * 10).reshape(2, 4, 10)
    _, flipped = segmentation.mirror(x, masks, torch.tensor([False, True]))
    assert torch.equal(flipped[0], masks[0]) and torch.equal(flipped[1], masks[1].flip(-1))


def test_rcnn_from_imagenet_weights_loads_them_into_a_frozen_backbone(monkeypatch):
    import torch

    import storagebench.tasks.detectors as detectors
    from storagebench.torchvision_compat import import_torchvision

    imagenet = import_torchvision().models.resnet50(weights=None).state_dict()  # stands in for the download
    monkeypatch.setattr(detectors, "imagenet_weights", lambda name: imagenet)
    task = TASKS.create("detection", {"model": "mask_rcnn", "weights": "DEFAULT"}, "[task]")
    model = task.build(1, 3, (64, 64))  # gray input: the RGB filters summed
    body = model.backbone.body
    assert torch.equal(body.layer4[0].conv1.weight, imagenet["layer4.0.conv1.weight"])
    assert torch.equal(body.conv1.weight, imagenet["conv1.weight"].sum(dim=1, keepdim=True))
    assert not body.conv1.weight.requires_grad and not body.layer1[0].conv1.weight.requires_grad  # stem, stage 1
    assert body.layer2[0].conv1.weight.requires_grad and type(body.bn1).__name__ == "FrozenBatchNorm2d"
    assert model.transform.image_mean == [pytest.approx((2 * 0.485 - 1 + 2 * 0.456 - 1 + 2 * 0.406 - 1) / 3)]
