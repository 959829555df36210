"""The child side of compressor validation: ``python -m storagebench.compressors.sandbox JOB RESULT``, started and
contained by ``compressors/containment.py``.

Before anything else it installs an audit hook that refuses socket calls. It builds the compressor from its spec
and parameters only, runs the job and pickles what came back to RESULT, reduced to plain types first: a bitstream
only if it is exactly ``bytes``, decoded images as plain numpy arrays, declared state as the harness serialized it.
Before and after each call it writes a line to the progress channel (the original stdout; the compressor's own
prints go to stderr), so the parent can stop a call that does not return within its limit; it ends with
``finished`` and leaves at once, whatever threads the compressor left behind.

Validation's two jobs: ``encode`` (fit on the training images, encode every image at every level twice, decode
once in the same instance, serialize the declared state of every level) and ``decode`` (restore a fresh instance
from the declared state, decode the other process's bytes before anything else, then fit and encode again for
cross-process determinism). A run's job: ``decode stored`` (restore, then decode stored bitstreams: how a run
decodes a codec that is not a built-in).
"""
from __future__ import annotations

import os
import pickle
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

MESSAGE = 300  # characters of a compressor's own error message that a report repeats
NETWORK_EVENTS = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                  "socket.gethostbyname", "socket.gethostbyaddr")


def refuse_network(event: str, args: tuple) -> None:
    if event in NETWORK_EVENTS:
        raise PermissionError(f"no network in a contained process ({event})")


class Progress:
    def __init__(self) -> None:
        self.out = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)  # whatever the compressor prints goes to stderr, not into the progress channel

    def say(self, line: str) -> None:
        self.out.write(line.replace("\n", " ") + "\n")
        self.out.flush()


def _timed(progress: Progress, what: str, call: Callable[[], Any]) -> tuple[Any, float]:
    progress.say(f"call {what}")
    started = time.perf_counter()
    value = call()
    progress.say("done")
    return value, time.perf_counter() - started


def _load(job: dict[str, Any]) -> Any:
    from storagebench.compressors import COMPRESSORS

    return COMPRESSORS.create(job["spec"], job["params"], "[compressor]")


def _plain_stream(stream: Any) -> bytes | tuple[str, str]:
    """The bitstream if it is exactly bytes; else only the name of what it was (nothing of it crosses)."""
    return stream if type(stream) is bytes else ("not bytes", f"{type(stream).__module__}.{type(stream).__qualname__}")


def _plain_array(image: Any) -> np.ndarray:
    return np.array(image, copy=True, subok=False)


def _fit(codec: Any, job: dict[str, Any], progress: Progress) -> float:
    return _timed(progress, f"fit on {len(job['fit_images'])} training images",
                  lambda: codec.fit(job["fit_images"], job["levels"], Path(job["cache"]), 1))[1]


def _states(codec: Any, job: dict[str, Any], progress: Progress) -> dict[str, bytes]:
    from storagebench.compressors.protocol import level_label
    from storagebench.compressors.state import pack_state

    return {level_label(level): _timed(progress, f"fitted_state at level {level!r}",
                                       lambda: pack_state(codec.fitted_state(level)))[0] for level in job["levels"]}


def encode_job(codec: Any, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Fit, then encode every image at every level twice (determinism) and decode once in this instance."""
    from storagebench.compressors.protocol import level_label

    out: dict[str, Any] = {"levels": {}, "streams": {}, "again": {}, "decoded": {}, "seconds": []}
    out["fit_seconds"] = _fit(codec, job, progress)
    for level in job["levels"]:
        per_item = codec.item_levels(level, len(job["images"]))
        levels = per_item if isinstance(per_item, list) else [per_item] * len(job["images"])
        key = level_label(level)
        out["levels"][key] = levels
        streams, again, decoded = [], [], []
        for i, (image, item_level) in enumerate(zip(job["images"], levels)):
            what = f"encode of image {i} at level {item_level!r}"
            stream, seconds = _timed(progress, what, lambda: codec.encode(image, item_level))
            second, seconds_again = _timed(progress, what, lambda: codec.encode(image, item_level))
            streams.append(_plain_stream(stream))
            again.append(_plain_stream(second))
            if type(stream) is not bytes:
                break
            image_back, seconds_decode = _timed(progress, f"decode of image {i} at level {item_level!r}",
                                                lambda: codec.decode(stream, item_level))
            decoded.append(_plain_array(image_back))
            out["seconds"] += [seconds, seconds_again, seconds_decode]
        out["streams"][key], out["again"][key], out["decoded"][key] = streams, again, decoded
    out["states"] = _states(codec, job, progress)
    return out


def _restore(codec: Any, job: dict[str, Any], progress: Progress) -> None:
    from storagebench.compressors.protocol import level_label
    from storagebench.compressors.state import unpack_state

    for level in job["levels"]:
        state = unpack_state(job["states"][level_label(level)])
        if state:
            _timed(progress, f"restore at level {level!r}", lambda: codec.restore(level, state))


def decode_job(codec: Any, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Restore the declared state, decode the bytes another process made (before anything else), then fit and
    encode again."""
    out: dict[str, Any] = {"decoded": {}, "encoded": {}, "seconds": []}
    _restore(codec, job, progress)
    for key, streams in job["streams"].items():
        decoded = []
        for i, (stream, item_level) in enumerate(zip(streams, job["item_levels"][key])):
            image_back, seconds = _timed(progress, f"decode of image {i} at level {item_level!r} in a fresh process",
                                         lambda: codec.decode(stream, item_level))
            decoded.append(_plain_array(image_back))
            out["seconds"].append(seconds)
        out["decoded"][key] = decoded
    _fit(codec, job, progress)
    for key in job["streams"]:
        encoded = []
        for i, (image, item_level) in enumerate(zip(job["images"], job["item_levels"][key])):
            stream, seconds = _timed(progress, f"encode of image {i} at level {item_level!r} in a fresh process",
                                     lambda: codec.encode(image, item_level))
            encoded.append(_plain_stream(stream))
            out["seconds"].append(seconds)
        out["encoded"][key] = encoded
    out["states"] = _states(codec, job, progress)
    return out


def decode_stored_job(codec: Any, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """A run's decoding: restore the declared state, then decode stored bitstreams (items ``first``.. of a set)."""
    _restore(codec, job, progress)
    decoded = []
    for i, (stream, item_level) in enumerate(zip(job["streams"], job["item_levels"])):
        image, _ = _timed(progress, f"decode of item {job['first'] + i} at level {item_level!r}",
                          lambda: codec.decode(stream, item_level))
        decoded.append(_plain_array(image))
    return {"decoded": decoded}


JOBS = {"encode": encode_job, "decode": decode_job, "decode stored": decode_stored_job}


def main(job_path: str, result_path: str) -> None:
    sys.addaudithook(refuse_network)  # first: nothing loaded below can open a socket
    progress = Progress()
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    try:
        codec = _load(job)
        progress.say("ready")
        result = {"ok": True, **JOBS[job["mode"]](codec, job, progress)}
    except MemoryError:
        result = {"ok": False, "error": "MemoryError", "traceback": traceback.format_exc(limit=-3)}
    except Exception as exc:  # noqa: BLE001  (any failure of the compressor is a finding to report)
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        result = {"ok": False, "error": message if len(message) <= MESSAGE else f"{message[:MESSAGE]}…",
                  "traceback": traceback.format_exc(limit=-3)}
    with open(result_path + ".tmp", "wb") as f:
        pickle.dump(result, f)
    os.replace(result_path + ".tmp", result_path)
    progress.say("finished")
    os._exit(0)  # now: a thread or child the compressor left must not keep this process (or its pipe) alive


if __name__ == "__main__":
    main(*sys.argv[1:3])
