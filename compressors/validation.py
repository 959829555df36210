"""Validate a compressor before it is benchmarked, with every call contained in a child process.

Two fresh interpreters (``compressors/sandbox.py``), each in its own empty working and temporary folder (removed
when it ends) and under a memory limit: the first encodes sample images at every level twice and decodes them; the
second gets only the bytes, the levels and the compressor's declared state, decodes first, then encodes again. The
checks, each reported by name: the compressor loads; encode returns bytes; the round trip keeps shape and dtype;
encoding is deterministic (within a process and across processes); the fresh process decodes exactly what the
encoding process did (so nothing travels outside the bitstream: module globals and files left in the working or
temporary folder are gone); no call runs past the time limit; no process crashes or runs out of memory.

Not caught: state written to a fixed absolute path outside those folders (that needs a container).
"""
from __future__ import annotations

import os
import pickle
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.compressors.protocol import Level

STARTUP_SECONDS = 120.0  # importing torch-based compressors and restoring their state takes seconds


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
                "max_call_seconds": round(self.max_call_seconds, 4),
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks]}

    def format(self) -> str:
        lines = [f"validation of {self.spec}: {'passed' if self.passed else 'FAILED'} ({self.seconds:.1f} s)"]
        lines += [f"  [{'ok' if c.ok else 'FAIL'}] {c.name}{': ' + c.detail if c.detail else ''}" for c in self.checks]
        return "\n".join(lines)


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 10.0  # per encode or decode call
    memory_mb: int = 4096  # address space of each child process
    startup_seconds: float = STARTUP_SECONDS


class ChildFailed(Exception):
    """A child crashed, hung, ran out of memory or raised: the message says which and in what call."""


def _run_child(job: dict[str, Any], limits: Limits, workdir: Path) -> dict[str, Any]:
    """Run one sandbox job in a fresh interpreter; its result, or ChildFailed naming what went wrong."""
    private = Path(tempfile.mkdtemp(prefix="sandbox-", dir=workdir))
    job_path, result_path = workdir / f"{private.name}.job", workdir / f"{private.name}.result"
    job_path.write_bytes(pickle.dumps(job))
    memory = limits.memory_mb * 1024 * 1024
    env = {**os.environ, "TMPDIR": str(private), "TEMP": str(private), "TMP": str(private),
           "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH", "")]))}
    stderr_path = workdir / f"{private.name}.stderr"
    try:
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "storagebench.compressors.sandbox", str(job_path), str(result_path)],
                stdout=subprocess.PIPE, stderr=stderr, cwd=private, env=env, start_new_session=True,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory)))
            _watch(proc, limits)
        if proc.returncode < 0:
            raise ChildFailed(f"crashed (killed by {signal.Signals(-proc.returncode).name}) in "
                              f"{_last_call(proc)}")
        if not result_path.is_file():
            tail = stderr_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise ChildFailed(f"exited with status {proc.returncode} in {_last_call(proc)} without a result"
                              + (f": {' | '.join(tail)}" if tail else ""))
        result = pickle.loads(result_path.read_bytes())
    finally:
        shutil.rmtree(private, ignore_errors=True)
        for path in (job_path, result_path, stderr_path):
            path.unlink(missing_ok=True)
    if not result["ok"]:
        if result["error"] == "MemoryError":
            raise ChildFailed(f"ran out of memory (limit {limits.memory_mb} MiB) in {_last_call(proc)}")
        raise ChildFailed(f"raised {result['error']} in {_last_call(proc)}")
    return result


def _last_call(proc: subprocess.Popen) -> str:
    return getattr(proc, "last_call", None) or "start-up (loading the compressor)"


def _watch(proc: subprocess.Popen, limits: Limits) -> None:
    """Follow the child's progress lines; kill it when start-up or one call outlasts its limit."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    buffer, in_call = b"", False
    deadline = time.monotonic() + limits.startup_seconds
    proc.last_call = None  # type: ignore[attr-defined]
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(timeout=remaining):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            what = f"{proc.last_call} did not return within {limits.call_seconds:g} s" if in_call else \
                f"start-up did not finish within {limits.startup_seconds:g} s"  # type: ignore[attr-defined]
            raise ChildFailed(what)
        chunk = os.read(proc.stdout.fileno(), 65536)  # type: ignore[union-attr]
        if not chunk:
            proc.wait()
            return
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            text = line.decode(errors="replace")
            if text.startswith("call "):
                proc.last_call, in_call = text[5:], True  # type: ignore[attr-defined]
                deadline = time.monotonic() + limits.call_seconds
            elif text in ("done", "ready"):
                in_call = False
                deadline = time.monotonic() + limits.startup_seconds


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


def validate(spec: str, params: dict[str, Any], state: dict[str, Any], images: list[np.ndarray],
             levels: list[Level], limits: Limits = Limits()) -> ValidationReport:
    """Run the checks on ``images`` (uint8, as the benchmark will give them) at every level; stop at the first
    failure. ``state`` is the compressor's declared fitted state (``ImageCodec.fitted_state``), if any."""
    report = ValidationReport(spec)
    started = time.perf_counter()
    job = {"spec": spec, "params": params, "state": state, "images": images, "levels": list(levels)}
    with tempfile.TemporaryDirectory(prefix="storagebench-validate-") as workdir:
        try:
            first = _run_child({**job, "mode": "encode"}, limits, Path(workdir))
        except ChildFailed as exc:
            report.add("runs contained (encode process)", str(exc))
        else:
            if _check_first(report, images, first):
                try:
                    second = _run_child({**job, "mode": "decode", "streams": first["streams"],
                                         "item_levels": first["levels"]}, limits, Path(workdir))
                except ChildFailed as exc:
                    report.add("decodes from the bytes alone", f"a fresh process given only the bytes and the level "
                                                                f"{exc}; decoding must not need state left by encode")
                else:
                    _check_second(report, first, second)
                    report.max_call_seconds = max([*first["seconds"], *second["seconds"]], default=0.0)
    report.seconds = time.perf_counter() - started
    return report


def _check_first(report: ValidationReport, images: list[np.ndarray], first: dict[str, Any]) -> bool:
    report.add("runs contained (encode process)", None, f"{len(first['seconds'])} calls")
    bad = next(((k, i, type(s).__name__) for k, streams in first["streams"].items() for i, s in enumerate(streams)
                if not isinstance(s, bytes)), None)
    if not report.add("encode returns bytes", bad and f"image {bad[1]} at level {bad[0]}: got {bad[2]}"):
        return False
    if not report.add("round trip keeps shape and dtype", _shape_problem(images, first["decoded"])):
        return False
    diff = _first_difference(first["streams"], first["again"])
    return report.add("encoding is deterministic", diff and f"image {diff[1]} at level {diff[0]} gave different "
                                                            f"bytes when encoded twice in one process")


def _check_second(report: ValidationReport, first: dict[str, Any], second: dict[str, Any]) -> None:
    diff = _first_difference(first["decoded"], second["decoded"])
    report.add("decodes from the bytes alone", diff and (
        f"image {diff[1]} at level {diff[0]}: a fresh process given only the bytes and the level decoded different "
        f"pixels than the process that encoded; decoding uses state outside the bitstream"))
    diff = _first_difference(first["streams"], second["encoded"])
    report.add("encoding is deterministic across processes", diff and (
        f"image {diff[1]} at level {diff[0]} gave different bytes in a fresh process"))
