"""Cell keys: how a results dir names each trained model (the primary key of its row). Formatted here only, so a
resumed run, an analysis asking which cells are missing and a leaderboard entry agree on every name."""
from __future__ import annotations


def grid_key(level: str, n: int, seed: int) -> str:
    """A grid cell: train level (its label), n images, seed."""
    return f"{level}|n={n}|seed={seed}"


def curve_key(scheme: str, budget: float, seed: int) -> str:
    """A storage-curve cell: scheme, byte budget, seed."""
    return f"{scheme}|s={budget:g}|seed={seed}"


def reduced_key(label: str, per_class: int, seed: int) -> str:
    """A reduction cell: reducer label, images per class, seed."""
    return f"{label}|ipc={per_class}|seed={seed}"


def subset_key(n: int, seed: int) -> str:
    """A training subset, whatever it is stored as (the harness's baselines)."""
    return f"n={n}|seed={seed}"
