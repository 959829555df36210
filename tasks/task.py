"""The task protocol: build a model, train it on decoded images, evaluate it into an error in [0, 1]."""
from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np


class Task(abc.ABC):
    """``Params`` is a dataclass of the task's config keys (model and training recipe, the ``[task]`` table)."""

    name: ClassVar[str]
    Params: ClassVar[type]
    metric: ClassVar[str]  # what error = 1 − metric measures, e.g. "top-1 accuracy"

    def __init__(self, params: Any):
        self.params = params

    @abc.abstractmethod
    def steps_for(self, n: int) -> int:
        """Optimizer steps the recipe takes on n training images (recorded with each cell)."""

    def check_images(self, sets: list[tuple[str, Any, Any]]) -> None:
        """Raise StorageBenchError, before any work, when the task cannot take these (split name, images, each
        image's file or ()); by default a task takes images as stored, of one size (``RecipeTask`` declares a
        preprocessing)."""
        from storagebench.tasks.preprocess import PreprocessParams, check_sizes

        check_sizes(PreprocessParams(), sets, self.name)

    def check_targets(self, kind: str) -> None:
        """Raise StorageBenchError, before any work, when the task cannot train on targets of this kind
        (``Targets.kind``: "labels", "masks", "boxes", "instances"). Any by default."""

    def fetch_weights(self) -> None:
        """Download (into their cache) pretrained weights the model starts from, before any work: without internet
        this is the one error a run gives. Nothing by default."""

    @abc.abstractmethod
    def train(self, images: np.ndarray, targets: np.ndarray, num_classes: int, seed: int) -> Any:
        """Train a fresh model, seeded by ``seed``, on uint8 images and their targets (``ImageSet.targets``: class
        labels, per-pixel masks, or per-image K×5 box arrays); return the trained model."""

    @abc.abstractmethod
    def evaluate(self, model: Any, images: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        """Return metrics including ``error`` in [0, 1]."""
