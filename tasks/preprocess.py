"""A task's declared preprocessing: what brings stored images of any size to one training size, applied to the
decoded images (compression acts on the stored image, before any resize or crop, as the paper does), with masks and
boxes transformed with their image.

``[task]`` keys (``PreprocessParams``):

- ``resize = 0``: images are used at their stored size, which must then be one size for every image; with
  ``crop = C``, the centre C × C of each image (an image smaller than C is an error);
- ``resize = R, fit = "crop"`` (classification, segmentation): scale so the shorter side is R (keeping the aspect),
  then take the centre ``crop`` × ``crop`` (``crop = 0``: R × R). The paper's Food101 path is resize 256, crop 224;
- ``resize = R, fit = "pad"`` (detection): scale so the longer side is R (keeping the aspect), then pad the bottom
  and right to R × R — nothing is cut off, so no box is lost.

Images are resampled by Pillow (bilinear, antialiased when shrinking), masks by nearest neighbour, padding is 0 for
pixels and 255 (ignore) for masks; boxes are scaled, shifted and clipped to the window, and a box left narrower or
shorter than one pixel is dropped. The geometry depends only on each image's size, so every compression level of an
image gets the same transform.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

from storagebench.errors import StorageBenchError
from storagebench.images import Images, describe_sizes, image_shapes, is_lazy, is_ragged
from storagebench.tasks.targets.instances import ObjectInstances

PAD_MASK = 255  # the ignore index: padded pixels are not scored


@dataclass(frozen=True)
class PreprocessParams:
    resize: int = 0
    crop: int = 0
    fit: str = "crop"

    preprocess_checks = ((lambda p: p.resize >= 0, "resize must be ≥ 0 (0: images are used at their stored size)"),
                         (lambda p: p.crop >= 0, "crop must be ≥ 0 (0: the resize)"),
                         (lambda p: p.fit in ("crop", "pad"), "fit must be 'crop' or 'pad'"),
                         (lambda p: not p.resize or p.crop <= p.resize, "crop must be ≤ resize"),
                         (lambda p: not p.crop or p.fit == "crop", "crop is for fit = 'crop'; 'pad' keeps the whole "
                                                                   "image"))

    def check(self) -> str | None:
        return next((message for ok, message in self.preprocess_checks if not ok(self)), None)

    @property
    def output_side(self) -> int:
        return self.crop or self.resize

    @property
    def changes_size(self) -> bool:
        return bool(self.resize or self.crop)


@dataclass(frozen=True)
class Window:
    """One image's transform: resize to ``size`` (h, w), then take the ``side`` × ``side`` window whose top-left is
    at ``(top, left)`` of the resized image (negative offsets never occur; padding fills past its bottom/right)."""

    size: tuple[int, int]
    top: int
    left: int
    side: int


def window_for(hw: tuple[int, int], p: PreprocessParams) -> Window:
    h, w = hw
    side = p.output_side
    if not p.resize:  # a centre crop at the stored size
        return Window((h, w), (h - side) // 2, (w - side) // 2, side)
    if p.fit == "crop":
        scale = p.resize / min(h, w)
        size = (max(side, round(h * scale)), max(side, round(w * scale)))
        return Window(size, (size[0] - side) // 2, (size[1] - side) // 2, side)
    scale = p.resize / max(h, w)
    return Window((min(side, max(1, round(h * scale))), min(side, max(1, round(w * scale)))), 0, 0, side)


def _transform(array: np.ndarray, window: Window, resample: int, fill: int) -> np.ndarray:
    image = Image.fromarray(array)
    if (image.height, image.width) != window.size:
        image = image.resize(window.size[::-1], resample)
    resized = np.asarray(image)
    part = resized[window.top:window.top + window.side, window.left:window.left + window.side]
    if part.shape[:2] == (window.side, window.side):
        return part
    out = np.full((window.side, window.side, *part.shape[2:]), fill, dtype=np.uint8)
    out[:part.shape[0], :part.shape[1]] = part
    return out


def check_sizes(p: PreprocessParams, sets: Iterable[tuple[str, Images, Sequence[str]]], task: str) -> None:
    """Without a resize every image must have one size; an image smaller than the crop is one error naming it
    (``sets``: split name, images, and each image's file where known)."""
    sets = list(sets)
    if not p.changes_size:
        sizes = {tuple(s[:2]) for _, images, _ in sets for s in image_shapes(images).tolist()}
        if len(sizes) > 1:
            described = ", ".join(f"{name} {describe_sizes(images)}" for name, images, _ in sets)
            raise StorageBenchError(f"[task]: the images have {len(sizes)} different sizes ({described}); "
                                    f"{task} trains on one size: declare [task].resize (and crop or fit)")
        return
    if p.resize:
        return  # any image scales to the window
    for name, images, files in sets:
        small = np.flatnonzero(image_shapes(images)[:, :2].min(axis=1) < p.crop)
        if len(small):
            i = int(small[0])
            raise StorageBenchError(f"[task].crop = {p.crop}: {files[i] if files else f'{name} image {i}'} is "
                                    f"{'×'.join(map(str, image_shapes(images)[i, :2]))}, smaller than the crop "
                                    f"({len(small)} such image(s)); declare a resize or a smaller crop")


def prepare_images(images: Images, p: PreprocessParams) -> np.ndarray:
    """The images at the training size, uint8 N×S×S[×C] (unchanged without a resize)."""
    if not p.changes_size:
        if is_lazy(images):  # read on access, checked to be of one size
            return np.stack(list(images)) if len(images) else np.zeros((0, *images.shapes.shape[1:]), np.uint8)
        if is_ragged(images):
            raise StorageBenchError(f"images of different sizes ({describe_sizes(images)}) need [task].resize")
        return images
    out = [_transform(a, window_for(a.shape[:2], p), Image.BILINEAR, 0) for a in images]
    return np.stack(out) if out else np.zeros((0, p.output_side, p.output_side), np.uint8)


def prepare_masks(masks: Images, p: PreprocessParams) -> np.ndarray:
    """Masks transformed with their images (nearest neighbour; padding is the ignore index)."""
    if not p.changes_size:
        return np.stack(list(masks)) if is_lazy(masks) else masks  # masks read on access: read now
    return np.stack([_transform(m, window_for(m.shape[:2], p), Image.NEAREST, PAD_MASK) for m in masks])


def _box_transform(hw: tuple[int, int], p: PreprocessParams) -> tuple[float, float, int, int, int]:
    """(x scale, y scale, left, top, side): image pixels → prepared pixels are x·sx − left, y·sy − top."""
    win = window_for(hw, p)
    return win.size[1] / hw[1], win.size[0] / hw[0], win.left, win.top, win.side


def _moved_boxes(b: np.ndarray, hw: tuple[int, int], p: PreprocessParams) -> tuple[np.ndarray, np.ndarray]:
    """The boxes moved and clipped to the window, and which of them are kept (at least one pixel each way)."""
    sx, sy, left, top, side = _box_transform(hw, p)
    moved = np.asarray(b, dtype=np.float32).reshape(-1, 5).copy()
    moved[:, [0, 2]] = np.clip(moved[:, [0, 2]] * sx - left, 0, side)
    moved[:, [1, 3]] = np.clip(moved[:, [1, 3]] * sy - top, 0, side)
    return moved, (moved[:, 2] - moved[:, 0] >= 1) & (moved[:, 3] - moved[:, 1] >= 1)


def prepare_boxes(boxes: list[np.ndarray], shapes: np.ndarray, p: PreprocessParams) -> list[np.ndarray]:
    """K×5 boxes (x0, y0, x1, y1, class) in each image's own pixels → in the prepared image's pixels, clipped to
    it; boxes left under one pixel wide or high are dropped."""
    if not p.changes_size:
        return boxes
    out = []
    for b, hw in zip(boxes, shapes[:, :2].tolist()):
        moved, keep = _moved_boxes(b, tuple(hw), p)
        out.append(moved[keep])
    return out


def prepare_instances(instances: list[ObjectInstances], shapes: np.ndarray,
                      p: PreprocessParams) -> list[ObjectInstances]:
    """Instances moved with their images: boxes as ``prepare_boxes``, outline points scaled, shifted and clamped
    to the window; an instance whose box is dropped is dropped whole."""
    if not p.changes_size:
        return instances
    out = []
    for image, hw in zip(instances, shapes[:, :2].tolist()):
        sx, sy, left, top, side = _box_transform(tuple(hw), p)
        moved, keep = _moved_boxes(image.boxes, tuple(hw), p)
        scale, shift = np.array([sx, sy], np.float32), np.array([left, top], np.float32)
        outlines = tuple(tuple(np.clip((q.reshape(-1, 2) * scale - shift), 0, side).ravel() for q in outline)
                         for outline, kept in zip(image.polygons, keep) if kept)
        out.append(ObjectInstances(moved[keep], outlines))
    return out


def prepared_hw(images: Images, p: PreprocessParams) -> tuple[int, int]:
    """The (h, w) every prepared image has."""
    if p.changes_size:
        return p.output_side, p.output_side
    shape = image_shapes(images)[0]
    return int(shape[0]), int(shape[1])


def describe(p: PreprocessParams) -> str:
    if not p.changes_size:
        return "images at their stored size"
    if not p.resize:
        return f"centre crop {p.crop}×{p.crop} at the stored size"
    if p.fit == "pad":
        return f"longer side to {p.resize}, padded to {p.resize}×{p.resize}"
    return f"shorter side to {p.resize}, centre crop {p.output_side}×{p.output_side}"
