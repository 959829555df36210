"""Import torchvision on a CPU-only torch whose wheel lacks torchvision's compiled ops.

PyPI's torchvision build carries CUDA ops that do not load on the CPU torch wheel, and importing it then fails
with ``operator torchvision::nms does not exist``. When (and only when) the compiled ops cannot be loaded, this
defines ``torchvision::nms`` and ``torchvision::qnms`` in pure PyTorch before torchvision is imported, and lets
``torchvision.ops.nms``/``batched_nms`` (used by the detection models) call them.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import torch


def nms_reference(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression: indices of kept boxes (x1, y1, x2, y2), by decreasing score. The pairwise
    IoUs are computed at once; only the greedy pass over them is a Python loop."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    order = scores.argsort(descending=True, stable=True)
    x1, y1, x2, y2 = boxes[order].unbind(1)
    areas = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    w = (torch.minimum(x2[:, None], x2) - torch.maximum(x1[:, None], x1)).clamp(min=0)
    h = (torch.minimum(y2[:, None], y2) - torch.maximum(y1[:, None], y1)).clamp(min=0)
    inter = w * h
    overlaps = (inter / (areas[:, None] + areas - inter).clamp(min=torch.finfo(boxes.dtype).tiny) > iou_threshold)
    overlaps = overlaps.cpu().numpy()
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if not suppressed[i]:
            keep.append(i)
            suppressed |= overlaps[i]
    return order[torch.tensor(keep, dtype=torch.int64, device=boxes.device)]


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
    import torchvision.ops.boxes

    # torchvision.ops.nms asserts that the compiled library loaded before calling the op; the op it calls is
    # now defined, so let boxes.py (nms, batched_nms) through. Other compiled ops still fail with their own error.
    torchvision.ops.boxes._assert_has_ops = lambda: None
    return True


def import_torchvision():
    ensure_torchvision_ops()
    import torchvision

    return torchvision
