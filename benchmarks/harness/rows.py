"""The rows of a results dir's tables, typed. Each table is one dataclass: its DDL, column list, INSERT and the
decoding of what is read back are all generated from the fields (``int`` → INTEGER, ``float`` → REAL, ``str`` →
TEXT, ``float | None`` → nullable REAL, ``dict``/``list`` → JSON text). A new column is one field here, plus a
migration in ``results.py`` for databases written before it."""
from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

SQL_TYPES = {int: "INTEGER", float: "REAL", str: "TEXT"}


@dataclass(frozen=True)
class Row:
    """A table's row. ``TABLE`` names the table; ``KEY`` its primary key; ``REFERENCES`` column → ``table(column)``;
    ``ORDER`` how reads sort; ``DEFAULTS`` column → SQL default (for columns a migration added)."""

    TABLE: ClassVar[str] = ""
    KEY: ClassVar[tuple[str, ...]] = ()
    REFERENCES: ClassVar[dict[str, str]] = {}
    ORDER: ClassVar[str] = ""
    DEFAULTS: ClassVar[dict[str, str]] = {}

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def column_sql(cls, name: str) -> str:
        kind = _hints(cls)[name]
        nullable = typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in typing.get_args(kind)
        base = next((a for a in typing.get_args(kind) if a is not type(None)), kind) if nullable else kind
        sql = f"{name} {SQL_TYPES.get(base, 'TEXT')}"
        if cls.KEY == (name,):
            sql += " PRIMARY KEY"
        if not nullable and not (cls.KEY == (name,) and base is int):  # INTEGER PRIMARY KEY: SQLite numbers it
            sql += " NOT NULL"
        if name in cls.DEFAULTS:
            sql += f" DEFAULT {cls.DEFAULTS[name]}"
        if name in cls.REFERENCES:
            sql += f" REFERENCES {cls.REFERENCES[name]}"
        return sql

    @classmethod
    def ddl(cls) -> str:
        parts = [cls.column_sql(c) for c in cls.columns()]
        if len(cls.KEY) > 1:
            parts.append(f"PRIMARY KEY ({', '.join(cls.KEY)})")
        return f"CREATE TABLE IF NOT EXISTS {cls.TABLE} (\n    {', '.join(parts)});"

    @classmethod
    def insert_sql(cls, columns: tuple[str, ...] | None = None) -> str:
        columns = columns or cls.columns()
        return f"INSERT INTO {cls.TABLE} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"

    def values(self) -> list[Any]:
        """The row as SQLite takes it: JSON columns as text."""
        json_columns = _json_columns(type(self))
        return [json.dumps(v) if c in json_columns else v for c, v in zip(self.columns(), dataclasses.astuple(self))]

    @classmethod
    def from_sql(cls, row: Any) -> "Row":
        """A row as SQLite returns it (``sqlite3.Row``): JSON text decoded."""
        json_columns = _json_columns(cls)
        return cls(**{c: json.loads(row[c]) if c in json_columns else row[c] for c in cls.columns()})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def _json_columns(cls: type) -> frozenset[str]:
    return frozenset(name for name, kind in _hints(cls).items()
                     if name in cls.columns() and (typing.get_origin(kind) or kind) in (dict, list))


@dataclass(frozen=True)
class RunRow(Row):
    """One invocation of a command that trains: its provenance."""

    TABLE: ClassVar[str] = "runs"
    KEY: ClassVar[tuple[str, ...]] = ("run_id",)
    ORDER: ClassVar[str] = "run_id"

    run_id: int
    started_at: str
    config_hash: str
    git_commit: str
    library_versions: dict[str, Any]
    machine: dict[str, Any]
    workers: int


@dataclass(frozen=True)
class CellRow(Row):
    """One trained model of a grid: (train level, n, seed), what it was trained on and how."""

    TABLE: ClassVar[str] = "cells"
    KEY: ClassVar[tuple[str, ...]] = ("cell",)
    REFERENCES: ClassVar[dict[str, str]] = {"run_id": "runs(run_id)"}
    ORDER: ClassVar[str] = "cell"
    DEFAULTS: ClassVar[dict[str, str]] = {"device": "'cpu'", "history": "'{}'"}

    cell: str
    run_id: int
    train_level: str
    n: int
    seed: int
    train_bytes_per_image: float
    train_bytes_total: int
    train_label_bytes_total: int
    train_sha256: str
    train_manifest_sha256: str
    codec_versions: dict[str, Any]
    decoder_bytes: int
    codec_info: dict[str, Any]
    steps: int
    train_seconds: float
    eval_seconds: float
    finished_at: str = ""
    device: str = "cpu"
    # the training loss and learning rate every k steps (``fit_model``): {"step": [...], "loss": [...], "lr": [...]}
    history: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class EvaluationRow(Row):
    """A grid cell's model evaluated at one test level."""

    TABLE: ClassVar[str] = "evaluations"
    KEY: ClassVar[tuple[str, ...]] = ("cell", "test_level")
    REFERENCES: ClassVar[dict[str, str]] = {"cell": "cells(cell)"}
    ORDER: ClassVar[str] = "cell, test_level"

    cell: str
    test_level: str
    test_bytes_per_image: float
    test_manifest_sha256: str
    error: float
    metrics: dict[str, Any]


@dataclass(frozen=True)
class ResultRow(Row):
    """The ``results`` view: a cell joined with one of its evaluations (what analyses and pandas read)."""

    TABLE: ClassVar[str] = "results"
    ORDER: ClassVar[str] = "train_level, n, seed, test_level"

    cell: str
    train_level: str
    n: int
    seed: int
    train_bytes_per_image: float
    train_label_bytes_total: int
    test_level: str
    test_bytes_per_image: float
    error: float
    metrics: dict[str, Any]
    steps: int
    train_seconds: float
    run_id: int

    @classmethod
    def ddl(cls) -> str:
        evaluated = set(EvaluationRow.columns()) - {"cell"}
        columns = ", ".join(f"{'e' if c in evaluated else 'c'}.{c}" for c in cls.columns())
        return (f"CREATE VIEW IF NOT EXISTS {cls.TABLE} AS\n    SELECT {columns}\n"
                f"    FROM {CellRow.TABLE} c JOIN {EvaluationRow.TABLE} e USING (cell);")


@dataclass(frozen=True)
class CurveCellRow(Row):
    """One storage-curve set: (scheme, budget, seed), trained and evaluated on original-format test images."""

    TABLE: ClassVar[str] = "curve_cells"
    KEY: ClassVar[tuple[str, ...]] = ("cell",)
    REFERENCES: ClassVar[dict[str, str]] = {"run_id": "runs(run_id)"}
    ORDER: ClassVar[str] = "budget, scheme, seed"
    DEFAULTS: ClassVar[dict[str, str]] = {"device": "'cpu'", "decoder_bytes": "0"}

    cell: str
    run_id: int
    scheme: str
    budget: float
    seed: int
    n: int
    bytes_total: int
    label_bytes_total: int
    bytes_per_image: float
    level: str
    train_sha256: str
    train_manifest_sha256: str
    steps: int
    train_seconds: float
    eval_seconds: float
    test_level: str
    error: float
    metrics: dict[str, Any]
    finished_at: str = ""
    device: str = "cpu"
    decoder_bytes: int = 0  # the level's declared decoder state, when the scheme counted it toward the budget


@dataclass(frozen=True)
class ReducedCellRow(Row):
    """One reduced training set (coreset or distilled set): (reducer, images per class, seed), its stored bytes and
    the error of the benchmark's recipe on it (and of the reducer's own protocol, where it has one)."""

    TABLE: ClassVar[str] = "reduced_cells"
    KEY: ClassVar[tuple[str, ...]] = ("cell",)
    REFERENCES: ClassVar[dict[str, str]] = {"run_id": "runs(run_id)"}
    ORDER: ClassVar[str] = "reducer, images_per_class, seed"
    DEFAULTS: ClassVar[dict[str, str]] = {"device": "'cpu'"}

    cell: str
    run_id: int
    reducer: str
    method: str
    images_per_class: int
    seed: int
    n: int
    bytes_total: int
    image_bytes: int
    label_bytes: int
    extra_bytes: int
    storage: str
    payload_sha256: str
    train_sha256: str
    reduce_seconds: float
    steps: int
    train_seconds: float
    eval_seconds: float
    error: float
    own_error: float | None
    metrics: dict[str, Any]
    info: dict[str, Any]
    versions: dict[str, Any]
    finished_at: str = ""
    device: str = "cpu"


TABLES: tuple[type[Row], ...] = (RunRow, CellRow, EvaluationRow, CurveCellRow, ReducedCellRow)
