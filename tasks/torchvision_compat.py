"""Import torchvision on a CPU-only torch whose wheel lacks torchvision's compiled ops.

PyPI's torchvision build carries CUDA ops that do not load on the CPU torch wheel, and importing it then fails
with ``operator torchvision::nms does not exist``. When (and only when) the compiled ops cannot be loaded, this
defines ``torchvision::nms`` and ``torchvision::qnms`` in pure PyTorch before torchvision is imported.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import torch


def nms_reference(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression: indices of kept boxes (x1, y1, x2, y2), by decreasing score."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    order = scores.argsort(descending=True, stable=True)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool, device=boxes.device)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        w = (torch.minimum(x2[i], x2) - torch.maximum(x1[i], x1)).clamp(min=0)
        h = (torch.minimum(y2[i], y2) - torch.maximum(y1[i], y1)).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas - inter).clamp(min=torch.finfo(boxes.dtype).tiny)
        suppressed |= iou > iou_threshold
    return torch.tensor(keep, dtype=torch.int64, device=boxes.device)


def _compiled_ops_load() -> bool:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    for location in spec.submodule_search_locations:
        for library in Path(location).glob("_C*.so"):
            try:
                torch.ops.load_library(str(library))
                return True
            except (OSError, RuntimeError):
                return False
    return False


_LIBRARY = None


@functools.cache
def ensure_torchvision_ops() -> bool:
    """Register the fallback ops if needed; returns True when the fallback is in use."""
    global _LIBRARY
    if _compiled_ops_load():
        return False
    _LIBRARY = torch.library.Library("torchvision", "DEF")
    _LIBRARY.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    for op in ("nms", "qnms"):
        _LIBRARY.impl(op, lambda dets, scores, thr: nms_reference(dets.float(), scores.float(), thr),
                      "CompositeExplicitAutograd")
    return True


def import_torchvision():
    ensure_torchvision_ops()
    import torchvision

    return torchvision
