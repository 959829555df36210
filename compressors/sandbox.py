"""The child side of compressor validation: ``python -m storagebench.compressors.sandbox JOB RESULT``.

It runs in a fresh interpreter (spawned, not forked: nothing of the parent's memory), in its own empty working and
temporary folder, under a memory limit. It builds the compressor from its spec, parameters and declared fitted
state only, runs the job's calls and pickles what they returned to RESULT. Before and after each call it writes a
line to the progress channel (the original stdout; the compressor's own prints go to stderr), so the parent can
stop a call that does not return within the time limit.
"""
from __future__ import annotations

import os
import pickle
import sys
import time
import traceback
from typing import Any, Callable

import numpy as np

from storagebench.compressors.protocol import level_label


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

    codec = COMPRESSORS.create(job["spec"], job["params"], "[compressor]")
    if job.get("state"):
        codec.restore(job["state"])
    return codec


def encode_job(codec: Any, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Encode every image at every level twice (determinism), decode once (in the process that encoded)."""
    out: dict[str, Any] = {"levels": {}, "streams": {}, "again": {}, "decoded": {}, "seconds": []}
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
            image_back, seconds_decode = _timed(progress, f"decode of image {i} at level {item_level!r}",
                                                lambda: codec.decode(stream, item_level))
            streams.append(stream)
            again.append(second)
            decoded.append(np.asarray(image_back))
            out["seconds"] += [seconds, seconds_again, seconds_decode]
        out["streams"][key], out["again"][key], out["decoded"][key] = streams, again, decoded
    return out


def decode_job(codec: Any, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Decode the bytes another process made (first, before this process encodes anything), then encode again."""
    out: dict[str, Any] = {"decoded": {}, "encoded": {}, "seconds": []}
    for key, streams in job["streams"].items():
        levels = job["item_levels"][key]
        decoded = []
        for i, (stream, item_level) in enumerate(zip(streams, levels)):
            image_back, seconds = _timed(progress, f"decode of image {i} at level {item_level!r} in a fresh process",
                                         lambda: codec.decode(stream, item_level))
            decoded.append(np.asarray(image_back))
            out["seconds"].append(seconds)
        out["decoded"][key] = decoded
    for key, streams in job["streams"].items():
        encoded = []
        for i, (image, item_level) in enumerate(zip(job["images"], job["item_levels"][key])):
            stream, seconds = _timed(progress, f"encode of image {i} at level {item_level!r} in a fresh process",
                                     lambda: codec.encode(image, item_level))
            encoded.append(stream)
            out["seconds"].append(seconds)
        out["encoded"][key] = encoded
    return out


def main(job_path: str, result_path: str) -> int:
    progress = Progress()
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    try:
        codec = _load(job)
        progress.say("ready")
        result = {"ok": True, **(encode_job if job["mode"] == "encode" else decode_job)(codec, job, progress)}
    except MemoryError:
        result = {"ok": False, "error": "MemoryError", "traceback": traceback.format_exc(limit=-3)}
    except Exception as exc:  # noqa: BLE001  (any failure of the compressor is a finding to report)
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=-3)}
    with open(result_path + ".tmp", "wb") as f:
        pickle.dump(result, f)
    os.replace(result_path + ".tmp", result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
