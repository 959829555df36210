"""Image classification with a ConvNet-D family model and a fixed, declared recipe; error = 1 − top-1."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from storagebench.tasks.registry import TASKS
from storagebench.tasks.task import Task


@dataclass(frozen=True)
class ClassificationParams:
    # ConvNet-D as in the dataset-distillation literature: D × [conv3×3(width) → norm → ReLU → avgpool2].
    depth: int = 3
    width: int = 16
    norm: str = "instance"
    # The training recipe, declared in the benchmark file and recorded with every result.
    epochs: int = 8
    min_steps: int = 0
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    eval_batch_size: int = 500

    def check(self) -> str | None:
        checks = [(self.depth >= 1, "depth must be ≥ 1"), (self.width >= 1, "width must be ≥ 1"),
                  (self.norm in ("instance", "batch", "none"), "norm must be 'instance', 'batch' or 'none'"),
                  (self.epochs >= 1, "epochs must be ≥ 1"), (self.batch_size >= 1, "batch_size must be ≥ 1"),
                  (self.optimizer in ("sgd", "adam"), "optimizer must be 'sgd' or 'adam'"),
                  (self.lr > 0, "lr must be > 0"), (self.schedule in ("cosine", "constant"),
                                                     "schedule must be 'cosine' or 'constant'")]
        return next((message for ok, message in checks if not ok), None)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.GroupNorm(channels, channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class ConvNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, image_hw: tuple[int, int], p: ClassificationParams):
        super().__init__()
        layers: list[nn.Module] = []
        channels, (h, w) = in_channels, image_hw
        for _ in range(p.depth):
            layers += [nn.Conv2d(channels, p.width, 3, padding=1), _norm(p.norm, p.width), nn.ReLU(inplace=True)]
            if min(h, w) >= 2:
                layers.append(nn.AvgPool2d(2))
                h, w = h // 2, w // 2
            channels = p.width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels * h * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 N×H×W[×C] → float N×C×H×W in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images))
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.float().div_(127.5).sub_(1.0).contiguous()


@TASKS.register("classification")
class Classification(Task):
    """Image classification with a ConvNet-D and a declared SGD/Adam recipe."""

    Params = ClassificationParams
    metric = "top-1 accuracy"

    def steps_for(self, n: int) -> int:
        p = self.params
        return max(math.ceil(p.epochs * n / min(p.batch_size, n)), p.min_steps)

    def _optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        p = self.params
        if p.optimizer == "adam":
            return torch.optim.Adam(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        return torch.optim.SGD(model.parameters(), lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay)

    def train(self, images: np.ndarray, labels: np.ndarray, num_classes: int, seed: int) -> nn.Module:
        p = self.params
        torch.manual_seed(seed)
        x, y = to_tensor(images), torch.from_numpy(labels.astype(np.int64))
        model = ConvNet(x.shape[1], num_classes, (x.shape[2], x.shape[3]), p)
        optimizer = self._optimizer(model)
        steps, batch = self.steps_for(len(x)), min(p.batch_size, len(x))
        schedule = (lambda s: 0.5 * (1 + math.cos(math.pi * s / steps))) if p.schedule == "cosine" else (lambda s: 1.0)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        generator = torch.Generator().manual_seed(seed)
        order, cursor = torch.randperm(len(x), generator=generator), 0
        model.train()
        for _ in range(steps):
            if cursor + batch > len(x):
                order, cursor = torch.randperm(len(x), generator=generator), 0
            idx = order[cursor:cursor + batch]
            cursor += batch
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        return model

    def evaluate(self, model: nn.Module, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        model.eval()
        correct = 0
        with torch.inference_mode():
            for start in range(0, len(images), self.params.eval_batch_size):
                chunk = slice(start, start + self.params.eval_batch_size)
                predicted = model(to_tensor(images[chunk])).argmax(1).numpy()
                correct += int((predicted == labels[chunk]).sum())
        accuracy = correct / len(images)
        return {"error": 1.0 - accuracy, "accuracy": accuracy}
