"""Who decodes a run's bitstreams: never the instance that fitted and encoded.

A built-in codec (storagebench's own, reviewed) decodes in a fresh instance restored from the state it declared,
serialized by the harness (``compressors/state.py``), in this process and its workers. Any other codec (named by a
``file.py:Class`` or ``module:Class`` spec, or installed through an entry point, or wrapping one) decodes in
contained processes (``compressors/containment.py``: no network, its processes ended with it), given only the
bitstreams, their levels and that serialized state, as validation's second process is. So a codec that behaved in
validation and cheats in a run (module globals, a server, state left on the instance) still cannot reach its
decoder outside the counted bytes.
"""
from __future__ import annotations

import dataclasses
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
from tqdm import tqdm

from storagebench.compressors.containment import ChildFailed, Limits, run_contained
from storagebench.compressors.protocol import ImageCodec, Level
from storagebench.compressors.registry import COMPRESSORS
from storagebench.compressors.state import declared_states, restored
from storagebench.errors import StorageBenchError

RUN_LIMITS = Limits(call_seconds=60.0)  # a run's decode calls: validation's limit (10 s) with room for slow disks
CHUNK = 2000  # items a contained process decodes: bounds what one result carries back


def is_builtin(codec: ImageCodec) -> bool:
    """Whether ``codec`` and every codec it wraps are storagebench's own registered classes."""
    inner = getattr(codec, "inner", None)
    return COMPRESSORS.builtin(codec.name) is type(codec) and (inner is None or is_builtin(inner))


@dataclass(frozen=True)
class ContainedDecoder:
    """Decodes in contained processes built from ``spec``, ``params`` and the serialized ``states``."""

    name: str
    spec: str
    params: dict[str, Any]
    states: dict[str, bytes]  # level label → serialized declared state
    levels: tuple[Level, ...]
    limits: Limits = RUN_LIMITS

    def decode_all(self, streams: list[bytes], item_levels: list[Level], workers: int, desc: str) -> list[np.ndarray]:
        bounds = [(start, min(start + CHUNK, len(streams))) for start in range(0, len(streams), CHUNK)]
        with ThreadPoolExecutor(max(1, min(workers, len(bounds)))) as pool, \
                tqdm(total=len(streams), desc=f"{desc} (contained)", unit="img", disable=None, leave=False) as bar:
            futures = [pool.submit(self._decode, a, streams[a:b], item_levels[a:b]) for a, b in bounds]
            decoded = []
            for future, (a, b) in zip(futures, bounds):
                decoded += future.result()
                bar.update(b - a)
        return decoded

    def _decode(self, first: int, streams: list[bytes], item_levels: list[Level]) -> list[np.ndarray]:
        job = {"mode": "decode stored", "spec": self.spec, "params": self.params, "levels": list(self.levels),
               "states": self.states, "streams": streams, "item_levels": item_levels, "first": first}
        with tempfile.TemporaryDirectory(prefix="storagebench-decode-") as workdir:
            try:
                return run_contained(job, self.limits, Path(workdir))["decoded"]
            except ChildFailed as exc:
                raise StorageBenchError(
                    f"{self.name}: decoding items {first}..{first + len(streams) - 1} in a contained process failed: "
                    f"it {exc}; a decoder is given only the bitstream, the level and the declared state "
                    f"(fitted_state)") from None


Decoder = Union[ImageCodec, ContainedDecoder]


def decoder_for(codec: ImageCodec, levels: list[Level], spec: str | None = None) -> tuple[Decoder, dict[str, int]]:
    """What decodes what the fitted ``codec`` encoded at ``levels`` (``spec`` names a codec that is not a built-in,
    for its contained processes; default: its registered name), and the bytes of each level's serialized state:
    the decoder bytes the harness counts."""
    states = declared_states(codec, levels)
    sizes = {label: len(packed) for label, packed in states.items()}
    if is_builtin(codec):
        return restored(type(codec), codec.params, states, levels), sizes
    return ContainedDecoder(codec.name, spec or codec.name, dataclasses.asdict(codec.params), states,
                            tuple(dict.fromkeys(levels))), sizes


def decode_many(decoder: Decoder, streams: list[bytes], item_levels: list[Level], desc: str = "decode",
                workers: int = 1) -> list[np.ndarray]:
    """Each stream decoded at its level, in order: here by a restored instance, or in contained processes."""
    if isinstance(decoder, ContainedDecoder):
        return decoder.decode_all(streams, item_levels, workers, desc)
    return [np.asarray(decoder.decode(stream, level)) for stream, level in zip(streams, item_levels)]
