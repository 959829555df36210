"""The compressor registries: ``@COMPRESSORS.register(name)`` for image codecs and ``@REDUCERS.register(name)`` for
dataset-level reducers (coresets, distillation); entry point groups ``storagebench.compressors`` and
``storagebench.reducers`` for third parties (a built-in wins on a name clash)."""
from storagebench.compressors.protocol import ImageCodec
from storagebench.compressors.reducer import DatasetReducer
from storagebench.registry import Registry

COMPRESSORS: Registry = Registry("compressor", "storagebench.compressors", base=ImageCodec)
REDUCERS: Registry = Registry("reducer", "storagebench.reducers", base=DatasetReducer)
