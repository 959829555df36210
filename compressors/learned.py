"""Learned codecs from CompressAI: Ballé et al. 2018's factorized-prior and scale-hyperprior models, trained on
the benchmark's own training images (no pretrained weights: none can be fetched here), one model per level.

A level is CompressAI's quality index 1..8 (its MSE λ table) or "lossless" (PNG). Bytes are the entropy-coded
strings of ``compress()`` behind a small header (height, width, channels, and the length of the first string when
there are two), decoded with ``decompress()``. Training is bounded: a fixed number of Adam steps on one thread,
deterministic for a seed; checkpoints are cached by the sha256 of everything that makes them. The fitted instance
encodes with the whole model; a decoder gets only the synthesis side (``fitted_state``: the weights of ``g_s``,
``h_s`` and the entropy models, serialized by torch), whose bytes the harness counts as the level's decoder bytes.
"""
from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from storagebench.compressors.png import png_decode, png_encode
from storagebench.compressors.protocol import (
    LOSSLESS,
    ImageCodec,
    Level,
    check_number,
    level_label,
)
from storagebench.compressors.registry import COMPRESSORS
from storagebench.errors import StorageBenchError

LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)  # CompressAI's MSE λ per quality
HEADER = struct.Struct(">HHB")
ENCODER_PARTS = ("g_a.", "h_a.")  # analysis transforms: only the encoder runs them
LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class LearnedParams:
    N: int = 64  # channels of the transforms
    M: int = 96  # channels of the latent
    steps: int = 1000  # Adam steps per level: the CPU-time bound (~40–70 ms a step on one core, 28×28 images)
    batch_size: int = 16
    lr: float = 1e-3  # higher than CompressAI's 1e-4: the step budget is small
    seed: int = 0

    def check(self) -> str | None:
        if min(self.N, self.M, self.steps, self.batch_size) < 1 or self.lr <= 0:
            return "N, M, steps and batch_size must be ≥ 1 and lr > 0"
        return None


class LearnedCodec(ImageCodec):
    architecture: ClassVar[str]
    stride: ClassVar[int]  # images are padded to a multiple of it
    version = "1"
    default_levels = (LOSSLESS, 1.0, 3.0, 5.0, 7.0)
    larger_is_smaller = False  # a CompressAI quality: storage-curve searches try the default levels (fitted ones)
    default_test_levels = (LOSSLESS, 1.0)

    def __init__(self, params: Any):
        super().__init__(params)
        self.models: dict[str, Any] = {}
        self.checkpoints: dict[str, dict[str, str]] = {}  # fitted instance: level label → path and sha256
        self.decoders: dict[str, dict[str, Any]] = {}  # restored instance: level label → declared decoder state

    def parse_level(self, value: Any) -> Level:
        return check_number(value, 1, len(LAMBDAS), f"{self.architecture} levels are CompressAI qualities",
                            integer=True)

    # ---- fitting, state -------------------------------------------------------------------------------------
    def fit(self, images: np.ndarray, levels: list[Level], cache: Path, workers: int = 1) -> None:
        from storagebench.compressors.learned_training import train_checkpoints

        from storagebench.images import centre_crops

        wanted = [lv for lv in levels if lv != LOSSLESS]
        images = centre_crops(images, TRAINING_CROP)  # images of any sizes: trained on their centre squares
        # Models load on first use: the process that fits must not run torch before it forks workers.
        self.checkpoints = train_checkpoints(self, images, wanted, Path(cache), workers)
        self.models.clear()

    def fitted_state(self, level: Level) -> dict[str, Any]:
        if level == LOSSLESS:
            return {}
        import torch

        torch.set_num_threads(1)  # the state must not depend on threading (nor start a thread pool before a fork)
        model = self._model(level)
        decoder = {name: p for name, p in model.state_dict().items() if not name.startswith(ENCODER_PARTS)}
        buffer = io.BytesIO()
        torch.save(decoder, buffer)
        return {"channels": int(model.g_s[-1].out_channels), "weights": buffer.getvalue()}

    def restore(self, level: Level, state: dict[str, Any]) -> None:
        self.decoders[level_label(level)] = state
        self.models.pop(level_label(level), None)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "checkpoints": {k: v["sha256"] for k, v in sorted(self.checkpoints.items())}}

    def model_key(self, level: Level, images_sha256: str, channels: int) -> dict[str, Any]:
        """Everything a checkpoint depends on: it names the cache file."""
        from storagebench.provenance import library_versions

        versions = library_versions()
        return {"architecture": self.architecture, "params": asdict(self.params), "lambda": LAMBDAS[int(level) - 1],
                "images_sha256": images_sha256, "channels": channels,
                "torch": versions.get("torch"), "compressai": versions.get("compressai")}

    def build(self, channels: int) -> Any:
        """A fresh model for ``channels``-channel images (CompressAI's, with its first and last layers resized)."""
        from storagebench.torchvision_compat import ensure_torchvision_ops

        ensure_torchvision_ops()  # compressai imports torchvision
        from compressai.models import FactorizedPrior, ScaleHyperprior
        from compressai.models.utils import conv, deconv

        cls = FactorizedPrior if self.architecture == "bmshj2018-factorized" else ScaleHyperprior
        model = cls(self.params.N, self.params.M)
        model.g_a[0] = conv(channels, self.params.N)
        model.g_s[-1] = deconv(self.params.N, channels)
        return model

    def load_model(self, channels: int, state: dict[str, Any], strict: bool = True) -> Any:
        model = self.build(channels)
        model.load_state_dict(state, strict=strict)
        model.update(force=True)
        model.eval()
        return model

    def _model(self, level: Level) -> Any:
        """The whole model of a fitted instance (it encodes), or the synthesis side a restored one was given."""
        import torch

        label = level_label(level)
        if label not in self.models:
            if label in self.checkpoints:
                checkpoint = self.checkpoints[label]
                payload = Path(checkpoint["path"]).read_bytes()
                if hashlib.sha256(payload).hexdigest() != checkpoint["sha256"]:
                    raise StorageBenchError(f"{checkpoint['path']}: checkpoint does not match its sha256; delete it")
                saved = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
                self.models[label] = self.load_model(int(saved["channels"]), saved["state"])
            elif label in self.decoders:
                declared = self.decoders[label]
                weights = torch.load(io.BytesIO(declared["weights"]), map_location="cpu", weights_only=True)
                self.models[label] = self.load_model(int(declared["channels"]), weights, strict=False)
            else:
                raise StorageBenchError(f"{self.name}: no model for level {label}; the benchmark trains one per level "
                                        f"before encoding (fit), and a decoder is given its synthesis side (restore)")
        return self.models[label]

    # ---- coding ---------------------------------------------------------------------------------------------
    def encode(self, image: np.ndarray, level: Level) -> bytes:
        if level == LOSSLESS:
            return png_encode(image)
        import torch

        torch.set_num_threads(1)  # the bytes must not depend on threading
        height, width = image.shape[:2]
        channels = 1 if image.ndim == 2 else image.shape[2]
        with torch.inference_mode():
            out = self._model(level).compress(self._to_tensor(image))
        strings = [s[0] for s in out["strings"]]
        head = HEADER.pack(height, width, channels)
        if len(strings) == 1:
            return head + strings[0]
        return head + LENGTH.pack(len(strings[0])) + strings[0] + strings[1]

    def decode(self, data: bytes, level: Level) -> np.ndarray:
        if level == LOSSLESS:
            return png_decode(data)
        import torch

        torch.set_num_threads(1)
        height, width, channels = HEADER.unpack_from(data)
        body = data[HEADER.size:]
        padded = (-(-height // self.stride) * self.stride, -(-width // self.stride) * self.stride)
        if self.architecture == "bmshj2018-factorized":
            strings, shape = [[body]], (padded[0] // 16, padded[1] // 16)
        else:
            (first,) = LENGTH.unpack_from(body)
            rest = body[LENGTH.size:]
            strings, shape = [[rest[:first]], [rest[first:]]], (padded[0] // 64, padded[1] // 64)
        with torch.inference_mode():
            x_hat = self._model(level).decompress(strings, shape)["x_hat"]
        pixels = (x_hat[0, :, :height, :width].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        return pixels[:, :, 0].copy() if channels == 1 else pixels.copy()

    def _to_tensor(self, image: np.ndarray) -> Any:
        return pad_batch(image[None], self.stride)

    def library_versions(self) -> dict[str, str]:
        from storagebench.provenance import library_versions

        return {k: v for k, v in library_versions().items() if k in ("torch", "compressai")}


def pad_batch(images: np.ndarray, stride: int) -> Any:
    """uint8 N×H×W[×C] → float N×C×H'×W' in [0, 1], edge-padded to multiples of ``stride``."""
    import torch

    x = torch.from_numpy(np.array(images, dtype=np.float32)).div_(255)
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    height, width = x.shape[2:]
    pad = (0, -width % stride, 0, -height % stride)
    return torch.nn.functional.pad(x, pad, mode="replicate") if any(pad) else x


TRAINING_CROP = 256  # the largest side a learned codec trains on, when images differ in size (CompressAI's crop)


@COMPRESSORS.register("bmshj2018-factorized")
class Bmshj2018Factorized(LearnedCodec):
    """CompressAI's factorized-prior model (Ballé 2018), trained here per level; levels are qualities 1..8."""

    Params = LearnedParams
    architecture, stride = "bmshj2018-factorized", 16


@dataclass(frozen=True)
class HyperpriorParams(LearnedParams):
    N: int = 48
    M: int = 64


@COMPRESSORS.register("bmshj2018-hyperprior")
class Bmshj2018Hyperprior(LearnedCodec):
    """CompressAI's scale-hyperprior model (Ballé 2018), trained here per level; levels are qualities 1..8."""

    Params = HyperpriorParams
    architecture, stride = "bmshj2018-hyperprior", 64
