"""Compressors: image codecs (image + level → bytes → image) and dataset reducers (training set → a few real or
learned images), registered by name. The reducers (and their protocol, which needs torch) load when first asked
for: a process that only encodes and decodes images, such as a contained validation process, starts without torch."""
if __name__ != "storagebench.compressors":  # this folder imported as a top-level package: a second set of registries
    raise ImportError("'compressors' is the folder of the package storagebench.compressors: "
                      "import storagebench.compressors (install it with `make setup` or `pip install -e .`)")
from storagebench.compressors import (  # noqa: F401  (registers built-ins)
    downscale, jpegxl, jpegxl_butteraugli, learned, pillow_codecs, png, randomized)
from storagebench.compressors.protocol import LOSSLESS, ImageCodec, Level, level_label
from storagebench.compressors.registry import COMPRESSORS, REDUCERS

REDUCER_PROTOCOL = ("DatasetReducer", "Network", "ReducedSet")

__all__ = ["COMPRESSORS", "REDUCERS", *REDUCER_PROTOCOL, "LOSSLESS", "ImageCodec", "Level", "level_label"]


def __getattr__(name: str) -> object:
    if name in REDUCER_PROTOCOL:
        from storagebench.compressors import reducer

        return getattr(reducer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
