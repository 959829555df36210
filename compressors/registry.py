"""The compressor registry: ``@COMPRESSORS.register(name)`` for built-ins, entry point group
``storagebench.compressors`` for third parties (a built-in wins on a name clash)."""
from storagebench.compressors.protocol import ImageCodec
from storagebench.registry import Registry

COMPRESSORS: Registry = Registry("compressor", "storagebench.compressors", base=ImageCodec)
