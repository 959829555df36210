"""A results dir opened for a command: its database (read-only for analyses) and its ``config.toml``, checked against
the hash of the definition its results were measured under before anything it names is used."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from storagebench.benchmarks.harness.results import ResultsDB
from storagebench.errors import StorageBenchError


def open_results_dir(out: Path, write: bool = False) -> tuple[ResultsDB, dict[str, Any]]:
    """A results dir's database (read-only unless ``write``: then this command holds its lock) and its
    ``config.toml``, checked against the hash of the definition its results were measured under."""
    db_path, config_path = out / "results.sqlite", out / "config.toml"
    if not db_path.is_file() or not config_path.is_file():
        raise StorageBenchError(f"{out}: not a results dir (needs results.sqlite and config.toml; "
                                f"make one with `storagebench run --out {out}`)")
    db = ResultsDB(db_path, read_only=not write)
    try:
        config = _checked_config(config_path, db)
    except BaseException:
        db.close()
        raise
    return db, config


def read_checked_config(out: Path) -> dict[str, Any]:
    """A results dir's ``config.toml``, checked against its recorded hash: what a command may act on."""
    db, config = open_results_dir(out)
    db.close()
    return config


def _checked_config(path: Path, db: ResultsDB) -> dict[str, Any]:
    from storagebench.benchmarks.definition import (
        identity_hash,
        reduction_identity_hash,
    )

    try:
        config = tomllib.loads(path.read_text())
        found = (reduction_identity_hash if db.meta("kind") == "reduction" else identity_hash)(config)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise StorageBenchError(f"{path}: not the definition storagebench wrote ({type(exc).__name__}: "
                                f"{exc})") from None
    recorded = db.meta("config_hash")
    if found != recorded:
        raise StorageBenchError(f"{path}: does not match the definition the results beside it were measured under "
                                f"(hash {found[:12]}, recorded {str(recorded)[:12]}): it was edited or replaced. Its "
                                f"names are not trusted; restore it, or re-run the benchmark into a new --out")
    return config
