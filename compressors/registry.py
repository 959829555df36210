"""The compressor registries: ``@COMPRESSORS.register(name)`` for image codecs and ``@REDUCERS.register(name)`` for
dataset-level reducers (coresets, distillation); entry point groups ``storagebench.compressors`` and
``storagebench.reducers`` for third parties (a built-in wins on a name clash). The reducers' modules are imported
when ``REDUCERS`` is first read."""
from storagebench.compressors.protocol import ImageCodec
from storagebench.registry import Registry

COMPRESSORS: Registry = Registry("compressor", "storagebench.compressors", base=ImageCodec)
REDUCERS: Registry = Registry("reducer", "storagebench.reducers", base="storagebench.compressors.reducer:DatasetReducer",
                              modules=("storagebench.compressors.coresets", "storagebench.compressors.distribution_matching",
                                       "storagebench.compressors.dataset_distillation"))
