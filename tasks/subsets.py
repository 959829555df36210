"""Nested, class-stratified training subsets fixed by a seed.

``stratified_order(labels, seed)`` is a permutation whose every prefix holds each class in proportion to its
share of the split (within one image), so the subset for n is the first n entries and smaller subsets are nested
inside larger ones: error differences between n values are then not a re-draw of the data.
"""
from __future__ import annotations

import numpy as np


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    index_parts, key_parts = [], []
    for c in classes:
        members = rng.permutation(np.flatnonzero(labels == c))
        index_parts.append(members)
        key_parts.append((np.arange(len(members)) + 0.5) / len(members))
    indices = np.concatenate(index_parts)
    position = np.concatenate(key_parts)
    tie_break = rng.random(len(indices))
    return indices[np.lexsort((tie_break, position))]


def nested_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    if not 0 < n <= len(labels):
        raise ValueError(f"n={n} must be in 1..{len(labels)}")
    return stratified_order(labels, seed)[:n]
