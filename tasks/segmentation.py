"""Semantic segmentation with a segmentation-models-pytorch Unet trained from scratch on the benchmark's own images,
or smp's SegFormer (the paper's Cityscapes model: a MiT encoder, from scratch or from ImageNet weights); error =
1 − mIoU over the test split."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from storagebench.errors import StorageBenchError
from storagebench.images import Images
from storagebench.tasks.preprocess import prepare_masks
from storagebench.tasks.registry import TASKS
from storagebench.tasks.training import RecipeParams, RecipeTask, predict_batches

IGNORE_INDEX = 255


ARCHITECTURES = ("unet", "segformer")


@dataclass(frozen=True)
class SegmentationParams(RecipeParams):
    architecture: str = "unet"  # or "segformer" (encoder "mit_b0".."mit_b5"; decoder_width is its decoder's)
    encoder: str = "timm-mobilenetv3_small_minimal_100"  # small enough for CPU
    encoder_weights: str = "none"  # "imagenet": smp's pretrained encoder (downloaded; needs internet once)
    encoder_depth: int = 3
    decoder_width: int = 32  # decoder channels halve at each stage from this
    lr: float = 3e-3

    model_checks = ((lambda p: p.architecture in ARCHITECTURES,
                     f"architecture must be one of {', '.join(ARCHITECTURES)}"),
                    (lambda p: p.encoder_weights in ("none", "imagenet"),
                     "encoder_weights must be 'none' or 'imagenet'"),
                    (lambda p: p.architecture != "segformer" or p.encoder.startswith("mit_"),
                     "segformer takes a MiT encoder (mit_b0 .. mit_b5)"),
                    (lambda p: 1 <= p.encoder_depth <= 5, "encoder_depth must be 1..5"),
                    (lambda p: p.decoder_width >= 2 ** p.encoder_depth, "decoder_width too small for encoder_depth"))


def confusion_matrix(predicted: np.ndarray, truth: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[t, p] over pixels whose truth is not the ignore index."""
    valid = truth != IGNORE_INDEX
    pairs = truth[valid].astype(np.int64) * num_classes + predicted[valid].astype(np.int64)
    return np.bincount(pairs, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def mean_iou(confusion: np.ndarray) -> tuple[float, np.ndarray]:
    """IoU per class and their mean over classes present in the truth or the prediction."""
    tp = np.diag(confusion).astype(float)
    union = confusion.sum(0) + confusion.sum(1) - tp
    present = union > 0
    iou = np.full(len(tp), np.nan)
    iou[present] = tp[present] / union[present]
    return float(np.nanmean(iou)) if present.any() else 0.0, iou


def build_model(p: SegmentationParams, in_channels: int, num_classes: int) -> nn.Module:
    from storagebench.torchvision_compat import ensure_torchvision_ops

    ensure_torchvision_ops()  # smp imports timm, which imports torchvision
    import segmentation_models_pytorch as smp

    weights = None if p.encoder_weights == "none" else p.encoder_weights
    with warnings.catch_warnings():  # smp 0.6 calls its timm-* encoders deprecated; they are what is small on CPU
        warnings.simplefilter("ignore", DeprecationWarning)
        if p.architecture == "segformer":
            return smp.Segformer(p.encoder, encoder_weights=weights, decoder_segmentation_channels=p.decoder_width,
                                 in_channels=in_channels, classes=num_classes)
        decoder = tuple(max(p.decoder_width >> i, 4) for i in range(p.encoder_depth))
        return smp.Unet(p.encoder, encoder_weights=weights, encoder_depth=p.encoder_depth, decoder_channels=decoder,
                        in_channels=in_channels, classes=num_classes)


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    return nn.functional.pad(x, (0, -w % multiple, 0, -h % multiple))


class _Padded(nn.Module):
    """Unet needs sides divisible by 2^depth: pad the input, crop the output."""

    def __init__(self, inner: nn.Module, multiple: int):
        super().__init__()
        self.inner, self.multiple = inner, multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return self.inner(_pad_to(x, self.multiple))[..., :h, :w]


@TASKS.register("segmentation")
class Segmentation(RecipeTask):
    """Semantic segmentation with an smp Unet trained from scratch."""

    Params = SegmentationParams
    metric = "mIoU"
    ignore_index = IGNORE_INDEX

    def prepare_targets(self, targets: Images, images: Images) -> np.ndarray:
        return prepare_masks(targets, self.params.preprocess)

    def fetch_weights(self) -> None:
        if self.params.encoder_weights != "none":
            try:
                build_model(self.params, 3, 2)
            except Exception as exc:  # noqa: BLE001  (smp and huggingface_hub raise many kinds when offline)
                raise StorageBenchError(f"[task].encoder_weights = {self.params.encoder_weights!r}: the pretrained "
                                        f"{self.params.encoder} encoder could not be loaded ({type(exc).__name__}: "
                                        f"{str(exc)[:200]}); smp downloads it once, which needs internet — or train "
                                        f"from scratch with encoder_weights = \"none\"") from None

    def build(self, in_channels: int, num_classes: int, image_hw: tuple[int, int]) -> nn.Module:
        multiple = 32 if self.params.architecture == "segformer" else 2 ** self.params.encoder_depth
        return _Padded(build_model(self.params, in_channels, num_classes), multiple)

    def mirror(self, x: torch.Tensor, y: torch.Tensor, which: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mirrored images with their masks."""
        x, _ = super().mirror(x, y, which)
        return x, torch.where(which.to(y.device)[:, None, None], y.flip(-1), y)

    def predict(self, model: nn.Module, images: np.ndarray) -> np.ndarray:
        """Each pixel's class (uint8 where the classes fit: a test set's predictions are held whole)."""
        predicted = predict_batches(model, images, self.params.eval_batch_size)
        return predicted.astype(np.uint8) if model.inner.segmentation_head[0].out_channels <= 255 else predicted

    def metrics(self, model: nn.Module, predicted: np.ndarray, targets: np.ndarray,
                hw: tuple[int, int]) -> dict[str, float]:
        num_classes = model.inner.segmentation_head[0].out_channels
        miou, per_class = mean_iou(confusion_matrix(predicted, targets, num_classes))
        return {"error": 1.0 - miou, "miou": miou,
                "iou_per_class": [None if np.isnan(v) else float(v) for v in per_class]}
