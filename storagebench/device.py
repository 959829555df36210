"""Where models train and evaluate: the device a run asks for (``--device``), resolved where the work runs (each
worker, each Ray task), and optional bf16 mixed precision (``--amp``).

Tasks read ``current_device()``; ``on_device`` sets it for one cell. Decoded training sets are moved to the device
once per cell (``training.to_tensor``), so batches never cross the bus.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch

from storagebench.errors import StorageBenchError

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
_current = torch.device("cpu")
_amp = False
_requested: tuple[str, bool] = ("auto", False)  # what the driver asked for: put into each cell's job


def parse_device(choice: str) -> torch.device | None:
    """The device ``choice`` names (None for ``auto``), whether or not this machine has it."""
    if choice == "auto":
        return None
    try:
        device = torch.device(choice)
    except RuntimeError:
        raise StorageBenchError(f"--device: {choice!r} is not a device; use {DEVICE_CHOICES}") from None
    if device.type not in ("cpu", "cuda"):
        raise StorageBenchError(f"--device: {choice!r}: use {DEVICE_CHOICES}")
    return device


def cuda_available() -> bool:
    """Whether a CUDA GPU is visible, asked of NVML rather than the CUDA runtime (torch reads the variable at each
    call): a driver process that initialised CUDA could not fork working local workers afterwards."""
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    return torch.cuda.is_available()


def resolve_device(choice: str) -> torch.device:
    """The device to use here: ``auto`` is the first CUDA GPU when one is visible, else the CPU."""
    device = parse_device(choice)
    if device is None:
        return torch.device("cuda") if cuda_available() else torch.device("cpu")
    if device.type == "cuda" and not cuda_available():
        raise StorageBenchError(f"--device {choice}: no CUDA GPU is visible here (torch {torch.__version__}); "
                                f"use --device cpu or auto")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise StorageBenchError(f"--device {choice}: only {torch.cuda.device_count()} CUDA GPU(s) visible")
    return device


def current_device() -> torch.device:
    return _current


def describe_device() -> str:
    """What a result records, e.g. ``cpu`` or ``cuda:0 NVIDIA H100 80GB HBM3 bf16``."""
    precision = " bf16" if _amp else ""
    if _current.type != "cuda":
        return "cpu" + precision
    index = _current.index if _current.index is not None else torch.cuda.current_device()
    return f"cuda:{index} {torch.cuda.get_device_name(index)}{precision}"


@contextlib.contextmanager
def on_device(choice: str = "cpu", amp: bool = False) -> Iterator[torch.device]:
    """Train and evaluate on ``choice`` inside the block; ``amp`` runs forward passes in bf16 autocast."""
    global _current, _amp
    previous = _current, _amp
    _current = resolve_device(choice)
    _amp = amp
    if _current.type == "cuda":
        deterministic_cuda()
    try:
        yield _current
    finally:
        _current, _amp = previous


@contextlib.contextmanager
def requesting(choice: str, amp: bool = False) -> Iterator[None]:
    """Ask for ``choice`` (and mixed precision) for every cell trained inside the block, wherever it runs."""
    global _requested
    previous, _requested = _requested, (choice, amp)
    try:
        yield
    finally:
        _requested = previous


def requested_device() -> tuple[str, bool]:
    return _requested


def deterministic_cuda() -> None:
    """The same cell on the same GPU gives the same numbers: deterministic cuDNN and cuBLAS kernels (torch warns
    where an op has none)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)


def autocast() -> contextlib.AbstractContextManager:
    """bf16 autocast on the cell's device when it asked for mixed precision; otherwise nothing changes."""
    return torch.autocast(_current.type, dtype=torch.bfloat16) if _amp else contextlib.nullcontext()
