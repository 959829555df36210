"""The results database (``results.sqlite`` in a results dir): one row per (cell, test level), written with its
cell in one transaction, so a killed run leaves only whole cells behind and a re-run resumes after them.

Tables (their rows are the dataclasses of ``rows.py``): ``runs`` (provenance of each invocation), ``cells`` (one
trained model each), ``evaluations`` (one per cell and test level), ``curve_cells`` (storage-curve sets),
``reduced_cells`` (coresets and distilled sets) and the view ``results`` joining the cells and their evaluations, for
``pandas.read_sql("select * from results")``. This module is the only one that speaks SQL.
"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from storagebench.benchmarks.harness.dirlock import DirLock, now
from storagebench.benchmarks.harness.rows import (
    TABLES,
    CellRow,
    CurveCellRow,
    EvaluationRow,
    ReducedCellRow,
    ResultRow,
    Row,
    RunRow,
)
from storagebench.errors import StorageBenchError

META_DDL = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
R = TypeVar("R", bound=Row)


def _add_column(table: type[Row], column: str) -> Callable[[sqlite3.Connection], None]:
    def migrate(conn: sqlite3.Connection) -> None:
        if column not in {row["name"] for row in conn.execute(f"PRAGMA table_info({table.TABLE})")}:
            conn.execute(f"ALTER TABLE {table.TABLE} ADD COLUMN {table.column_sql(column)}")
    return migrate


@dataclass(frozen=True)
class Migration:
    """What upgrades a database of schema ``source`` to the next one, in place, in the writer's transaction."""

    source: str
    why: str
    steps: tuple[Callable[[sqlite3.Connection], None], ...]


# Schemas 1 and 2 are read by no current version; each entry upgrades ``source`` to the next schema.
MIGRATIONS = (
    Migration("3", "the device each cell trained on (every schema-3 result was computed on the CPU)",
              tuple(_add_column(t, "device") for t in (CellRow, CurveCellRow, ReducedCellRow))),
    Migration("4", "the decoder bytes a storage-curve set counted (no earlier set counted any)",
              (_add_column(CurveCellRow, "decoder_bytes"),)),
    Migration("5", "each cell's training loss and learning rate every few steps (none was recorded before)",
              (_add_column(CellRow, "history"),)),
)
SCHEMA_VERSION = str(int(MIGRATIONS[-1].source) + 1)
MIGRATABLE = tuple(m.source for m in MIGRATIONS)
SCHEMA = "\n".join([META_DDL, *(t.ddl() for t in TABLES), ResultRow.ddl()])


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if read_only:  # never creates the file, never writes to it
        if not path.is_file():
            raise StorageBenchError(f"{path}: no results database here (make one with `storagebench run --out "
                                    f"{path.parent}`)")
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
    conn.row_factory = sqlite3.Row
    return conn


class ResultsDB:
    """``results.sqlite``. A writer (the default) holds the results dir's lock (``DirLock``) while it is open, creates
    the tables and upgrades an older schema (``MIGRATIONS``); ``read_only=True`` changes nothing on disk and creates
    nothing (analyses). Either way a file that is not a readable results database, or one of another schema, is one
    error naming it, found before any change. Rows go in and come out as the dataclasses of ``rows.py``."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = Path(path)
        self.lock = None if read_only else DirLock(self.path.parent)
        self.conn: sqlite3.Connection | None = None
        try:
            self.conn = _connect(self.path, read_only)
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
        fresh = not tables or ("runs" in tables and self._count(RunRow) == 0 and version is None)
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
        if fresh:
            self.set_meta({"schema_version": SCHEMA_VERSION})
        else:
            self._migrate(version)

    def _migrate(self, version: str) -> None:
        """Every migration from ``version`` on, in one transaction: a crash leaves the old schema whole."""
        pending = [m for m in MIGRATIONS if int(m.source) >= int(version)]
        if not pending:
            return
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for migration in pending:
                for step in migration.steps:
                    step(self.conn)
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def _count(self, table: type[Row]) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table.TABLE}").fetchone()[0])

    def close(self) -> None:
        if self.conn is not None:
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

    # -- meta: the results dir's identity (definition hash, data fingerprints) and what runs recorded once

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row["value"]

    def meta_json(self, key: str, default: object = None) -> object:
        value = self.meta(key)
        return default if value is None else json.loads(value)

    def set_meta(self, values: dict[str, str]) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    # -- writes: each one transaction

    def start_run(self, config_hash: str, commit: str, versions: dict, machine: dict, workers: int) -> int:
        columns = RunRow.columns()[1:]  # run_id: SQLite numbers the runs
        run = RunRow(0, now(), config_hash, commit, versions, machine, workers)
        with self.conn:
            self.conn.execute("BEGIN")
            cursor = self.conn.execute(RunRow.insert_sql(columns), run.values()[1:])
        return int(cursor.lastrowid)

    def write_cell(self, cell: CellRow, evaluations: list[EvaluationRow]) -> None:
        """The cell and all its evaluations, or nothing."""
        self._insert(cell, evaluations)

    def write_curve_cell(self, row: CurveCellRow) -> None:
        self._insert(row)

    def write_reduced_cell(self, row: ReducedCellRow) -> None:
        self._insert(row)

    def _insert(self, row: Row, dependents: list[EvaluationRow] | tuple = ()) -> None:
        if "finished_at" in row.columns():
            row = dataclasses.replace(row, finished_at=now())
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(row.insert_sql(), row.values())
            for dependent in dependents:
                self.conn.execute(dependent.insert_sql(), dependent.values())

    # -- reads

    def read(self, table: type[R], **equal: object) -> list[R]:
        """Every row of ``table`` (a ``rows.py`` dataclass) whose columns equal ``equal``, in the table's order."""
        unknown = set(equal) - set(table.columns())
        if unknown:
            raise ValueError(f"{table.TABLE} has no column(s) {', '.join(sorted(unknown))}")
        where = " AND ".join(f"{column} = ?" for column in equal)
        query = f"SELECT * FROM {table.TABLE}" + (f" WHERE {where}" if where else "") + f" ORDER BY {table.ORDER}"
        return [table.from_sql(row) for row in self.conn.execute(query, list(equal.values()))]

    def finished_cells(self, table: type[Row] = CellRow) -> set[str]:
        return {row["cell"] for row in self.conn.execute(f"SELECT cell FROM {table.TABLE}")}

    def rows(self, test_level: str | None = None) -> list[ResultRow]:
        return self.read(ResultRow, **({} if test_level is None else {"test_level": test_level}))

    def cells(self) -> list[CellRow]:
        return self.read(CellRow)

    def evaluations(self) -> list[EvaluationRow]:
        return self.read(EvaluationRow)

    def runs(self) -> list[RunRow]:
        return self.read(RunRow)

    def curve_rows(self) -> list[CurveCellRow]:
        return self.read(CurveCellRow)

    def reduced_rows(self) -> list[ReducedCellRow]:
        return self.read(ReducedCellRow)
