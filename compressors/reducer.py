"""The dataset-reducer protocol: a whole training set and a number of images per class to a small set of images
(real ones: a coreset; learned ones: a distilled set), plus anything else a learner must be given (learned step
sizes, the seed of a fixed network initialisation). The harness stores all of it as real bytes and counts them.

A reducer never imports the task: the harness hands it a ``Network`` (fresh models of the benchmark's task and the
pixel scaling those models read), so data still flows dataset → compressor → task.
"""
from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Network:
    """What a reducer may use of the benchmark's task. ``build(seed)`` gives a fresh model (seeded init) with
    ``model(x)`` → logits and ``model.embed(x)`` → features; ``to_input`` maps uint8 images to what models read;
    ``identity`` names the task (it keys cached reduced sets)."""

    build: Callable[[int], nn.Module]
    to_input: Callable[[np.ndarray], torch.Tensor]
    identity: dict[str, Any]

    def pixel_bounds(self) -> tuple[float, float]:
        """The model-input values of pixel 0 and pixel 255 (``to_input`` is affine per pixel)."""
        ends = self.to_input(np.array([[[0]], [[255]]], dtype=np.uint8)).flatten()
        return float(ends[0]), float(ends[-1])

    def to_pixels(self, x: torch.Tensor) -> np.ndarray:
        """Model inputs (N×C×H×W) → uint8 images (N×H×W or N×H×W×C), rounded to the nearest pixel value."""
        low, high = self.pixel_bounds()
        pixels = ((x.detach() - low) * (255.0 / (high - low))).round().clamp(0, 255).to(torch.uint8)
        pixels = pixels.permute(0, 2, 3, 1)
        return (pixels[..., 0] if pixels.shape[-1] == 1 else pixels).numpy()

    def quantised(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` clamped to the pixel range and rounded to the uint8 grid in the forward pass, gradients passed
        straight through: what a learned set is trained as is what it will be stored as."""
        low, high = self.pixel_bounds()
        step = (high - low) / 255.0
        clamped = x.clamp(low, high)
        return clamped + (((clamped - low) / step).round() * step + low - clamped).detach()


    def descend(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, pixels: torch.Tensor) -> float:
        """One optimizer step on ``loss``, then the learned ``pixels`` clamped back into the pixel range; the loss."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            pixels.clamp_(*self.pixel_bounds())
        return loss.item()


@dataclass
class ReducedSet:
    """A reduced training set. ``images``: uint8 N×H×W[×C]; ``labels``: int64 N; ``step_sizes``: float32 learning
    rates the set was learned for (its own protocol), or None; ``init_seed``: the seed of the one network
    initialisation the set was learned for (fixed-init distillation), or None. ``info``: numbers worth recording
    (iterations, final loss); never used to train."""

    images: np.ndarray
    labels: np.ndarray
    step_sizes: np.ndarray | None = None
    init_seed: int | None = None
    info: dict[str, float] = field(default_factory=dict)


class DatasetReducer(abc.ABC):
    """Subclasses set ``Params`` (a dataclass of the ``[[reducer]]`` keys), ``version`` (bump when the output
    changes) and ``synthetic`` (whether it learns pixels rather than choosing real images)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    Params: ClassVar[type]
    synthetic: ClassVar[bool] = False

    def __init__(self, params: Any):
        self.params = params

    @abc.abstractmethod
    def reduce(self, images: np.ndarray, labels: np.ndarray, per_class: int, seed: int,
               network: Network) -> ReducedSet:
        """``per_class`` images of each class in ``labels`` (sorted by class), seeded by ``seed``."""

    def own_protocol(self, reduced: ReducedSet, network: Network, seed: int) -> nn.Module | None:
        """A model trained the way this reducer's sets are meant to be used (e.g. distillation's learned step
        sizes from its fixed initialisation), from the stored set only; None when the reducer has no protocol of
        its own and the benchmark's recipe is the only one."""
        return None

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "params": asdict(self.params)}

    def library_versions(self) -> dict[str, str]:
        return {"torch": torch.__version__}


def class_members(labels: np.ndarray) -> dict[int, np.ndarray]:
    """Indices of each class, in index order."""
    return {int(c): np.flatnonzero(labels == c) for c in np.unique(labels)}


def check_per_class(members: dict[int, np.ndarray], per_class: int) -> None:
    short = {c: len(m) for c, m in members.items() if len(m) < per_class}
    if short:
        raise ValueError(f"{per_class} images per class requested, but class(es) {sorted(short)} have only "
                         f"{min(short.values())}")


def random_real(images: np.ndarray, members: dict[int, np.ndarray], per_class: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` distinct real images of each class drawn by ``rng``: (indices, labels), grouped by class."""
    check_per_class(members, per_class)
    chosen = [np.sort(rng.choice(m, size=per_class, replace=False)) for m in members.values()]
    return np.concatenate(chosen), class_labels(members, per_class)


def class_labels(members: dict[int, np.ndarray], per_class: int) -> np.ndarray:
    return np.repeat(np.array(list(members), dtype=np.int64), per_class)
