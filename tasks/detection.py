"""Object detection with torchvision's FCOS (one-stage, anchor-free) on a small backbone trained from scratch; predictions become COCO results and are scored by pycocotools' COCOeval:
error = 1 − mAP@[.5:.95], with AP50 recorded.

The model was chosen by measurement (``benchmarks/perf/detectors.py``): torchvision's stock CPU-sized detectors
(SSDlite-MobileNetV3, Faster R-CNN-MobileNetV3-320) cost 55–115× more per training step on 64×64 scenes, and
RetinaNet on the same backbone about as much as FCOS with a deeper head.
"""
from __future__ import annotations

import contextlib
import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from storagebench.device import current_device
from storagebench.errors import StorageBenchError
from storagebench.tasks.coco import indexed_coco
from storagebench.images import Images, image_shapes
from storagebench.tasks.preprocess import prepare_boxes
from storagebench.tasks.registry import TASKS
from storagebench.tasks.training import (
    RecipeParams,
    RecipeTask,
    outputs_in_batches,
    to_tensor,
)


@dataclass(frozen=True)
class DetectionParams(RecipeParams):
    width: int = 16  # backbone channels of the first stage; doubled twice
    fpn_channels: int = 32
    head_convs: int = 2  # conv layers in each FCOS head branch (torchvision's default is 4)
    epochs: int = 30
    batch_size: int = 16
    lr: float = 2e-3
    fit: str = "pad"  # with a resize: keep the whole image (and every box), padded to a square
    score_thresh: float = 0.05  # COCO practice: keep low-scoring boxes, AP ranks them
    detections_per_img: int = 100
    eval_batch_size: int = 64

    model_checks = ((lambda p: p.width >= 1, "width must be ≥ 1"),
                    (lambda p: p.fpn_channels >= 32 and p.fpn_channels % 32 == 0,
                     "fpn_channels must be a multiple of 32 (the FCOS head norms in 32 groups)"),
                    (lambda p: p.head_convs >= 0, "head_convs must be ≥ 0"),
                    (lambda p: 0 <= p.score_thresh < 1, "score_thresh must be in [0, 1)"))


def _stage(cin: int, cout: int) -> nn.Sequential:
    """Halve the resolution: conv3×3/2 → BN → ReLU → conv3×3 → BN → ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallBackbone(nn.Module):
    """Four stride-2 stages; the stride-8 and stride-16 maps go through an FPN (what torchvision's heads expect)."""

    strides = (8, 16)

    def __init__(self, in_channels: int, width: int, out_channels: int):
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork

        self.body = nn.Sequential(_stage(in_channels, width), _stage(width, 2 * width), _stage(2 * width, 4 * width))
        self.last = _stage(4 * width, 4 * width)
        self.fpn = FeaturePyramidNetwork([4 * width, 4 * width], out_channels)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        c3 = self.body(x)
        return self.fpn(OrderedDict(p3=c3, p4=self.last(c3)))


def build_detector(p: DetectionParams, in_channels: int, num_classes: int, image_hw: tuple[int, int]) -> nn.Module:
    """``num_classes`` counts the background (class 0); images keep their size (no resize) and arrive in [-1, 1]
    (``to_tensor``), so the detector's own normalisation is the identity."""
    from storagebench.torchvision_compat import import_torchvision

    torchvision = import_torchvision()
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.fcos import FCOSHead

    backbone = SmallBackbone(in_channels, p.width, p.fpn_channels)
    # FCOS's "anchors" are points; their size (= the stride, as torchvision sets it) picks each level's box sizes.
    anchors = AnchorGenerator(tuple((s,) for s in backbone.strides), ((1.0,),) * len(backbone.strides))
    return torchvision.models.detection.FCOS(
        backbone, num_classes, anchor_generator=anchors, head=FCOSHead(p.fpn_channels, 1, num_classes, p.head_convs),
        min_size=min(image_hw), max_size=max(image_hw), image_mean=[0.0] * in_channels, image_std=[1.0] * in_channels,
        score_thresh=p.score_thresh, detections_per_img=p.detections_per_img)


def _target_dicts(boxes: list[np.ndarray]) -> list[dict[str, torch.Tensor]]:
    device = current_device()
    return [{"boxes": torch.as_tensor(b[:, :4], dtype=torch.float32, device=device).reshape(-1, 4),
             "labels": torch.as_tensor(b[:, 4], dtype=torch.int64, device=device)} for b in boxes]


def coco_ground_truth(boxes: list[np.ndarray], image_hw: tuple[int, int], num_classes: int) -> dict:
    """COCO JSON for per-image K×5 boxes (x0, y0, x1, y1, class); image ids are 1 + the index."""
    annotations = []
    for i, image_boxes in enumerate(boxes):
        for x0, y0, x1, y1, c in image_boxes.tolist():
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(c),
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
    return {"images": [{"id": i + 1, "width": image_hw[1], "height": image_hw[0]} for i in range(len(boxes))],
            "annotations": annotations,
            "categories": [{"id": c, "name": str(c)} for c in range(1, num_classes)]}


def coco_results(detections: list[dict[str, np.ndarray]]) -> list[dict]:
    """Per-image {boxes (xyxy), scores, labels} → COCO results JSON entries (image ids 1 + the index)."""
    return [{"image_id": i + 1, "category_id": int(label), "score": float(score),
             "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]}
            for i, d in enumerate(detections) for (x0, y0, x1, y1), score, label in
            zip(d["boxes"], d["scores"], d["labels"])]


def coco_map(ground_truth: dict, results: list[dict]) -> dict[str, float]:
    """pycocotools COCOeval (bbox, maxDets 100): mAP@[.5:.95], AP50, AP75. No detections at all score 0."""
    if not ground_truth["annotations"]:
        raise StorageBenchError("detection test split has no boxes: its mAP is undefined")
    if not results:
        return {"map": 0.0, "ap50": 0.0, "ap75": 0.0}
    from pycocotools.cocoeval import COCOeval

    truth = indexed_coco(ground_truth)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress and the summary table
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = [max(float(s), 0.0) for s in evaluation.stats[:3]]  # -1 means "no such objects": counts as 0
    return dict(zip(("map", "ap50", "ap75"), stats))


@TASKS.register("detection")
class Detection(RecipeTask):
    """Object detection with torchvision's FCOS on a small backbone trained from scratch, scored by COCOeval."""

    Params = DetectionParams
    metric = "COCO mAP@[.5:.95]"

    def prepare_targets(self, targets: list[np.ndarray], images: Images) -> list[np.ndarray]:
        return prepare_boxes(targets, image_shapes(images), self.params.preprocess)

    def build(self, in_channels: int, num_classes: int, image_hw: tuple[int, int]) -> nn.Module:
        return build_detector(self.params, in_channels, num_classes, image_hw)

    def targets_to_device(self, targets: list[np.ndarray]) -> list[dict[str, torch.Tensor]]:
        return _target_dicts(targets)

    def loss(self, model: nn.Module, x: torch.Tensor, y: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        # In training mode torchvision detectors take a list of images and targets and return their losses.
        return sum(model(list(x), y).values())

    def batch_loss(self, model: nn.Module, images: np.ndarray,
                   targets: list[np.ndarray]) -> Callable[[torch.Tensor], torch.Tensor]:
        x, y = to_tensor(images), self.targets_to_device(targets)
        return lambda idx: self.loss(model, x[idx], [y[i] for i in idx.tolist()])

    def predict(self, model: nn.Module, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Per image: boxes (x0, y0, x1, y1), scores and labels, as numpy arrays."""
        return [{k: v.float().cpu().numpy() if k != "labels" else v.cpu().numpy() for k, v in d.items()}
                for batch in outputs_in_batches(model, images, self.params.eval_batch_size) for d in batch]

    def score(self, model: nn.Module, images: np.ndarray, targets: list[np.ndarray]) -> dict[str, float]:
        num_classes = model.head.classification_head.num_classes  # counts the background
        truth = coco_ground_truth(targets, tuple(images.shape[1:3]), num_classes)
        scores = coco_map(truth, coco_results(self.predict(model, images)))
        return {"error": 1.0 - scores["map"], **scores}
