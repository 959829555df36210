"""Validate a compressor before it is benchmarked, with every call contained in a child process
(``compressors/containment.py``: no network, its processes killed when it ends, time and memory limits).

Two fresh interpreters: the first fits the compressor on the benchmark's training images, encodes sample images at
every level twice, decodes them, and serializes the state it declares for each level; the second gets only the
bytes, the levels and that serialized state, decodes first, then fits and encodes again. The checks, each reported
by name: the compressor loads and runs contained; encode returns exactly ``bytes``; the round trip keeps shape and
dtype; a ``lossless`` level reproduces the pixels bit for bit; encoding is deterministic (within a process, and
fit plus encoding across processes); the fresh process decodes exactly what the encoding process did (so nothing
travels outside the bitstream and the declared state: module globals, instance attributes, files left in the
private folders and sockets are all out of reach); and the declared state's bytes, measured here.

Not caught: state written by encode to a fixed absolute path outside the private folders and read back by decode
(that needs a private file system as well).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
import tempfile
from typing import Any

import numpy as np

from storagebench.compressors.containment import ChildFailed, Limits, isolation, run_contained
from storagebench.compressors.protocol import LOSSLESS, Level
from storagebench.images import Images, as_images

__all__ = ["Limits", "ValidationReport", "validate"]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class ValidationReport:
    spec: str
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    max_call_seconds: float = 0.0
    decoder_bytes: dict[str, int] = field(default_factory=dict)  # level label → serialized declared state

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def reason(self) -> str:
        return next((f"{c.name}: {c.detail}" for c in self.checks if not c.ok), "")

    def add(self, name: str, problem: str | None, detail: str = "") -> bool:
        self.checks.append(Check(name, problem is None, problem or detail))
        return problem is None

    def as_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "passed": self.passed, "seconds": round(self.seconds, 2),
                "max_call_seconds": round(self.max_call_seconds, 4), "decoder_bytes": self.decoder_bytes,
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks]}

    def format(self) -> str:
        lines = [f"validation of {self.spec}: {'passed' if self.passed else 'FAILED'} ({self.seconds:.1f} s)"]
        lines += [f"  [{'ok' if c.ok else 'FAIL'}] {c.name}{': ' + c.detail if c.detail else ''}" for c in self.checks]
        return "\n".join(lines)


def _shape_problem(images: list[np.ndarray], decoded: dict[str, list[np.ndarray]]) -> str | None:
    for key, arrays in decoded.items():
        for i, (image, back) in enumerate(zip(images, arrays)):
            if back.shape != image.shape or back.dtype != image.dtype:
                return (f"image {i} at level {key}: {image.dtype} {image.shape} decoded to {back.dtype} "
                        f"{back.shape}; decode must return the encoded shape as uint8")
    return None


def _first_difference(a: dict[str, list], b: dict[str, list]) -> tuple[str, int] | None:
    for key in a:
        for i, (x, y) in enumerate(zip(a[key], b[key])):
            same = np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
            if not same:
                return key, i
    return None


def validate(spec: str, params: dict[str, Any], images: list[np.ndarray], levels: list[Level],
             limits: Limits = Limits(), fit_images: Images | None = None,
             cache: Path | None = None) -> ValidationReport:
    """Run the checks on ``images`` (uint8, as the benchmark will give them) at every level; stop at the first
    failure. ``fit_images`` are what ``fit`` learns from (default: ``images``), with its cache in ``cache``."""
    report = ValidationReport(spec)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="storagebench-validate-") as workdir:
        job = {"spec": spec, "params": params, "images": images, "levels": list(levels),
               "fit_images": as_images(images) if fit_images is None else fit_images,
               "cache": str(cache or Path(workdir) / "fit-cache")}
        try:
            first = run_contained({**job, "mode": "encode"}, limits, Path(workdir))
        except ChildFailed as exc:
            report.add("runs contained (encode process)", str(exc))
        else:
            if _check_first(report, images, levels, first):
                try:
                    second = run_contained({**job, "mode": "decode", "streams": first["streams"],
                                            "item_levels": first["levels"], "states": first["states"]},
                                           limits, Path(workdir))
                except ChildFailed as exc:
                    report.add(DECODES_ALONE, f"a fresh process given only the bytes, the level and the declared "
                                              f"state {exc}; decoding must not need state left by encode or fit")
                else:
                    _check_second(report, first, second)
                    report.max_call_seconds = max([*first["seconds"], *second["seconds"]], default=0.0)
    report.seconds = time.perf_counter() - started
    return report


DECODES_ALONE = "decodes from the bytes and declared state alone"


def _not_bytes(streams: dict[str, list]) -> str | None:
    bad = next(((k, i, s) for k, items in streams.items() for i, s in enumerate(items) if type(s) is not bytes), None)
    return bad and (f"image {bad[1]} at level {bad[0]}: got {bad[2][1]}; a bitstream must be exactly bytes (a "
                    f"subclass or other object can carry data outside the counted bytes)")


def _lossless_problem(images: list[np.ndarray], levels: list[Level], decoded: dict[str, list]) -> str | None:
    if LOSSLESS not in levels:
        return None
    changed = next((i for i, (image, back) in enumerate(zip(images, decoded[LOSSLESS]))
                    if not np.array_equal(image, back)), None)
    return None if changed is None else (
        f"image {changed}: the level named {LOSSLESS!r} changed "
        f"{int(np.count_nonzero(images[changed] != decoded[LOSSLESS][changed]))} pixel values; a lossless level must "
        f"reproduce the pixels bit for bit")


def _check_first(report: ValidationReport, images: list[np.ndarray], levels: list[Level],
                 first: dict[str, Any]) -> bool:
    report.add("runs contained (encode process)", None, f"{len(first['seconds'])} calls after a fit of "
                                                        f"{first['fit_seconds']:.1f} s; {isolation().description}")
    if not report.add("encode returns exactly bytes", _not_bytes(first["streams"]) or _not_bytes(first["again"])):
        return False
    if not report.add("round trip keeps shape and dtype", _shape_problem(images, first["decoded"])):
        return False
    if LOSSLESS in levels and not report.add("lossless level reproduces the pixels",
                                             _lossless_problem(images, levels, first["decoded"])):
        return False
    diff = _first_difference(first["streams"], first["again"])
    return report.add("encoding is deterministic", diff and f"image {diff[1]} at level {diff[0]} gave different "
                                                            f"bytes when encoded twice in one process")


def _check_second(report: ValidationReport, first: dict[str, Any], second: dict[str, Any]) -> None:
    diff = _first_difference(first["decoded"], second["decoded"])
    if not report.add(DECODES_ALONE, diff and (
            f"image {diff[1]} at level {diff[0]}: a fresh process given only the bytes, the level and the declared "
            f"state decoded different pixels than the process that encoded; decoding uses state outside them")):
        return
    diff = _first_difference(first["streams"], second["encoded"])
    state = next((k for k in first["states"] if first["states"][k] != second["states"][k]), None)
    report.add("fit and encoding are deterministic across processes", (
        f"image {diff[1]} at level {diff[0]} gave different bytes in a fresh process" if diff else
        f"the declared state of level {state} differs between processes" if state else None))
    sizes = {key: len(packed) for key, packed in first["states"].items()}
    report.add("declared state measured", None, ", ".join(f"level {k}: {v:,} bytes" for k, v in sizes.items()))
    report.decoder_bytes = sizes
