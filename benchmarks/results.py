"""The results database (``results.sqlite`` in a results dir): one row per (cell, test level), written with its
cell in one transaction, so a killed run leaves only whole cells behind and a re-run resumes after them.

Tables: ``runs`` (provenance of each invocation), ``cells`` (one trained model each), ``evaluations`` (one per
cell and test level), ``curve_cells`` (storage-curve sets), ``reduced_cells`` (coresets and distilled sets) and the view ``results`` joining the last two, for ``pandas.read_sql("select * from results")``.
"""
from __future__ import annotations

import json
import sqlite3
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
DEVICE_TABLES = ("cells", "curve_cells", "reduced_cells")  # schema 4 added their device column (3 → 4: all "cpu")

CELL_COLUMNS = ("cell", "run_id", "train_level", "n", "seed", "train_bytes_per_image", "train_bytes_total",
                "train_label_bytes_total",
                "train_sha256", "train_manifest_sha256", "codec_versions", "decoder_bytes", "codec_info", "steps",
                "train_seconds",
                "eval_seconds", "finished_at", "device")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ResultsDB:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None)  # explicit transactions below
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self._check_version()

    def _check_version(self) -> None:
        """A results dir from another schema is refused before anything is trained into it."""
        version = self.meta("schema_version")
        if version == "3":  # every schema-3 result was computed on the CPU
            self._add_device_columns()
            version = self.meta("schema_version")
        if version is None and self.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0:
            self.set_meta({"schema_version": SCHEMA_VERSION})
        elif version != SCHEMA_VERSION:
            self.close()
            raise StorageBenchError(f"{self.path}: written by another storagebench version (results schema "
                                    f"{version or 1}, this one reads {SCHEMA_VERSION}); run into a new --out")

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
