"""The lock of a results dir: one command writes into it at a time, and a second is told who holds it."""
from __future__ import annotations

import fcntl
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from storagebench.errors import StorageBenchError


class DirLock:
    """An exclusive lock on a results dir (``.lock`` in it) for the one command writing into it. A second writer is
    refused at once, naming the holder; the lock goes with its process, however that ends (``flock``)."""

    def __init__(self, folder: Path):
        path = Path(folder) / ".lock"
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageBenchError(f"{folder}: cannot write results here ({exc.strerror})") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 4096, 0).decode(errors="replace").strip() or "a process that has not said"
            os.close(self.fd)
            raise StorageBenchError(f"{folder}: in use by another storagebench command ({holder}); wait for it to "
                                    f"finish, or run into another --out") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, (f"pid {os.getpid()} on {socket.gethostname()}: {' '.join(sys.argv[:6])}, since "
                            f"{now()}").encode(), 0)

    def release(self) -> None:
        os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
