"""Coresets: a few real training images per class, kept as they are.

- ``random``: a seeded uniform draw within each class, the baseline every reducer must beat;
- ``herding``: Welling's herding (as in iCaRL and the dataset-condensation literature) in the feature space of a
  ConvNet of the benchmark's task trained briefly on the whole training set: greedily add the image that keeps
  the chosen images' mean feature closest to the class mean.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from storagebench.compressors.reducer import (DatasetReducer, Network, ReducedSet, check_per_class, class_labels,
                                              class_members, random_real)
from storagebench.compressors.registry import REDUCERS


@dataclass(frozen=True)
class RandomParams:
    pass


@REDUCERS.register("random")
class RandomSubset(DatasetReducer):
    """A seeded random draw of real images, the same number from each class."""

    Params = RandomParams

    def reduce(self, images: np.ndarray, labels: np.ndarray, per_class: int, seed: int,
               network: Network) -> ReducedSet:
        indices, chosen_labels = random_real(images, class_members(labels), per_class, np.random.default_rng(seed))
        return ReducedSet(images[indices], chosen_labels, info={"chosen": len(indices)})


@dataclass(frozen=True)
class HerdingParams:
    feature_epochs: float = 1.0  # passes over the training set that train the feature ConvNet
    batch_size: int = 256
    lr: float = 0.01
    momentum: float = 0.9

    def check(self) -> str | None:
        if self.feature_epochs <= 0 or self.batch_size < 1 or self.lr <= 0:
            return "feature_epochs and lr must be > 0, batch_size ≥ 1"
        return None


def train_features(model: nn.Module, x: torch.Tensor, labels: np.ndarray, p: HerdingParams, seed: int) -> nn.Module:
    """Plain SGD on cross-entropy over shuffled mini-batches of the whole set, for ``p.feature_epochs`` passes."""
    y = torch.from_numpy(labels.astype(np.int64))
    optimizer = torch.optim.SGD(model.parameters(), lr=p.lr, momentum=p.momentum)
    generator = torch.Generator().manual_seed(seed)
    steps = max(1, int(round(p.feature_epochs * len(x) / p.batch_size)))
    order = torch.cat([torch.randperm(len(x), generator=generator)
                       for _ in range(int(np.ceil(steps * p.batch_size / len(x))))])
    model.train()
    for step in range(steps):
        idx = order[step * p.batch_size:(step + 1) * p.batch_size]
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model


def embed_all(model: nn.Module, x: torch.Tensor, batch: int = 1000) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        return torch.cat([model.embed(x[i:i + batch]).flatten(1) for i in range(0, len(x), batch)]).numpy()


def herd(features: np.ndarray, count: int) -> np.ndarray:
    """Positions of ``count`` rows chosen greedily so that the running mean of the chosen (L2-normalised) features
    stays closest to the mean of all of them; no row twice."""
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    target, total, chosen = f.mean(0), np.zeros(f.shape[1]), []
    available = np.ones(len(f), dtype=bool)
    for k in range(1, count + 1):
        distance = np.linalg.norm(target - (total + f) / k, axis=1)
        distance[~available] = np.inf
        best = int(np.argmin(distance))
        chosen.append(best)
        available[best] = False
        total += f[best]
    return np.array(chosen, dtype=np.int64)


@REDUCERS.register("herding")
class Herding(DatasetReducer):
    """Herding in the features of a briefly trained ConvNet (the benchmark's task model), per class."""

    Params = HerdingParams

    def reduce(self, images: np.ndarray, labels: np.ndarray, per_class: int, seed: int,
               network: Network) -> ReducedSet:
        members = class_members(labels)
        check_per_class(members, per_class)
        torch.manual_seed(seed)
        x = network.to_input(images)
        features = embed_all(train_features(network.build(seed), x, labels, self.params, seed), x)
        indices = np.concatenate([m[herd(features[m], per_class)] for m in members.values()])
        return ReducedSet(images[indices], class_labels(members, per_class), info={"feature_dim": features.shape[1]})
