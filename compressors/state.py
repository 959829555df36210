"""A codec's declared decoder state as bytes: what ``fitted_state(level)`` returns (JSON values and ``bytes``) is
serialized here, measured by the harness, and read back into a fresh instance, the only instance that decodes.

Format: ``SBSTATE1``, the length of a canonical-JSON skeleton (4 bytes, big-endian), the skeleton, in which every
``bytes`` value is replaced by ``{"$bytes": i}``, then each of those values behind its length (8 bytes). Only exact
``dict`` (string keys), ``list``, ``str``, ``int``, finite ``float``, ``bool``, ``None`` and ``bytes`` cross, so a
state can carry nothing but data, and its size is the length of these bytes.
"""
from __future__ import annotations

import json
import math
import struct
from typing import Any

from storagebench.compressors.protocol import ImageCodec, Level, level_label
from storagebench.errors import StorageBenchError

MAGIC = b"SBSTATE1"
BLOB = "$bytes"


def pack_state(state: dict[str, Any], where: str = "fitted_state") -> bytes:
    """The serialized state (b"" for an empty one: a codec that declares nothing stores nothing)."""
    if type(state) is not dict:
        raise StorageBenchError(f"{where}: must return a dict, got {type(state).__name__}")
    if not state:
        return b""
    blobs: list[bytes] = []
    skeleton = json.dumps(_lift(state, blobs, where), sort_keys=True, separators=(",", ":")).encode()
    parts = [MAGIC, struct.pack(">I", len(skeleton)), skeleton]
    for blob in blobs:
        parts += [struct.pack(">Q", len(blob)), blob]
    return b"".join(parts)


def _lift(value: Any, blobs: list[bytes], where: str) -> Any:
    kind = type(value)
    if kind is bytes:
        blobs.append(value)
        return {BLOB: len(blobs) - 1}
    if kind is dict:
        if not all(type(k) is str for k in value) or BLOB in value:
            raise StorageBenchError(f"{where}: dict keys must be strings other than {BLOB!r}")
        return {k: _lift(v, blobs, f"{where}.{k}") for k, v in value.items()}
    if kind is list:
        return [_lift(v, blobs, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind is float and not math.isfinite(value):
        raise StorageBenchError(f"{where}: {value!r} is not a finite number")
    if value is None or kind in (str, int, float, bool):
        return value
    raise StorageBenchError(f"{where}: a {kind.__name__} is neither JSON nor exactly bytes; declare state as dicts, "
                            f"lists, strings, numbers and bytes only")


def unpack_state(packed: bytes) -> dict[str, Any]:
    if not packed:
        return {}
    if not packed.startswith(MAGIC):
        raise StorageBenchError("not a serialized codec state")
    (length,) = struct.unpack_from(">I", packed, len(MAGIC))
    start = len(MAGIC) + 4
    skeleton = json.loads(packed[start:start + length])
    blobs, cursor = [], start + length
    while cursor < len(packed):
        (size,) = struct.unpack_from(">Q", packed, cursor)
        blobs.append(packed[cursor + 8:cursor + 8 + size])
        cursor += 8 + size
    return _lower(skeleton, blobs)


def _lower(value: Any, blobs: list[bytes]) -> Any:
    if isinstance(value, dict):
        return blobs[value[BLOB]] if set(value) == {BLOB} else {k: _lower(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower(v, blobs) for v in value]
    return value


def declared_states(codec: ImageCodec, levels: list[Level]) -> dict[str, bytes]:
    """Level label → the serialized state ``codec`` (fitted) declares for decoding that level."""
    return {level_label(level): pack_state(codec.fitted_state(level), f"{codec.name}.fitted_state({level!r})")
            for level in dict.fromkeys(levels)}


def restored(codec_class: type[ImageCodec], params: Any, states: dict[str, bytes], levels: list[Level]) -> ImageCodec:
    """A fresh instance built from ``params`` and given, for each level, only what was declared and serialized."""
    fresh = codec_class(params)
    for level in dict.fromkeys(levels):
        state = unpack_state(states[level_label(level)])
        if state:
            fresh.restore(level, state)
    return fresh
