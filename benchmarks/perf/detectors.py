"""Which torchvision detector fits CPU training on 64×64 scenes: milliseconds per training step (batch 16, one
thread, as each runner worker has) for the task's own models and torchvision's stock small detectors.

    python benchmarks/perf/detectors.py [--steps 10] [--size 64]

Prints ms/step and each model's ratio to the task's default (FCOS on the small backbone).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from storagebench.tasks import TASKS
from storagebench.tasks.detection import _target_dicts
from storagebench.tasks.detectors import SmallBackbone
from storagebench.tasks.fashion_scenes import compose_scene
from storagebench.tasks.training import to_tensor
from storagebench.torchvision_compat import import_torchvision


def scenes(count: int, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    items = np.zeros((10, 28, 28), np.uint8)
    items[:, 4:24, 6:22] = rng.integers(60, 255, (10, 20, 16))
    images, boxes = [], []
    for _ in range(count):
        image, _, image_boxes = compose_scene(rng, items, np.arange(10), (size, size), 4)
        images.append(image)
        boxes.append(np.array(image_boxes, np.float32).reshape(-1, 5))
    return np.stack(images), boxes


def retinanet(num_classes: int, size: int) -> torch.nn.Module:
    detection = import_torchvision().models.detection
    anchors = detection.anchor_utils.AnchorGenerator(((16, 24), (32, 48)), ((0.5, 1.0, 2.0),) * 2)
    return detection.RetinaNet(SmallBackbone(1, 16, 64), num_classes, anchor_generator=anchors, min_size=size,
                               max_size=size, image_mean=[0.0], image_std=[1.0])


def stock(name: str, num_classes: int, size: int) -> torch.nn.Module:
    detection = import_torchvision().models.detection
    build = {"ssdlite-mobilenetv3": detection.ssdlite320_mobilenet_v3_large,
             "fasterrcnn-mobilenetv3-320": detection.fasterrcnn_mobilenet_v3_large_320_fpn}[name]
    kwargs = {"min_size": size, "max_size": size} if "fasterrcnn" in name else {}
    return build(weights=None, weights_backbone=None, num_classes=num_classes, **kwargs)


def time_steps(model: torch.nn.Module, images: list, targets: list, steps: int, batch: int) -> float:
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    model.train()
    for step in range(steps + 2):  # two warm-up steps
        if step == 2:
            start = time.perf_counter()
        idx = [(step * batch + k) % len(images) for k in range(batch)]
        loss = sum(model([images[i] for i in idx], [targets[i] for i in idx]).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gray, boxes = scenes(4 * args.batch, args.size)
    targets = _target_dicts(boxes)
    hw = (args.size, args.size)
    candidates = {"fcos small (the task's default)": lambda: TASKS.create("detection", {}, "").build(1, 11, hw),
                  "fcos small, torchvision's head": lambda: TASKS.create(
                      "detection", {"fpn_channels": 64, "head_convs": 4}, "").build(1, 11, hw),
                  "retinanet small": lambda: retinanet(11, args.size)}
    candidates |= {name: lambda name=name: stock(name, 11, args.size)
                   for name in ("ssdlite-mobilenetv3", "fasterrcnn-mobilenetv3-320")}
    baseline = None
    for name, build in candidates.items():
        stock_model = name in ("ssdlite-mobilenetv3", "fasterrcnn-mobilenetv3-320")  # they take RGB
        images = list(to_tensor(np.repeat(gray[..., None], 3, axis=-1) if stock_model else gray))
        ms = time_steps(build(), images, targets, args.steps, args.batch)
        baseline = baseline or ms
        print(f"{name:34s} {ms:8.1f} ms/step  ×{ms / baseline:5.2f}", flush=True)


if __name__ == "__main__":
    main()
