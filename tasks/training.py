"""The training loop every task shares: the task's declared preprocessing (``preprocess.py``), seeded init and
batch order, a declared recipe, tensors in memory."""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from storagebench.device import autocast, current_device
from storagebench.errors import StorageBenchError
from storagebench.images import Images, image_channels, is_lazy
from storagebench.tasks.preprocess import PreprocessParams, check_sizes, prepare_images, prepared_hw
from storagebench.tasks.task import Task


class TrainingDiverged(StorageBenchError):
    """A model's training loss became inf or nan: its error would be chance, not a measurement."""


# learning-rate factor at step s of S: cosine to 0, constant, polynomial decay (power 1, as SegFormer's "poly"), or
# ×0.1 after 8/12 and again after 11/12 of the steps (Mask R-CNN's "1x": 12 epochs, steps at 8 and 11)
SCHEDULES: dict[str, Callable[[int, int], float]] = {
    "cosine": lambda s, steps: 0.5 * (1 + math.cos(math.pi * s / steps)),
    "constant": lambda s, steps: 1.0,
    "poly": lambda s, steps: max(0.0, 1 - s / steps),
    "step": lambda s, steps: 0.1 ** ((12 * s >= 8 * steps) + (12 * s >= 11 * steps)),
}
MIRROR_SEED = 7919  # offsets a cell's seed for its flip draws: a stream apart from its batch order's
WARMUP_START = 0.001  # the first warm-up step's fraction of lr (mmdetection's and SegFormer's linear warm-up)
HISTORY_POINTS = 100  # a cell records its loss and learning rate about this many times (for W&B's charts)
EVAL_CHUNK = 256  # test images read, prepared and predicted at a time when a test set is read on access

RECIPE_CHECKS = (
    (lambda p: p.epochs >= 1, "epochs must be ≥ 1"), (lambda p: p.batch_size >= 1, "batch_size must be ≥ 1"),
    (lambda p: p.optimizer in ("sgd", "adam", "adamw"), "optimizer must be 'sgd', 'adam' or 'adamw'"),
    (lambda p: p.lr > 0, "lr must be > 0"), (lambda p: 0 <= p.momentum < 1, "momentum must be in [0, 1)"),
    (lambda p: p.weight_decay >= 0, "weight_decay must be ≥ 0"),
    (lambda p: p.min_steps >= 0, "min_steps must be ≥ 0"), (lambda p: p.steps >= 0, "steps must be ≥ 0"),
    (lambda p: not (p.steps and p.min_steps), "give steps (the same for every n) or min_steps, not both"),
    (lambda p: p.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
    (lambda p: p.warmup_steps >= 0, "warmup_steps must be ≥ 0"),
    (lambda p: p.eval_batch_size >= 1, "eval_batch_size must be ≥ 1"),
)


@dataclass(frozen=True)
class RecipeParams:
    """The training-recipe keys every task's ``[task]`` table has; a task's ``Params`` subclasses this, adds its
    model keys and ``model_checks``, and may change the defaults by redeclaring a key."""

    epochs: int = 10
    min_steps: int = 0
    steps: int = 0  # > 0: every cell trains exactly this many steps whatever its n (epochs is then unused)
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_steps: int = 0  # lr rises linearly from WARMUP_START·lr over these first steps, then follows the schedule
    eval_batch_size: int = 128
    # how stored images of any size become one training size (preprocess.py); 0: as stored, one size for all
    resize: int = 0
    crop: int = 0
    fit: str = "crop"
    flip: bool = False  # training images mirrored left–right, each with probability ½ at each step (seeded)

    model_checks: ClassVar[tuple] = ()  # (predicate on the params, message when it fails)

    def check(self) -> str | None:
        checks = (*self.model_checks, *RECIPE_CHECKS)
        return next((message for ok, message in checks if not ok(self)), None) or self.preprocess.check()

    @property
    def preprocess(self) -> PreprocessParams:
        return PreprocessParams(self.resize, self.crop, self.fit)

    def steps_for(self, n: int) -> int:
        if self.steps:
            return self.steps
        return max(math.ceil(self.epochs * n / min(self.batch_size, n)), self.min_steps)


class RecipeTask(Task):
    """A task trained by ``fit_model`` with the recipe keys of its ``Params`` (a ``RecipeParams``). Subclasses say
    how to ``build`` the model and ``score`` it; the default ``batch_loss`` is cross-entropy of the model's logits
    against integer targets (class labels, or per-pixel classes with ``ignore_index``). Training and evaluation both
    see the images and targets as the declared preprocessing makes them (``prepare_targets`` transforms a task's
    targets with their images)."""

    ignore_index: ClassVar[int] = -100  # torch's default: no target is ignored

    def steps_for(self, n: int) -> int:
        return self.params.steps_for(n)

    @abc.abstractmethod
    def build(self, in_channels: int, num_classes: int, image_hw: tuple[int, int]) -> nn.Module:
        """A fresh, randomly initialised model (seeded by the caller)."""

    loader_workers: int = 2  # processes that read and prepare batches when the images are read on access

    def targets_to_device(self, targets: Any) -> Any:
        """Prepared targets (a whole set, or a batch's as a list) as the loss takes them."""
        return torch.from_numpy(np.asarray(targets, dtype=np.int64)).to(current_device())

    def loss(self, model: nn.Module, x: torch.Tensor, y: Any) -> torch.Tensor:
        """The loss on one batch: float images (``to_tensor``) and their targets (``targets_to_device``)."""
        return nn.functional.cross_entropy(model(x), y, ignore_index=self.ignore_index)

    def batch_loss(self, model: nn.Module, images: np.ndarray, targets: Any) -> Callable[[torch.Tensor], torch.Tensor]:
        """The loss of the batch at some indices of prepared images held in memory."""
        x, y = to_tensor(images), self.targets_to_device(targets)
        return lambda idx: self.train_loss(model, x[idx], y[idx])

    def train_loss(self, model: nn.Module, x: torch.Tensor, y: Any) -> torch.Tensor:
        """``loss`` on a training batch after its augmentation: with ``flip``, the next draws of the cell's own
        generator mirror some of its items (the same draws in memory and streamed: one batch per step, in order)."""
        draws = self.__dict__.get("_mirror_draws")
        if draws is not None:
            x, y = self.mirror(x, y, torch.rand(len(x), generator=draws) < 0.5)
        return self.loss(model, x, y)

    def mirror(self, x: torch.Tensor, y: Any, which: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """The batch with items ``which`` mirrored left–right; a class label does not change (tasks with spatial
        targets mirror them too)."""
        return torch.where(which.to(x.device)[:, None, None, None], x.flip(-1), x), y

    def check_images(self, sets: list[tuple[str, Images, Sequence[str]]]) -> None:
        check_sizes(self.params.preprocess, sets, self.name)

    def prepare_targets(self, targets: Any, images: Images) -> Any:
        """``targets`` of ``images`` (as stored) as they are for the prepared images: class labels do not change."""
        return targets

    def prepare(self, images: Images, targets: Any) -> tuple[np.ndarray, Any]:
        """The images and their targets as the model sees them (``preprocess.py``)."""
        p = self.params.preprocess
        return prepare_images(images, p), self.prepare_targets(targets, images)

    def train(self, images: Images, targets: Any, num_classes: int, seed: int) -> nn.Module:
        """Prepare the images once and train on them in memory; images read on access (``LazyImages``, a set too
        large for memory) are read, prepared and batched by ``loader_workers`` processes instead (``loader.py``),
        in the same batches."""
        torch.manual_seed(seed)
        self._mirror_draws = torch.Generator().manual_seed(MIRROR_SEED + seed) if self.params.flip else None
        hw = prepared_hw(images, self.params.preprocess)
        if is_lazy(images):
            from storagebench.tasks.loader import streamed_batch_loss

            model = self.build(image_channels(images), num_classes, hw).to(current_device())
            return fit_model(model, len(images), self.params, seed,
                             streamed_batch_loss(self, model, images, targets, seed))
        images, targets = self.prepare(images, targets)
        model = self.build(image_channels(images), num_classes, hw).to(current_device())
        return fit_model(model, len(images), self.params, seed, self.batch_loss(model, images, targets))

    def evaluate(self, model: nn.Module, images: Images, targets: Any) -> dict[str, float]:
        """``score`` on the prepared test set; a test set is prepared once per process, not once per cell, and one
        read on access (too large for memory) is read, prepared and predicted a chunk at a time."""
        if is_lazy(images):
            return self._score_in_chunks(model, images, targets)
        if not self.params.preprocess.changes_size:
            return self.score(model, *self.prepare(images, targets))
        cache = self.__dict__.setdefault("_prepared_tests", {})
        held = cache.get(id(images))  # held entries keep their images alive, so an id is not reused meanwhile
        if held is None or not _same_items(held[1], targets):
            if len(cache) >= 8:
                cache.pop(next(iter(cache)))
            held = cache[id(images)] = (images, targets, self.prepare(images, targets))
        return self.score(model, *held[2])

    def _score_in_chunks(self, model: nn.Module, images: Images, targets: Any) -> dict[str, float]:
        """Only the predictions and the prepared targets are held, never the test images; loader workers read and
        prepare the chunks (``loader.py``)."""
        from storagebench.tasks.loader import prepared_in_chunks

        predictions, prepared = [], []
        for x, y in prepared_in_chunks(self, images, targets, EVAL_CHUNK):
            predictions.append(self.predict(model, x))
            prepared.append(y)
        return self.metrics(model, _joined(predictions), _joined(prepared), prepared_hw(images, self.params.preprocess))

    def score(self, model: nn.Module, images: np.ndarray, targets: Any) -> dict[str, float]:
        """Metrics, ``error`` among them, of ``model`` on prepared images and targets."""
        return self.metrics(model, self.predict(model, images), targets, tuple(images.shape[1:3]))

    @abc.abstractmethod
    def predict(self, model: nn.Module, images: np.ndarray) -> Any:
        """The model's predictions on prepared images (an array with one row per image, or a list)."""

    @abc.abstractmethod
    def metrics(self, model: nn.Module, predictions: Any, targets: Any, hw: tuple[int, int]) -> dict[str, float]:
        """Metrics, ``error`` among them, of predictions against the prepared targets (images of size ``hw``)."""


def _joined(parts: list[Any]) -> Any:
    """Chunks of predictions or targets as one: arrays concatenated, lists chained."""
    return np.concatenate(parts) if isinstance(parts[0], np.ndarray) else [item for part in parts for item in part]


def _same_items(a: Any, b: Any) -> bool:
    """The same targets object, or lists of the same objects (a box list is rebuilt per call, its arrays are not)."""
    return a is b or (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                      and all(x is y for x, y in zip(a, b)))


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 N×H×W[×C] → float N×C×H×W in [-1, 1], on the current device (moved as uint8: a quarter of the
    bytes)."""
    array = np.ascontiguousarray(images)
    if not array.flags.writeable:  # torch warns on read-only arrays; this uint8 copy is a quarter of the float below
        array = array.copy()
    x = torch.from_numpy(array).to(current_device())
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.float().div_(127.5).sub_(1.0).contiguous()


def recipe_optimizer(params: Iterable[torch.Tensor], recipe: RecipeParams,
                     steps: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """The recipe's optimizer and its learning-rate schedule over ``steps`` steps."""
    if recipe.optimizer in ("adam", "adamw"):
        kind = torch.optim.Adam if recipe.optimizer == "adam" else torch.optim.AdamW
        optimizer = kind(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    else:
        optimizer = torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    factor, warmup = SCHEDULES[recipe.schedule], recipe.warmup_steps

    def at(s: int) -> float:
        rise = WARMUP_START + (1 - WARMUP_START) * s / warmup if s < warmup else 1.0
        return rise * factor(s, steps)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, at)
    return optimizer, scheduler


def batch_order(n: int, batch: int, steps: int, seed: int) -> Iterator[torch.Tensor]:
    """The index batches of ``steps`` steps: a seeded shuffle, reshuffled whenever the next batch would run past
    the end."""
    generator = torch.Generator().manual_seed(seed)
    order, cursor = torch.randperm(n, generator=generator), 0
    for _ in range(steps):
        if cursor + batch > n:
            order, cursor = torch.randperm(n, generator=generator), 0
        yield order[cursor:cursor + batch]
        cursor += batch


def recipe_batches(n: int, recipe: RecipeParams, seed: int) -> Iterator[torch.Tensor]:
    """The index batches a recipe trains on n items with: every step's, in order."""
    return batch_order(n, min(recipe.batch_size, n), recipe.steps_for(n), seed)


def fit_model(model: nn.Module, n: int, recipe: RecipeParams, seed: int,
              batch_loss: Callable[[torch.Tensor], torch.Tensor]) -> nn.Module:
    """Train ``model`` in place for ``recipe.steps_for(n)`` steps of shuffled mini-batches of the n training items;
    ``batch_loss(indices)`` is the loss on one mini-batch."""
    steps = recipe.steps_for(n)
    optimizer, scheduler = recipe_optimizer(model.parameters(), recipe, steps)
    model.train()
    finite = torch.ones((), dtype=torch.bool, device=current_device())  # checked once at the end: no sync per step
    every, recorded = max(1, steps // HISTORY_POINTS), []
    for step, idx in enumerate(recipe_batches(n, recipe, seed)):
        with autocast():
            loss = batch_loss(idx)
        finite &= torch.isfinite(loss.detach())
        if step % every == 0 or step == steps - 1:
            recorded.append((step, loss.detach(), optimizer.param_groups[0]["lr"]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    model.training_history = {"step": [s for s, _, _ in recorded], "lr": [r for _, _, r in recorded],
                              "loss": torch.stack([v.float() for _, v, _ in recorded]).tolist() if recorded else []}
    if not bool(finite):
        raise TrainingDiverged(f"the training loss became non-finite (inf or nan) within {steps} steps on n = {n} "
                               f"(seed {seed}); the recipe diverges: lower lr or check the data. Nothing was "
                               f"recorded for this cell")
    return model


def outputs_in_batches(model: nn.Module, images: np.ndarray, batch_size: int) -> Iterator[Any]:
    """The model's outputs on ``images`` (as ``to_tensor`` gives them), a batch at a time, in eval mode, without
    gradients."""
    model.eval()
    with torch.inference_mode(), autocast():
        for start in range(0, len(images), batch_size):
            yield model(to_tensor(images[start:start + batch_size]))


def predict_batches(model: nn.Module, images: np.ndarray, batch_size: int) -> np.ndarray:
    """argmax over the class dimension of the model's logits."""
    return np.concatenate([out.argmax(1).cpu().numpy() for out in outputs_in_batches(model, images, batch_size)])
