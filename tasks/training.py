"""The training loop every task shares: seeded init and batch order, a declared recipe, tensors in memory."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from storagebench.tasks.task import Task


@dataclass(frozen=True)
class Recipe:
    epochs: int
    min_steps: int
    batch_size: int
    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    schedule: str

    def steps_for(self, n: int) -> int:
        return max(math.ceil(self.epochs * n / min(self.batch_size, n)), self.min_steps)


RECIPE_CHECKS = (
    (lambda p: p.epochs >= 1, "epochs must be ≥ 1"), (lambda p: p.batch_size >= 1, "batch_size must be ≥ 1"),
    (lambda p: p.optimizer in ("sgd", "adam"), "optimizer must be 'sgd' or 'adam'"), (lambda p: p.lr > 0, "lr must be > 0"),
    (lambda p: p.schedule in ("cosine", "constant"), "schedule must be 'cosine' or 'constant'"),
)


def recipe_of(params: object) -> Recipe:
    return Recipe(**{name: getattr(params, name) for name in Recipe.__dataclass_fields__})


class RecipeTask(Task):
    """A task trained by ``fit_model`` with the recipe keys of its ``Params``."""

    def steps_for(self, n: int) -> int:
        return recipe_of(self.params).steps_for(n)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 N×H×W[×C] → float N×C×H×W in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images))
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.float().div_(127.5).sub_(1.0).contiguous()


def fit_model(model: nn.Module, x: torch.Tensor, y: torch.Tensor, recipe: Recipe, seed: int,
              loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> nn.Module:
    """Train ``model`` in place for ``recipe.steps_for(len(x))`` steps of shuffled mini-batches."""
    if recipe.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                    weight_decay=recipe.weight_decay)
    steps, batch = recipe.steps_for(len(x)), min(recipe.batch_size, len(x))
    cosine = recipe.schedule == "cosine"
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)) if cosine else 1.0)
    generator = torch.Generator().manual_seed(seed)
    order, cursor = torch.randperm(len(x), generator=generator), 0
    model.train()
    for _ in range(steps):
        if cursor + batch > len(x):
            order, cursor = torch.randperm(len(x), generator=generator), 0
        idx = order[cursor:cursor + batch]
        cursor += batch
        loss = loss_fn(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    return model


def predict_batches(model: nn.Module, images: np.ndarray, batch_size: int) -> np.ndarray:
    """argmax over the class dimension, in batches, without gradients."""
    model.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            outputs.append(model(to_tensor(images[start:start + batch_size])).argmax(1).numpy())
    return np.concatenate(outputs)
