"""Object detection, scored as COCO scores it: predictions become COCO results and pycocotools' COCOeval gives
error = 1 − mAP@[.5:.95] (or 1 − APs, the mAP of small objects, as the paper scores iSAID: ``metric = "aps"``), with
AP50, AP75 and APs/APm/APl recorded.

Models (``detectors.py``): FCOS on a small backbone trained from scratch (the default; chosen by measurement,
``benchmarks/perf/detectors.py``: torchvision's stock CPU-sized detectors cost 55–115× more per training step on
64×64 scenes), or the paper's Faster/Mask R-CNN R50-FPN (``model = "mask_rcnn"`` trains its mask head on instance
outlines: a COCO dataset read with ``masks = true``, or iSAID).
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from storagebench.device import current_device
from storagebench.errors import StorageBenchError
from storagebench.images import Images, image_shapes
from storagebench.tasks.coco import indexed_coco
from storagebench.tasks.detectors import DETECTORS
from storagebench.tasks.preprocess import prepare_boxes, prepare_instances
from storagebench.tasks.registry import TASKS
from storagebench.tasks.targets.instances import ObjectInstances, boxes_of, masks_of
from storagebench.tasks.training import (
    RecipeParams,
    RecipeTask,
    outputs_in_batches,
    to_tensor,
)

METRICS = {"map": "COCO mAP@[.5:.95]", "aps": "COCO APs (mAP of objects under 32² pixels)"}


@dataclass(frozen=True)
class DetectionParams(RecipeParams):
    model: str = "fcos"  # or "faster_rcnn", "mask_rcnn": torchvision's R50-FPN R-CNNs (detectors.py)
    weights: str = "none"  # R-CNNs: "DEFAULT" starts the ResNet-50 from torchvision's ImageNet weights
    width: int = 16  # FCOS: backbone channels of the first stage; doubled twice
    fpn_channels: int = 32
    head_convs: int = 2  # conv layers in each FCOS head branch (torchvision's default is 4)
    rois_per_image: int = 512  # R-CNNs: proposals sampled per image to train the box head (torchvision's default)
    epochs: int = 30
    batch_size: int = 16
    lr: float = 2e-3
    fit: str = "pad"  # with a resize: keep the whole image (and every box), padded to a square
    score_thresh: float = 0.05  # COCO practice: keep low-scoring boxes, AP ranks them
    detections_per_img: int = 100
    eval_batch_size: int = 64
    metric: str = "map"  # error = 1 − this COCOeval number: "map" (mAP@[.5:.95]) or "aps" (small objects')

    model_checks = ((lambda p: p.model in DETECTORS, f"model must be one of {', '.join(DETECTORS)}"),
                    (lambda p: p.weights in ("none", "DEFAULT"), "weights must be 'none' or 'DEFAULT'"),
                    (lambda p: p.weights == "none" or p.model != "fcos", "FCOS's small backbone has no pretrained "
                                                                          "weights"),
                    (lambda p: p.width >= 1, "width must be ≥ 1"),
                    (lambda p: p.fpn_channels >= 32 and p.fpn_channels % 32 == 0,
                     "fpn_channels must be a multiple of 32 (the FCOS head norms in 32 groups)"),
                    (lambda p: p.head_convs >= 0, "head_convs must be ≥ 0"),
                    (lambda p: p.rois_per_image >= 1, "rois_per_image must be ≥ 1"),
                    (lambda p: 0 <= p.score_thresh < 1, "score_thresh must be in [0, 1)"),
                    (lambda p: p.metric in METRICS, f"metric must be one of {', '.join(METRICS)}"))


def _target_dicts(targets: list[Any]) -> list[dict[str, Any]]:
    """torchvision's target dicts; instances keep their outlines until ``loss`` knows the images' size."""
    device = current_device()
    out = []
    for target in targets:
        b = boxes_of(target)
        out.append({"boxes": torch.as_tensor(b[:, :4], dtype=torch.float32, device=device).reshape(-1, 4),
                    "labels": torch.as_tensor(b[:, 4], dtype=torch.int64, device=device),
                    **({"instances": target} if isinstance(target, ObjectInstances) else {})})
    return out


def mirrored_target(target: dict[str, Any], width: int) -> dict[str, Any]:
    """One image's target dict as its mirror image (left–right) has it."""
    boxes = target["boxes"].clone()
    boxes[:, [0, 2]] = width - target["boxes"][:, [2, 0]]
    out = {**target, "boxes": boxes}
    instances = target.get("instances")
    if instances is not None:
        def flipped(points: np.ndarray) -> np.ndarray:
            points = points.copy()
            points[0::2] = width - points[0::2]
            return points
        out["instances"] = ObjectInstances(instances.boxes, tuple(tuple(map(flipped, outline))
                                                                  for outline in instances.polygons))
    return out


def _with_masks(target: dict[str, Any], hw: tuple[int, int], wanted: bool) -> dict[str, torch.Tensor]:
    """A target dict as the model takes it: Mask R-CNN's gets its instances' masks at the images' size."""
    instances = target.get("instances")
    target = {k: v for k, v in target.items() if k != "instances"}
    if wanted:
        target["masks"] = torch.from_numpy(masks_of(instances, hw)).to(target["boxes"].device)
    return target


def coco_ground_truth(targets: list[Any], image_hw: tuple[int, int], num_classes: int) -> dict:
    """COCO JSON for per-image targets (K×5 boxes x0, y0, x1, y1, class, or instances); image ids are 1 + the index.
    An object's area (what COCOeval's small/medium/large ranges read) is its outline's where it has one, else its
    box's."""
    annotations = []
    for i, target in enumerate(targets):
        boxes = boxes_of(target)
        areas = target.areas() if isinstance(target, ObjectInstances) else \
            (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        for (x0, y0, x1, y1, c), area in zip(boxes.tolist(), np.asarray(areas, dtype=np.float64).tolist()):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(c),
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": area, "iscrowd": 0})
    return {"images": [{"id": i + 1, "width": image_hw[1], "height": image_hw[0]} for i in range(len(targets))],
            "annotations": annotations,
            "categories": [{"id": c, "name": str(c)} for c in range(1, num_classes)]}


def coco_results(detections: list[dict[str, np.ndarray]]) -> list[dict]:
    """Per-image {boxes (xyxy), scores, labels} → COCO results JSON entries (image ids 1 + the index)."""
    return [{"image_id": i + 1, "category_id": int(label), "score": float(score),
             "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]}
            for i, d in enumerate(detections) for (x0, y0, x1, y1), score, label in
            zip(d["boxes"], d["scores"], d["labels"])]


SIZES = {"aps": (0, 32 ** 2), "apm": (32 ** 2, 96 ** 2), "apl": (96 ** 2, float("inf"))}  # COCOeval's ranges


def coco_map(ground_truth: dict, results: list[dict]) -> dict[str, float]:
    """pycocotools COCOeval (bbox, maxDets 100): mAP@[.5:.95], AP50, AP75, and APs/APm/APl for the object sizes
    the test split has (a size it lacks has no AP: left out). No detections at all score 0."""
    if not ground_truth["annotations"]:
        raise StorageBenchError("detection test split has no boxes: its mAP is undefined")
    areas = [a["area"] for a in ground_truth["annotations"]]
    present = [k for k, (lo, hi) in SIZES.items() if any(lo <= a <= hi for a in areas)]
    if not results:
        return {k: 0.0 for k in ("map", "ap50", "ap75", *present)}
    from pycocotools.cocoeval import COCOeval

    truth = indexed_coco(ground_truth)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress and the summary table
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = dict(zip(("map", "ap50", "ap75", "aps", "apm", "apl"), (float(s) for s in evaluation.stats[:6])))
    # -1 means "no such objects": none at all counts as 0 for the overall numbers
    return {k: max(v, 0.0) for k, v in stats.items() if k in ("map", "ap50", "ap75") or k in present}


@TASKS.register("detection")
class Detection(RecipeTask):
    """Object detection (FCOS on a small backbone, or Faster/Mask R-CNN R50-FPN), scored by COCOeval."""

    Params = DetectionParams
    metric = METRICS["map"]

    def __init__(self, params: DetectionParams):
        super().__init__(params)
        self.metric = METRICS[params.metric]

    def check_targets(self, kind: str) -> None:
        if kind not in ("boxes", "instances"):
            raise StorageBenchError(f"[task]: detection trains on boxes; this dataset gives {kind}")
        if self.params.model == "mask_rcnn" and kind != "instances":
            raise StorageBenchError("[task].model = \"mask_rcnn\" trains on instance outlines; this dataset gives "
                                    "boxes alone (read COCO data with [dataset].masks = true, or use faster_rcnn)")

    def fetch_weights(self) -> None:
        if self.params.weights == "DEFAULT":
            from storagebench.tasks.pretrained import imagenet_weights

            imagenet_weights("resnet50")

    def prepare_targets(self, targets: list[Any], images: Images) -> list[Any]:
        if targets and isinstance(targets[0], ObjectInstances):
            return prepare_instances(targets, image_shapes(images), self.params.preprocess)
        return prepare_boxes(targets, image_shapes(images), self.params.preprocess)

    def build(self, in_channels: int, num_classes: int, image_hw: tuple[int, int]) -> nn.Module:
        model = DETECTORS[self.params.model](self.params, in_channels, num_classes, image_hw)
        model.num_classes = num_classes  # counts the background; the COCO ground truth lists the others
        return model

    def targets_to_device(self, targets: list[Any]) -> list[dict[str, Any]]:
        return _target_dicts(targets)

    def loss(self, model: nn.Module, x: torch.Tensor, y: list[dict[str, Any]]) -> torch.Tensor:
        # In training mode torchvision detectors take a list of images and targets and return their losses.
        masks = self.params.model == "mask_rcnn"
        return sum(model(list(x), [_with_masks(t, tuple(x.shape[-2:]), masks) for t in y]).values())

    def batch_loss(self, model: nn.Module, images: np.ndarray,
                   targets: list[Any]) -> Callable[[torch.Tensor], torch.Tensor]:
        x, y = to_tensor(images), self.targets_to_device(targets)
        return lambda idx: self.train_loss(model, x[idx], [y[i] for i in idx.tolist()])

    def mirror(self, x: torch.Tensor, y: list[dict[str, Any]],
               which: torch.Tensor) -> tuple[torch.Tensor, list[dict[str, Any]]]:
        """Mirrored images with their boxes (x0, x1 → W − x1, W − x0) and outlines (x → W − x)."""
        width = x.shape[-1]
        x, _ = super().mirror(x, y, which)
        return x, [mirrored_target(t, width) if flip else t for t, flip in zip(y, which.tolist())]

    def predict(self, model: nn.Module, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Per image: boxes (x0, y0, x1, y1), scores and labels, as numpy arrays (Mask R-CNN's masks are not
        scored: the paper's metric is the boxes')."""
        return [{k: v.float().cpu().numpy() if k != "labels" else v.cpu().numpy() for k, v in d.items()
                 if k in ("boxes", "scores", "labels")}
                for batch in outputs_in_batches(model, images, self.params.eval_batch_size) for d in batch]

    def metrics(self, model: nn.Module, predictions: list[dict[str, np.ndarray]], targets: list[Any],
                hw: tuple[int, int]) -> dict[str, float]:
        truth = coco_ground_truth(targets, hw, model.num_classes)
        scores = coco_map(truth, coco_results(predictions))
        if self.params.metric not in scores:
            raise StorageBenchError(f"[task].metric = {self.params.metric!r}: the test split has no objects of "
                                    f"that size (COCO's small: area under 32² pixels, after the preprocessing)")
        return {"error": 1.0 - scores[self.params.metric], **scores}
