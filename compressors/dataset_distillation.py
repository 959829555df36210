"""Dataset Distillation (Wang, Zhu, Torralba & Efros, 2018): learn synthetic images and one learning rate per
gradient step so that a network trained on them by those few steps does well on real data. The training steps
are unrolled and differentiated through (second-order gradients).

- ``init = "fixed"``: one network initialisation, drawn from ``init_seed``, is used throughout; the set is only
  meant for that initialisation, whose seed is stored with it (8 bytes).
- ``init = "random"``: each iteration draws a fresh initialisation, so the set must work for any.

Each step uses one image per class (the set cut into per-class batches, taken in turn), as in the paper. The
set's own protocol (``own_protocol``) trains by exactly those steps from the stored images and step sizes:
the learned rates and the seed are stored and counted. Pixels are trained through rounding to the uint8 grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from storagebench.compressors.reducer import DatasetReducer, Network, ReducedSet, class_labels, class_members
from storagebench.compressors.reducer import check_per_class, random_real
from storagebench.compressors.registry import REDUCERS


@dataclass(frozen=True)
class DatasetDistillationParams:
    init: str = "fixed"  # "fixed": one stored network initialisation; "random": a fresh one every iteration
    steps: int = 10  # unrolled gradient steps (at least; whole passes over the per-class batches), each with its own
    # learned rate: 1 image per class → 10 steps on those 10 images; 10 per class → 10 steps on 10 different batches
    iterations: int = 400
    real_batch: int = 512  # real images the unrolled model is scored on per iteration
    lr_images: float = 0.01  # Adam on the pixels (model input scale)
    lr_step_sizes: float = 0.01  # Adam on the log step sizes
    initial_step_size: float = 0.02
    start: str = "noise"  # "noise" (as the paper) or "real" (random real images)

    def check(self) -> str | None:
        if self.init not in ("fixed", "random"):
            return f"init must be 'fixed' or 'random', got {self.init!r}"
        if self.start not in ("noise", "real"):
            return f"start must be 'noise' or 'real', got {self.start!r}"
        if min(self.steps, self.iterations, self.real_batch) < 1 or min(self.lr_images, self.lr_step_sizes,
                                                                         self.initial_step_size) <= 0:
            return "steps, iterations and real_batch must be ≥ 1; learning rates > 0"
        return None


def step_batches(count: int, per_class: int, steps: int) -> list[torch.Tensor]:
    """The synthetic images each gradient step uses: the set (grouped by class) is cut into ``per_class`` batches of
    one image per class, taken in turn for at least ``steps`` steps and whole passes (every image is used)."""
    classes = count // per_class
    batches = [torch.arange(classes) * per_class + b for b in range(per_class)]
    return batches * math.ceil(steps / per_class)


def unrolled(model: nn.Module, start: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, per_class: int,
             step_sizes: torch.Tensor, differentiable: bool) -> dict[str, torch.Tensor]:
    """The parameters after one gradient step per step size, each on its batch of (x, y) (``step_batches``), from
    ``start``; with ``differentiable`` the result stays a function of x and the step sizes (create_graph)."""
    params = dict(start)
    for step_size, batch in zip(step_sizes, step_batches(len(x), per_class, len(step_sizes))):
        loss = F.cross_entropy(functional_call(model, params, (x[batch],)), y[batch])
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=differentiable)
        params = {name: value - step_size * g for (name, value), g in zip(params.items(), grads)}
    return params


def trainable(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's parameters as fresh leaf tensors to differentiate through."""
    return {name: value.detach().clone().requires_grad_(True) for name, value in model.named_parameters()}


@REDUCERS.register("dd")
class DatasetDistillation(DatasetReducer):
    """Wang et al.'s dataset distillation: synthetic images + learned step sizes, fixed or random initialisation."""

    Params = DatasetDistillationParams
    synthetic = True

    def _start(self, images: np.ndarray, labels: np.ndarray, per_class: int, rng: np.random.Generator,
               network: Network) -> torch.Tensor:
        members = class_members(labels)
        if self.params.start == "real":
            return network.to_input(images[random_real(images, members, per_class, rng)[0]])
        check_per_class(members, per_class)
        low, high = network.pixel_bounds()
        shape = (len(members) * per_class, *network.to_input(images[:1]).shape[1:])
        noise = torch.from_numpy(rng.normal(0.0, 0.5, size=shape).astype(np.float32))
        return ((low + high) / 2 + noise * (high - low) / 2).clamp(low, high)

    def reduce(self, images: np.ndarray, labels: np.ndarray, per_class: int, seed: int,
               network: Network) -> ReducedSet:
        p, rng = self.params, np.random.default_rng(seed)
        torch.manual_seed(seed)
        y = torch.from_numpy(class_labels(class_members(labels), per_class))
        syn = self._start(images, labels, per_class, rng, network).requires_grad_(True)
        count = len(step_batches(len(y), per_class, p.steps))
        log_steps = torch.full((count,), math.log(p.initial_step_size), requires_grad=True)
        optimizer = torch.optim.Adam([{"params": [syn], "lr": p.lr_images},
                                      {"params": [log_steps], "lr": p.lr_step_sizes}])
        init_seed = int(rng.integers(2**31))
        model = network.build(init_seed)
        fixed = trainable(model)
        real_y = torch.from_numpy(labels.astype(np.int64))
        loss_value = math.nan
        for _ in range(p.iterations):
            start = fixed if p.init == "fixed" else trainable(network.build(int(rng.integers(2**31))))
            final = unrolled(model, start, network.quantised(syn), y, per_class, log_steps.exp(), differentiable=True)
            batch = rng.choice(len(images), min(p.real_batch, len(images)), replace=False)
            loss = F.cross_entropy(functional_call(model, final, (network.to_input(images[batch]),)), real_y[batch])
            loss_value = network.descend(optimizer, loss, syn)
        step_sizes = log_steps.detach().exp().numpy().astype(np.float32)
        return ReducedSet(network.to_pixels(network.quantised(syn)), y.numpy(), step_sizes=step_sizes,
                          init_seed=init_seed if p.init == "fixed" else None,
                          info={"iterations": p.iterations, "final_real_loss": loss_value})

    def own_protocol(self, reduced: ReducedSet, network: Network, seed: int) -> nn.Module:
        """The stored steps from the stored initialisation (fixed) or from a fresh one seeded by ``seed``."""
        if reduced.step_sizes is None:
            raise ValueError("a distilled set without step sizes has no protocol of its own")
        model = network.build(reduced.init_seed if reduced.init_seed is not None else seed)
        x = network.to_input(reduced.images)
        y = torch.from_numpy(reduced.labels.astype(np.int64))
        per_class = len(y) // len(torch.unique(y))
        final = unrolled(model, trainable(model), x, y, per_class, torch.from_numpy(reduced.step_sizes),
                         differentiable=False)
        with torch.no_grad():
            for name, value in model.named_parameters():
                value.copy_(final[name])
        return model
