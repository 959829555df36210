"""Image classification with a ConvNet-D family model (or a torchvision ResNet, the paper's Food101 model) and a
fixed, declared recipe; error = 1 − top-1."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from storagebench.tasks.registry import TASKS
from storagebench.tasks.training import RecipeParams, RecipeTask, predict_batches


MODELS = ("convnet", "resnet18", "resnet50")


@dataclass(frozen=True)
class ClassificationParams(RecipeParams):
    # ConvNet-D as in the dataset-distillation literature: D × [conv3×3(width) → norm → ReLU → avgpool2];
    # or a torchvision ResNet ("resnet18", "resnet50"), from scratch or from ImageNet weights with a new fc
    model: str = "convnet"
    weights: str = "none"  # "DEFAULT": torchvision's ImageNet weights (downloaded; needs internet the first time)
    depth: int = 3
    width: int = 16
    norm: str = "instance"
    # The training recipe, declared in the benchmark file and recorded with every result.
    epochs: int = 8
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05
    weight_decay: float = 5e-4
    eval_batch_size: int = 500

    model_checks = ((lambda p: p.model in MODELS, f"model must be one of {', '.join(MODELS)}"),
                    (lambda p: p.weights in ("none", "DEFAULT"), "weights must be 'none' or 'DEFAULT'"),
                    (lambda p: p.weights == "none" or p.model != "convnet", "ConvNet has no pretrained weights"),
                    (lambda p: p.depth >= 1, "depth must be ≥ 1"), (lambda p: p.width >= 1, "width must be ≥ 1"),
                    (lambda p: p.norm in ("instance", "batch", "none"), "norm must be 'instance', 'batch' or 'none'"))


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

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The features the classifier reads (what distribution matching and herding compare)."""
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


@TASKS.register("classification")
class Classification(RecipeTask):
    """Image classification with a ConvNet-D and a declared SGD/Adam recipe."""

    Params = ClassificationParams
    metric = "top-1 accuracy"

    def fetch_weights(self) -> None:
        if self.params.weights == "DEFAULT":
            from storagebench.tasks.pretrained import imagenet_weights

            imagenet_weights(self.params.model)

    def build(self, in_channels: int, num_classes: int, image_hw: tuple[int, int]) -> nn.Module:
        if self.params.model == "convnet":
            return ConvNet(in_channels, num_classes, image_hw, self.params)
        from storagebench.tasks.pretrained import torchvision_classifier

        return torchvision_classifier(self.params.model, self.params.weights, in_channels, num_classes)

    def predict(self, model: nn.Module, images: np.ndarray) -> np.ndarray:
        return predict_batches(model, images, self.params.eval_batch_size)

    def metrics(self, model: nn.Module, predicted: np.ndarray, targets: np.ndarray,
                hw: tuple[int, int]) -> dict[str, float]:
        accuracy = float((predicted == targets).mean())
        return {"error": 1.0 - accuracy, "accuracy": accuracy}
