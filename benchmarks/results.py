"""The results database (``results.sqlite`` in a results dir): one row per (cell, test level), written with its
cell in one transaction, so a killed run leaves only whole cells behind and a re-run resumes after them.

Tables: ``runs`` (provenance of each invocation), ``cells`` (one trained model each), ``evaluations`` (one per
cell and test level), ``curve_cells`` (storage-curve sets), ``reduced_cells`` (coresets and distilled sets) and the view ``results`` joining the last two, for ``pandas.read_sql("select * from results")``.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from storagebench.errors import StorageBenchError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, config_hash TEXT NOT NULL, git_commit TEXT NOT NULL,
    library_versions TEXT NOT NULL, machine TEXT NOT NULL, workers INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    cell TEXT PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(run_id),
    train_level TEXT NOT NULL, n INTEGER NOT NULL, seed INTEGER NOT NULL,
    train_bytes_per_image REAL NOT NULL, train_bytes_total INTEGER NOT NULL, train_label_bytes_total INTEGER NOT NULL,
    train_sha256 TEXT NOT NULL, train_manifest_sha256 TEXT NOT NULL, codec_versions TEXT NOT NULL,
    decoder_bytes INTEGER NOT NULL, codec_info TEXT NOT NULL, steps INTEGER NOT NULL, train_seconds REAL NOT NULL,
    eval_seconds REAL NOT NULL, finished_at TEXT NOT NULL, device TEXT NOT NULL DEFAULT 'cpu');
CREATE TABLE IF NOT EXISTS evaluations (
    cell TEXT NOT NULL REFERENCES cells(cell), test_level TEXT NOT NULL,
    test_bytes_per_image REAL NOT NULL, test_manifest_sha256 TEXT NOT NULL, error REAL NOT NULL,
    metrics TEXT NOT NULL, PRIMARY KEY (cell, test_level));
CREATE TABLE IF NOT EXISTS curve_cells (
    cell TEXT PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(run_id), scheme TEXT NOT NULL,
    budget REAL NOT NULL, seed INTEGER NOT NULL, n INTEGER NOT NULL, bytes_total INTEGER NOT NULL,
    label_bytes_total INTEGER NOT NULL,
    bytes_per_image REAL NOT NULL, level TEXT NOT NULL, train_sha256 TEXT NOT NULL,
    train_manifest_sha256 TEXT NOT NULL, steps INTEGER NOT NULL, train_seconds REAL NOT NULL,
    eval_seconds REAL NOT NULL, test_level TEXT NOT NULL, error REAL NOT NULL, metrics TEXT NOT NULL,
    finished_at TEXT NOT NULL, device TEXT NOT NULL DEFAULT 'cpu');
CREATE TABLE IF NOT EXISTS reduced_cells (
    cell TEXT PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(run_id), reducer TEXT NOT NULL,
    method TEXT NOT NULL, images_per_class INTEGER NOT NULL, seed INTEGER NOT NULL, n INTEGER NOT NULL,
    bytes_total INTEGER NOT NULL, image_bytes INTEGER NOT NULL, label_bytes INTEGER NOT NULL,
    extra_bytes INTEGER NOT NULL, storage TEXT NOT NULL, payload_sha256 TEXT NOT NULL, train_sha256 TEXT NOT NULL,
    reduce_seconds REAL NOT NULL, steps INTEGER NOT NULL, train_seconds REAL NOT NULL, eval_seconds REAL NOT NULL,
    error REAL NOT NULL, own_error REAL, metrics TEXT NOT NULL, info TEXT NOT NULL, versions TEXT NOT NULL,
    finished_at TEXT NOT NULL, device TEXT NOT NULL DEFAULT 'cpu');
CREATE VIEW IF NOT EXISTS results AS
    SELECT c.cell, c.train_level, c.n, c.seed, c.train_bytes_per_image, c.train_label_bytes_total, e.test_level,
           e.test_bytes_per_image, e.error, e.metrics, c.steps, c.train_seconds, c.run_id
    FROM cells c JOIN evaluations e USING (cell);
"""

SCHEMA_VERSION = "4"  # 2: label bytes per cell, curve cells; 3: decoder bytes and codec info per cell; 4: device
MIGRATABLE = ("3",)  # older schemas a writer upgrades in place
DEVICE_TABLES = ("cells", "curve_cells", "reduced_cells")  # schema 4 added their device column (3 → 4: all "cpu")

CELL_COLUMNS = ("cell", "run_id", "train_level", "n", "seed", "train_bytes_per_image", "train_bytes_total",
                "train_label_bytes_total",
                "train_sha256", "train_manifest_sha256", "codec_versions", "decoder_bytes", "codec_info", "steps",
                "train_seconds",
                "eval_seconds", "finished_at", "device")


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if read_only:  # never creates the file, never writes to it
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
    conn.row_factory = sqlite3.Row
    return conn


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
                            f"{_now()}").encode(), 0)

    def release(self) -> None:
        os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ResultsDB:
    """``results.sqlite``. A writer (the default) holds the results dir's lock (``DirLock``) while it is open, creates
    the tables and upgrades an older schema; ``read_only=True`` changes nothing on disk (analyses). Either way a file
    that is not a readable results database, or one of another schema, is one error naming it, found before any
    change."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = Path(path)
        self.lock = None if read_only else DirLock(self.path.parent)
        try:
            self.conn = _connect(self.path, read_only)
        except sqlite3.DatabaseError as exc:
            self._release()
            raise self._unreadable(exc) from None
        try:
            self._open(read_only)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self._unreadable(exc) from None
        except StorageBenchError:
            self.close()
            raise

    def _unreadable(self, exc: Exception) -> StorageBenchError:
        return StorageBenchError(f"{self.path}: not a readable results database ({exc}); it is damaged or not "
                                 f"storagebench's: restore it from a copy, or run into a new --out")

    def _open(self, read_only: bool) -> None:
        problem = self.conn.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise sqlite3.DatabaseError(problem)
        tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "meta" not in tables:
            raise sqlite3.DatabaseError(f"an SQLite database without storagebench's tables "
                                        f"({', '.join(sorted(tables))})")
        version = self.meta("schema_version") if "meta" in tables else None
        fresh = not tables or ("runs" in tables and self._count("runs") == 0 and version is None)
        if not fresh and version not in MIGRATABLE + (SCHEMA_VERSION,):
            raise StorageBenchError(f"{self.path}: written by another storagebench version (results schema "
                                    f"{version or 1}, this one reads {SCHEMA_VERSION}); run into a new --out")
        if read_only:
            if fresh:
                raise StorageBenchError(f"{self.path}: holds no results yet")
            if version != SCHEMA_VERSION:
                raise StorageBenchError(f"{self.path}: results schema {version}; any `storagebench run` or `curves` "
                                        f"on this dir upgrades it to {SCHEMA_VERSION} in place")
            return
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        if version == "3":  # every schema-3 result was computed on the CPU
            self._add_device_columns()
        elif fresh:
            self.set_meta({"schema_version": SCHEMA_VERSION})

    def _count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def _add_device_columns(self) -> None:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for table in DEVICE_TABLES:
                columns = {row["name"] for row in self.conn.execute(f"PRAGMA table_info({table})")}
                if "device" not in columns:
                    self.conn.execute(f"ALTER TABLE {table} ADD COLUMN device TEXT NOT NULL DEFAULT 'cpu'")
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def close(self) -> None:
        self.conn.close()
        self._release()

    def _release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def __enter__(self) -> "ResultsDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row["value"]

    def set_meta(self, values: dict[str, str]) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def start_run(self, config_hash: str, commit: str, versions: dict, machine: dict, workers: int) -> int:
        with self.conn:
            self.conn.execute("BEGIN")
            cursor = self.conn.execute(
                "INSERT INTO runs (started_at, config_hash, git_commit, library_versions, machine, workers) "
                "VALUES (?, ?, ?, ?, ?, ?)", (_now(), config_hash, commit, json.dumps(versions),
                                              json.dumps(machine), workers))
        return int(cursor.lastrowid)

    def finished_cells(self) -> set[str]:
        return {row["cell"] for row in self.conn.execute("SELECT cell FROM cells")}

    def write_cell(self, cell: dict[str, Any], evaluations: list[dict[str, Any]]) -> None:
        """The cell and all its evaluations, or nothing."""
        cell = {**cell, "finished_at": _now(), "codec_versions": json.dumps(cell["codec_versions"]),
                "codec_info": json.dumps(cell["codec_info"])}
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(f"INSERT INTO cells ({', '.join(CELL_COLUMNS)}) VALUES "
                              f"({', '.join('?' * len(CELL_COLUMNS))})", [cell[c] for c in CELL_COLUMNS])
            self.conn.executemany(
                "INSERT INTO evaluations VALUES (?, ?, ?, ?, ?, ?)",
                [(cell["cell"], e["test_level"], e["test_bytes_per_image"], e["test_manifest_sha256"],
                  e["error"], json.dumps(e["metrics"])) for e in evaluations])

    def rows(self, test_level: str | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT * FROM results", ()
        if test_level is not None:
            query, args = query + " WHERE test_level = ?", (test_level,)
        return [dict(r) for r in self.conn.execute(query + " ORDER BY train_level, n, seed, test_level", args)]

    def _insert(self, table: str, row: dict[str, Any], json_columns: tuple[str, ...]) -> None:
        """One row in its own transaction; ``json_columns`` are stored as JSON text."""
        row = {**row, "finished_at": _now(), **{c: json.dumps(row[c]) for c in json_columns}}
        columns = list(row)
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                              f"({', '.join('?' * len(columns))})", [row[c] for c in columns])

    def write_curve_cell(self, row: dict[str, Any]) -> None:
        self._insert("curve_cells", row, ("metrics",))

    def write_reduced_cell(self, row: dict[str, Any]) -> None:
        self._insert("reduced_cells", row, ("metrics", "info", "versions"))

    def reduced_rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM reduced_cells ORDER BY reducer, images_per_class, seed")]

    def curve_rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM curve_cells ORDER BY budget, scheme, seed")]

    def cells(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM cells ORDER BY cell")]
