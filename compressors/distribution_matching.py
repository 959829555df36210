"""Distribution Matching (Zhao & Bilen, WACV 2023): learn synthetic images whose mean embedding, under many
randomly initialised ConvNets, matches the mean embedding of the real images of their class.

Each iteration draws a fresh network (the benchmark's task model, untrained), applies one random differentiable
augmentation with the same parameters to real and synthetic images (the siamese augmentation of DSA, here with
one parameter draw per batch), and takes an SGD step on the synthetic pixels. The pixels are kept inside the uint8
range and trained through rounding to it, so the stored uint8 set is the set that was learned.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from storagebench.compressors.reducer import DatasetReducer, Network, ReducedSet, class_members, random_real
from storagebench.compressors.registry import REDUCERS

AUGMENTATIONS = ("none", "translate", "scale", "flip", "cutout")


@dataclass(frozen=True)
class DistributionMatchingParams:
    iterations: int = 1000
    real_batch: int = 128  # real images per class per iteration
    lr: float = 1.0  # SGD on pixels in the model's input scale, as in the paper
    momentum: float = 0.5
    augment: bool = True

    def check(self) -> str | None:
        if self.iterations < 1 or self.real_batch < 1 or self.lr <= 0:
            return "iterations and real_batch must be ≥ 1, lr > 0"
        return None


def augment(x: torch.Tensor, kind: str, draw: torch.Tensor) -> torch.Tensor:
    """One differentiable augmentation of a batch; ``draw`` (3 numbers in [0, 1)) fixes its parameters, so the
    same ``draw`` augments real and synthetic images alike."""
    if kind == "translate":  # up to 1/8 of the side, zero (pixel-range minimum) padding
        h, w = x.shape[-2:]
        dy, dx = (int(round((float(d) - 0.5) * s / 4)) for d, s in zip(draw[:2], (h, w)))
        padded = F.pad(x, (abs(dx), abs(dx), abs(dy), abs(dy)), value=float(x.detach().min()))
        return padded[..., abs(dy) - dy:abs(dy) - dy + h, abs(dx) - dx:abs(dx) - dx + w]
    if kind == "scale":  # 0.8–1.2 per axis
        sy, sx = (0.8 + 0.4 * float(d) for d in draw[:2])
        theta = torch.tensor([[sx, 0.0, 0.0], [0.0, sy, 0.0]]).expand(len(x), 2, 3)
        return F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)
    if kind == "flip":
        return x.flip(-1) if float(draw[0]) < 0.5 else x
    if kind == "cutout":  # a square of half the side set to zero
        h, w = x.shape[-2:]
        top, left = int(float(draw[0]) * h / 2), int(float(draw[1]) * w / 2)
        mask = torch.ones(h, w)
        mask[top:top + h // 2, left:left + w // 2] = 0
        return x * mask
    return x


@REDUCERS.register("dm")
class DistributionMatching(DatasetReducer):
    """Synthetic images matching real class-mean embeddings under random ConvNets; initialised from real images."""

    Params = DistributionMatchingParams
    synthetic = True

    def reduce(self, images: np.ndarray, labels: np.ndarray, per_class: int, seed: int,
               network: Network) -> ReducedSet:
        p, members = self.params, class_members(labels)
        rng = np.random.default_rng(seed)
        start, syn_labels = random_real(images, members, per_class, rng)
        torch.manual_seed(seed)
        syn = network.to_input(images[start]).requires_grad_(True)
        optimizer = torch.optim.SGD([syn], lr=p.lr, momentum=p.momentum)
        real_index = {c: torch.from_numpy(m) for c, m in members.items()}
        kinds = AUGMENTATIONS[1:] if p.augment else ("none",)
        loss_value = math.nan
        for iteration in range(p.iterations):
            model = network.build(int(rng.integers(2**31)))
            for param in model.parameters():
                param.requires_grad_(False)
            kind, draw = kinds[int(rng.integers(len(kinds)))], torch.from_numpy(rng.random(3))
            loss = syn.new_zeros(())
            for position, (c, index) in enumerate(real_index.items()):
                batch = index[torch.from_numpy(rng.choice(len(index), min(p.real_batch, len(index)), replace=False))]
                with torch.no_grad():
                    real_mean = model.embed(augment(network.to_input(images[batch.numpy()]), kind, draw)).mean(0)
                own = network.quantised(syn[position * per_class:(position + 1) * per_class])
                loss = loss + (real_mean - model.embed(augment(own, kind, draw)).mean(0)).pow(2).sum()
            loss_value = network.descend(optimizer, loss, syn)
        return ReducedSet(network.to_pixels(network.quantised(syn)), syn_labels,
                          info={"iterations": p.iterations, "final_loss": loss_value})
