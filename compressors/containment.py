"""Run one job of a compressor's code in a contained child process (``compressors/sandbox.py``) and read back
what it returned.

The child is a fresh interpreter (spawned, nothing of this process's memory), in an empty private working,
temporary and home folder (removed when it ends), with a minimal environment and a memory limit. Where Linux
namespaces can be made (as root, or through an unprivileged user namespace), it runs in a network namespace of its
own, which has no network (not even a loopback that is up), and a PID namespace of its own, whose processes the
kernel kills as soon as the child ends. Where the kernel takes one (no root needed), a seccomp filter refuses IPv4
and IPv6 sockets to it and to every process it starts. Everywhere, an audit hook refuses socket calls in its
interpreter, and when it ends its process group is killed, and so is every process it started in another (this
process reaps orphans). A call
that outlives its limit, a child that does not exit once it has said it finished, and start-up past its limit are
killed. The result is unpickled with only builtins and numpy arrays
allowed: nothing the compressor made can run code here.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import pickle
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

STARTUP_SECONDS = 120.0  # importing torch-based compressors and restoring their state takes seconds
EXIT_SECONDS = 10.0  # from "finished" to the child's end
NAMESPACES = ("--net", "--pid", "--fork", "--kill-child")
PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 36, 38, 22, 2
KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "MALLOC_MMAP_THRESHOLD_", "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 10.0  # per encode or decode call
    memory_mb: int = 4096  # address space of each child process
    startup_seconds: float = STARTUP_SECONDS
    fit_seconds: float = 600.0  # a learned codec's fit (a cache hit when the benchmark has fitted it before)


@dataclass(frozen=True)
class Isolation:
    prefix: tuple[str, ...]  # what the child's command line starts with
    seccomp: bool  # IPv4/IPv6 sockets refused by the kernel for the child and everything it starts
    description: str


class ChildFailed(Exception):
    """A child crashed, hung, ran out of memory or raised: the message says which and in what call."""


@functools.cache
def isolation() -> Isolation:
    """The strongest containment this machine allows, found once per process by trying it: namespaces (as root,
    or through an unprivileged user namespace), and a seccomp filter that refuses IPv4/IPv6 sockets."""
    seccomp = _probe([sys.executable, "-c", PROBE], True) is None
    unshare, tried = shutil.which("unshare"), []
    for prefix in _namespace_prefixes(unshare) if unshare else ():
        problem = _probe([*prefix, sys.executable, "-c", "pass"], seccomp)
        if problem is None:
            return Isolation(prefix, seccomp, "own network and PID namespaces (no network; every process it starts "
                                              "ends with it)" + (", IPv4/IPv6 sockets refused by a seccomp filter"
                                                                 if seccomp else ""))
        tried.append(problem)
    why = "; ".join(tried) or "no unshare command"
    guard = ("IPv4/IPv6 sockets refused by a seccomp filter for it and every process it starts" if seccomp else
             "socket calls refused by an audit hook in its interpreter (no seccomp filter could be loaded)")
    return Isolation((), seccomp, f"{guard}; every process it started killed at the end (namespaces unavailable: "
                                  f"{why})")


PROBE = "import socket\ntry:\n    socket.socket()\nexcept PermissionError:\n    pass\nelse:\n    raise SystemExit(3)"


def _namespace_prefixes(unshare: str) -> tuple[tuple[str, ...], ...]:
    plain, user = (unshare, *NAMESPACES), (unshare, "--user", "--map-root-user", *NAMESPACES)
    return (plain, user) if os.geteuid() == 0 else (user, plain)


def _probe(command: list[str], seccomp: bool) -> str | None:
    """None if ``command`` runs and exits 0 under the seccomp filter (when asked for), else why not."""
    try:
        done = subprocess.run(command, capture_output=True, timeout=30,
                              preexec_fn=_refuse_sockets if seccomp else None)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"{command[0]} exited with {done.returncode}"


# seccomp: a classic BPF program over struct seccomp_data (nr at 0, arch at 4, args[0] at 16), loaded with
# PR_SET_NO_NEW_PRIVS then PR_SET_SECCOMP. It refuses socket(AF_INET | AF_INET6, …) and io_uring_setup (whose
# sockets would bypass the check) with EACCES, for the process and everything it starts; it cannot be removed.
ARCHES = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}  # AUDIT_ARCH_*, __NR_socket
IO_URING_SETUP, AF_INET, AF_INET6, EACCES = 425, 2, 10, 13
LOAD, JUMP_IF_EQUAL, RETURN = 0x20, 0x15, 0x06
ALLOW, DENY = 0x7FFF0000, 0x00050000 | EACCES


def _filter_program() -> list[tuple[int, int, int, int]] | None:
    import platform

    found = ARCHES.get(platform.machine())
    if found is None:
        return None
    arch, socket_nr = found
    # (code, jump if true, jump if false, k); a jump skips that many instructions: 8 is ALLOW, 9 is DENY
    return [(LOAD, 0, 0, 4), (JUMP_IF_EQUAL, 0, 6, arch),  # 0-1: another ABI: allow
            (LOAD, 0, 0, 0), (JUMP_IF_EQUAL, 5, 0, IO_URING_SETUP), (JUMP_IF_EQUAL, 0, 3, socket_nr),  # 2-4
            (LOAD, 0, 0, 16), (JUMP_IF_EQUAL, 2, 0, AF_INET), (JUMP_IF_EQUAL, 1, 0, AF_INET6),  # 5-7: the domain
            (RETURN, 0, 0, ALLOW), (RETURN, 0, 0, DENY)]  # 8-9


def _refuse_sockets() -> None:
    """In a child between fork and exec: load the filter (an OSError if the kernel refuses it)."""
    import ctypes

    class Instruction(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]

    program = _filter_program()
    if program is None:
        raise OSError("no seccomp filter for this architecture")
    instructions = (Instruction * len(program))(*[Instruction(*i) for i in program])
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0 or prctl(
            PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(Program(len(program), instructions)), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


def run_contained(job: dict[str, Any], limits: Limits, workdir: Path) -> dict[str, Any]:
    """Run one sandbox job; its result, or ChildFailed naming what went wrong."""
    private = Path(tempfile.mkdtemp(prefix="sandbox-", dir=workdir))
    job_path, result_path = workdir / f"{private.name}.job", workdir / f"{private.name}.result"
    stderr_path = workdir / f"{private.name}.stderr"
    job_path.write_bytes(pickle.dumps(job))
    memory = limits.memory_mb * 1024 * 1024
    env = {**{k: os.environ[k] for k in KEPT_ENVIRONMENT if k in os.environ}, "HOME": str(private),
           "TMPDIR": str(private), "TEMP": str(private), "TMP": str(private),
           "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH", "")]))}
    contained = isolation()
    command = [*contained.prefix, sys.executable, "-m", "storagebench.compressors.sandbox", str(job_path),
               str(result_path)]
    try:
        with open(stderr_path, "wb") as stderr, _reaping():
            with _LOCK:  # several children may run at once (a run decoding in parallel): each knows the others
                known = _children()
                proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, cwd=private, env=env,
                                        start_new_session=True,
                                        preexec_fn=lambda: _prepare(memory, contained.seccomp))
                _ACTIVE.add(proc.pid)
            try:
                _watch(proc, limits)
            finally:
                _end(proc, known)
        result = _read_result(proc, result_path, stderr_path)
    finally:
        shutil.rmtree(private, ignore_errors=True)
        for path in (job_path, result_path, stderr_path):
            path.unlink(missing_ok=True)
    if not result["ok"]:
        if result["error"] == "MemoryError":
            raise ChildFailed(f"ran out of memory (limit {limits.memory_mb} MiB) in {_last_call(proc)}")
        raise ChildFailed(f"raised {result['error']} in {_last_call(proc)}")
    return result


def _prepare(memory: int, seccomp: bool) -> None:
    """In the child between fork and exec: its memory limit and, where it loads, the network filter."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if seccomp:
        _refuse_sockets()


def _end(proc: subprocess.Popen, known: set[int]) -> None:
    """Kill the child's process group, and every process it left behind in another (this process adopted them)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    for _ in range(100):  # a killed process's own children are adopted next
        with _LOCK:
            _ACTIVE.discard(proc.pid)
            left = _children() - known - _ACTIVE
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError, PermissionError):
                pass


_LOCK = threading.Lock()
_ACTIVE: set[int] = set()  # contained children running now
_REAPING = [0]  # how many of them need this process to reap orphans


@contextlib.contextmanager
def _reaping() -> Iterator[None]:
    """Be the reaper of orphaned descendants (Linux) while a child runs, so a process it started in a session of
    its own is still found, and killed, when it ends."""
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        prctl = None
    with _LOCK:
        _REAPING[0] += 1
        if prctl is not None and _REAPING[0] == 1:
            prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        with _LOCK:
            _REAPING[0] -= 1
            if prctl is not None and _REAPING[0] == 0:
                prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _children() -> set[int]:
    me, found = os.getpid(), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            found.add(int(stat.parent.name))
    return found


def _read_result(proc: subprocess.Popen, result_path: Path, stderr_path: Path) -> dict[str, Any]:
    if not result_path.is_file():
        if proc.returncode < 0 and not getattr(proc, "finished", False):
            raise ChildFailed(f"crashed (killed by {signal.Signals(-proc.returncode).name}) in {_last_call(proc)}")
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise ChildFailed(f"exited with status {proc.returncode} in {_last_call(proc)} without a result"
                          + (f": {' | '.join(tail)}" if tail else ""))
    return SafeUnpickler(io.BytesIO(result_path.read_bytes())).load()


class SafeUnpickler(pickle.Unpickler):
    """Builtins and numpy arrays only: a result cannot name code to import or run."""

    ALLOWED = {("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"a contained process's result may not name {module}.{name}")
        return super().find_class(module, name)


def _last_call(proc: subprocess.Popen) -> str:
    return getattr(proc, "last_call", None) or "start-up (loading the compressor)"


def _watch(proc: subprocess.Popen, limits: Limits) -> None:
    """Follow the child's progress lines until it ends (or says it finished and then lingers); raise ChildFailed
    when start-up or one call outlasts its limit."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    buffer, limit, in_call = b"", limits.startup_seconds, False
    deadline = time.monotonic() + limit
    proc.last_call = proc.finished = None  # type: ignore[attr-defined]
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(timeout=remaining):
            if proc.finished:  # type: ignore[attr-defined]  (it said so; something it started holds the pipe)
                return
            raise ChildFailed(f"{proc.last_call} did not return within {limit:g} s" if in_call else  # type: ignore
                              f"start-up did not finish within {limit:g} s")
        chunk = os.read(proc.stdout.fileno(), 65536)  # type: ignore[union-attr]
        if not chunk:
            return
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            text = line.decode(errors="replace")
            if text.startswith("call "):
                proc.last_call, in_call = text[5:], True  # type: ignore[attr-defined]
                limit = limits.fit_seconds if text.startswith("call fit") else limits.call_seconds
            elif text in ("done", "ready"):
                in_call, limit = False, limits.startup_seconds
            elif text == "finished":
                proc.finished, limit = True, EXIT_SECONDS  # type: ignore[attr-defined]
            deadline = time.monotonic() + limit
