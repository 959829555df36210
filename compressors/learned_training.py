"""Training a learned codec's models: one per level (λ), a fixed number of Adam steps on one thread each, levels in
parallel; each checkpoint is cached under the sha256 of what makes it (``LearnedCodec.model_key``)."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.compressors.protocol import Level, level_label
from storagebench.parallel import parallel_map
from storagebench.provenance import stable_hash


def _rate_distortion_step(model: Any, x: Any, lmbda: float, pixels: int) -> Any:
    """CompressAI's rate–distortion loss: λ·255²·MSE + bits per (unpadded) pixel."""
    import torch

    out = model(x)
    bpp = sum(torch.log2(likelihood).sum() for likelihood in out["likelihoods"].values()) / -(len(x) * pixels)
    return lmbda * 255 ** 2 * torch.nn.functional.mse_loss(out["x_hat"], x) + bpp


def _train_level(job: dict[str, Any], level: Level) -> bytes:
    import torch

    from storagebench.compressors.learned import LAMBDAS, pad_batch

    codec, images, channels = job["codec"], job["images"], job["channels"]
    p = codec.params
    torch.set_num_threads(1)
    torch.manual_seed(p.seed)
    model = codec.build(channels)
    main = [q for name, q in model.named_parameters() if not name.endswith("quantiles")]
    aux = [q for name, q in model.named_parameters() if name.endswith("quantiles")]
    optimizer, aux_optimizer = torch.optim.Adam(main, lr=p.lr), torch.optim.Adam(aux, lr=1e-3)
    x_all, generator = pad_batch(images, codec.stride), torch.Generator().manual_seed(p.seed)
    pixels = images.shape[1] * images.shape[2]
    model.train()
    for _ in range(p.steps):
        batch = x_all[torch.randint(len(x_all), (min(p.batch_size, len(x_all)),), generator=generator)]
        loss = _rate_distortion_step(model, batch, LAMBDAS[int(level) - 1], pixels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        optimizer.step()
        aux_optimizer.zero_grad(set_to_none=True)
        model.aux_loss().backward()
        aux_optimizer.step()
    model.update(force=True)
    buffer = io.BytesIO()
    torch.save({"channels": channels, "state": model.state_dict()}, buffer)
    return buffer.getvalue()


def train_checkpoints(codec: Any, images: np.ndarray, levels: list[Level], cache: Path,
                      workers: int) -> dict[str, dict[str, str]]:
    """Checkpoint path and sha256 per level label, training the ones not in ``cache`` yet."""
    channels = 1 if images.ndim == 3 else images.shape[3]
    images_sha256 = hashlib.sha256(np.ascontiguousarray(images).data).hexdigest()
    paths = {level_label(lv): cache / f"{stable_hash(codec.model_key(lv, images_sha256, channels))}.pt"
             for lv in levels}
    missing = [lv for lv in levels if not paths[level_label(lv)].is_file()]
    if missing:
        cache.mkdir(parents=True, exist_ok=True)
        job = {"codec": codec, "images": images, "channels": channels}
        desc = f"train {codec.name} ({codec.params.steps} steps per level)"
        for level, payload in zip(missing, parallel_map(_train_level, job, missing, workers=workers, desc=desc,
                                                        total=len(missing), unit="level")):
            path = paths[level_label(level)]
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(payload)
            os.replace(tmp, path)
    return {label: {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
            for label, path in paths.items()}
