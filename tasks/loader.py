"""Training on images read on access: a torch DataLoader whose worker processes read each image (``LazyImages``:
for a store entry, its bitstream from the memory-mapped file, then decoded), prepare it and its target as the task
declares, and batch them — in exactly the batches ``fit_model`` would take in memory (the same seeded order), so a
set streamed and the same set in memory train the same model. Nothing holds the whole set; at most
``loader_workers`` × prefetch batches are in flight.
"""
from __future__ import annotations

import multiprocessing
from typing import Any, Callable, Iterator

import numpy as np
import torch

from storagebench.images import LazyImages, as_images
from storagebench.tasks.training import RecipeTask, recipe_batches, to_tensor

PREFETCH = 4  # batches each worker prepares ahead


def one_target(targets: Any, i: int) -> Any:
    """The targets of item ``i`` alone, of the kind ``targets`` is (an array, ragged masks, or a list of boxes)."""
    return [targets[i]] if isinstance(targets, list) else targets[[i]]


class PreparedItems(torch.utils.data.Dataset):
    """Item i: its image read and prepared (uint8, the training size) and its prepared target."""

    def __init__(self, task: RecipeTask, images: LazyImages, targets: Any):
        self.task, self.images, self.targets = task, images, targets

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: Any) -> tuple[np.ndarray, Any]:
        i = int(i)  # the batch sampler's indices are tensor elements
        image, target = self.task.prepare(as_images([self.images[i]]), one_target(self.targets, i))
        return image[0], target[0]


def collate(items: list[tuple[np.ndarray, Any]]) -> tuple[np.ndarray, list[Any]]:
    images, targets = zip(*items)
    return np.stack(images), list(targets)


def _workers(task: RecipeTask) -> int:
    # a cell in a pool's (daemonic) worker process may not start processes of its own: it reads the images itself
    return 0 if multiprocessing.current_process().daemon else task.loader_workers


def prepared_in_chunks(task: RecipeTask, images: LazyImages, targets: Any,
                       chunk: int) -> Iterator[tuple[np.ndarray, Any]]:
    """A set read on access (a test set), read and prepared by loader workers ``chunk`` items at a time, in order:
    (prepared images, their prepared targets as the task scores them: a list, or an array with a row per item)."""
    spans = [range(start, min(start + chunk, len(images))) for start in range(0, len(images), chunk)]
    workers = _workers(task)
    loader = torch.utils.data.DataLoader(PreparedItems(task, images, targets), batch_sampler=spans,
                                         num_workers=workers, collate_fn=collate,
                                         prefetch_factor=1 if workers else None)
    for x, y in loader:
        yield x, (y if isinstance(targets, list) else np.stack(y))


def streamed_batch_loss(task: RecipeTask, model: torch.nn.Module, images: LazyImages, targets: Any,
                        seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """A ``batch_loss`` for ``fit_model`` fed by a DataLoader over the recipe's own batches: the indices it is given
    are the ones the loader's next batch holds."""
    batches = list(recipe_batches(len(images), task.params, seed))
    workers = _workers(task)
    loader = torch.utils.data.DataLoader(
        PreparedItems(task, images, targets), batch_sampler=batches, num_workers=workers, collate_fn=collate,
        prefetch_factor=PREFETCH if workers else None, generator=torch.Generator())  # leaves torch's global RNG
    stream = iter(loader)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        x, y = next(stream)
        return task.train_loss(model, to_tensor(x), task.targets_to_device(y))

    return batch_loss
