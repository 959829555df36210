"""Import torchvision on a CPU-only torch whose wheel lacks torchvision's compiled ops.

PyPI's torchvision build carries CUDA ops that do not load on the CPU torch wheel, and importing it then fails
with ``operator torchvision::nms does not exist``. When (and only when) the compiled ops cannot be loaded, this
defines ``torchvision::nms`` and ``torchvision::qnms`` in pure PyTorch before torchvision is imported, and lets
``torchvision.ops.nms``/``batched_nms`` (used by the detection models) call them. ``roi_align`` (Faster/Mask
R-CNN's pooling) then runs ``roi_align_reference`` below: torchvision's own pure-PyTorch fallback is ``torch.compile``d,
which needs a C++ toolchain and costs about a minute on CPU for every new input shape, and run eagerly it takes ~20 s
per Mask R-CNN step on four 64² images (it gathers four corners per sample into one huge tensor).
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


def _sample_positions(start: torch.Tensor, length: torch.Tensor, bins: int, ratio: int,
                      device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Per roi, the sample coordinates along one axis (K × bins·G, G = the largest grid) and which of them count
    (K × bins·G): ``ratio`` > 0 samples each bin ``ratio`` times, else ceil(length / bins) times, as the kernel."""
    grid = torch.full_like(length, ratio) if ratio > 0 else torch.ceil(length / bins)
    most = max(int(grid.max().item()) if len(grid) else 1, 1)
    k = torch.arange(bins * most, device=device)
    offset = (k // most).to(length.dtype)[None] + ((k % most).to(length.dtype)[None] + 0.5) / grid.clamp(min=1)[:, None]
    return start[:, None] + (length / bins)[:, None] * offset, (k % most)[None] < grid[:, None]


def roi_align_reference(input: torch.Tensor, rois: torch.Tensor, spatial_scale: float, pooled_height: int,
                        pooled_width: int, sampling_ratio: int, aligned: bool) -> torch.Tensor:
    """torchvision's ``roi_align`` (rois K×5: batch index, x1, y1, x2, y2) by ``grid_sample``, as its C++ kernel
    computes it: each bin averages a grid of bilinear samples (``sampling_ratio``², or adaptive when ≤ 0); a sample
    more than one pixel outside the map counts as 0, one within a pixel takes the border's value. Differentiable."""
    n, c, h, w = input.shape
    if not len(rois):
        return input.new_zeros(0, c, pooled_height, pooled_width)
    x1, y1, x2, y2 = (rois[:, 1:].to(input.dtype) * spatial_scale - (0.5 if aligned else 0.0)).unbind(1)
    rw, rh = x2 - x1, y2 - y1
    if not aligned:
        rw, rh = rw.clamp(min=1.0), rh.clamp(min=1.0)
    ys, y_used = _sample_positions(y1, rh, pooled_height, sampling_ratio, input.device)  # K × PH·Gy
    xs, x_used = _sample_positions(x1, rw, pooled_width, sampling_ratio, input.device)  # K × PW·Gx
    weight = ((y_used & (ys >= -1) & (ys <= h))[:, :, None] & (x_used & (xs >= -1) & (xs <= w))[:, None, :])
    grid = torch.stack(torch.broadcast_tensors((2 * xs[:, None, :] + 1) / w - 1, (2 * ys[:, :, None] + 1) / h - 1),
                       dim=-1)  # K × PH·Gy × PW·Gx × 2: grid_sample's (x, y) in [-1, 1], pixel centres
    gy, gx = grid.shape[1] // pooled_height, grid.shape[2] // pooled_width
    count = (y_used.sum(1) // pooled_height * (x_used.sum(1) // pooled_width)).clamp(min=1).to(input.dtype)
    weight = weight.to(input.dtype) / count[:, None, None]
    batch, parts, order = rois[:, 0].long(), [], []
    for b in batch.unique().tolist():  # one grid_sample per image over all of its rois' samples
        pick = torch.nonzero(batch == b).flatten()
        sampled = torch.nn.functional.grid_sample(
            input[b:b + 1], grid[pick].reshape(1, -1, grid.shape[2], 2), mode="bilinear", padding_mode="border",
            align_corners=False).reshape(c, len(pick), *grid.shape[1:3]).transpose(0, 1)  # k × C × PH·Gy × PW·Gx
        parts.append((sampled * weight[pick, None]).reshape(
            len(pick), c, pooled_height, gy, pooled_width, gx).sum((3, 5)))
        order.append(pick)
    return torch.cat(parts)[torch.argsort(torch.cat(order))]


_TORCHVISION_ROI_ALIGN = None
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
    global _TORCHVISION_ROI_ALIGN
    roi_align = importlib.import_module("torchvision.ops.roi_align")  # the package's own name is the function
    _TORCHVISION_ROI_ALIGN = getattr(roi_align._roi_align, "__wrapped__", roi_align._roi_align)  # eager
    roi_align._roi_align = roi_align_reference
    return True


def import_torchvision():
    ensure_torchvision_ops()
    import torchvision

    return torchvision
