"""Compressors: image codecs (image + level → bytes → image) and dataset reducers (training set → a few real or
learned images), registered by name."""
from storagebench.compressors import (  # noqa: F401  (registers built-ins)
    coresets, dataset_distillation, distribution_matching, downscale, jpegxl, jpegxl_butteraugli, learned,
    pillow_codecs, png, randomized)
from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level, level_label
from storagebench.compressors.reducer import DatasetReducer, Network, ReducedSet
from storagebench.compressors.registry import COMPRESSORS, REDUCERS

__all__ = ["COMPRESSORS", "REDUCERS", "DatasetReducer", "Network", "ReducedSet", "LOSSLESS", "ImageCodec", "Level", "level_label"]
