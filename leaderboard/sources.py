"""What a leaderboard is built from: results dirs (their entry is rebuilt from ``results.sqlite``, keeping the
validation report and claims of an ``entry.json`` beside it), entry JSON files, and folders of entry files such as
``leaderboard/entries/``. Entries are grouped into boards, one per task and dataset; entries measured under another
benchmark definition (other budgets, n, seeds or recipe) than the board's are refused, never mixed in."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storagebench.benchmarks.protocol import parse_protocol
from storagebench.errors import StorageBenchError
from storagebench.leaderboard.entry import ENTRY_FORMAT, board_definition, build_entry

MAX_ID = 96  # characters of an entry id, which names the entry's page and figures
REQUIRED = ("compressor", "benchmark", "levels", "errors", "fit", "curves", "baselines", "baseline_errors")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StorageBenchError(f"{path}: not a JSON leaderboard entry ({exc})") from None


def _read_entry(path: Path) -> dict[str, Any]:
    entry = _read_json(path)
    if not isinstance(entry, dict) or entry.get("entry_format") != ENTRY_FORMAT:
        found = entry.get("entry_format") if isinstance(entry, dict) else None
        raise StorageBenchError(f"{path}: entry format {found!r}, this storagebench reads {ENTRY_FORMAT}; rebuild it "
                                f"from its results dir (storagebench leaderboard RESULTS_DIR) or submit again")
    missing = [key for key in REQUIRED if key not in entry]
    if missing:
        raise StorageBenchError(f"{path}: leaderboard entry lacks {', '.join(missing)}")
    return entry


def _from_results_dir(path: Path) -> dict[str, Any]:
    beside = path / "entry.json"
    saved = _read_json(beside) if beside.is_file() else {}  # its measurements are rebuilt; any format will do
    return build_entry(path, saved.get("validation"), saved.get("claimed"))


def load_entries(paths: list[Path]) -> list[dict[str, Any]]:
    """Every entry the paths name, each tagged with where it came from."""
    entries = []
    for path in paths:
        if (path / "results.sqlite").is_file():
            found = [(path, _from_results_dir(path))]
        elif path.is_dir():
            files = sorted(path.glob("*.json"))
            if not files:
                raise StorageBenchError(f"{path}: neither a results dir (results.sqlite) nor a folder of entry JSON "
                                        f"files")
            found = [(f, _read_entry(f)) for f in files]
        elif path.is_file():
            found = [(path, _read_entry(path))]
        else:
            raise StorageBenchError(f"{path}: no such results dir or entry file")
        entries += [{**entry, "source": str(where)} for where, entry in found]
    if not entries:
        raise StorageBenchError("leaderboard: no entries given")
    return entries


def entry_id(entry: dict[str, Any]) -> str:
    """Unique and readable: the compressor's name, its parameters, and the benchmark's short hash."""
    compressor = entry["compressor"]
    params = "-".join(f"{k}{v}" for k, v in sorted(compressor["params"].items()))
    text = "-".join(filter(None, [compressor["name"], params, entry["benchmark"]["config_hash"][:8]]))
    ident = re.sub(r"[^A-Za-z0-9._-]+", "_", text).lstrip(".")
    if len(ident) > MAX_ID:  # it names files: keep it well under the file system's 255 bytes, and still unique
        ident = f"{ident[:MAX_ID - 17]}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return ident


def display_name(entry: dict[str, Any]) -> str:
    compressor = entry["compressor"]
    params = ", ".join(f"{k}={v}" for k, v in sorted(compressor["params"].items()))
    return f"{compressor['name']} ({params})" if params else compressor["name"]


@dataclass
class Board:
    """Entries ranked together: one task on one dataset under one benchmark definition."""

    task: str
    dataset: str
    definition: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.task} on {self.dataset}"

    @property
    def budgets(self) -> list[float]:
        return [float(b) for b in self.definition["budgets"]]


def _differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out += _differences(x, y, f"{prefix}{key}.")
        elif x != y:
            out.append(f"{prefix}{key}: {x!r} vs {y!r}")
    return out


def group_boards(entries: list[dict[str, Any]]) -> list[Board]:
    boards: dict[tuple[str, str], Board] = {}
    for entry in entries:
        bench = entry["benchmark"]
        definition = board_definition(bench["config"])
        if definition["protocol"] is not None:  # data: read by the one parser that reads benchmark files
            parse_protocol(definition["protocol"], f"{entry['source']}: [protocol]")
        if not definition["budgets"]:
            raise StorageBenchError(f"{entry['source']}: its benchmark definition has no [benchmark].budgets, so "
                                    f"there is nothing to rank at; add budgets = [...] to the TOML and run it again")
        key = (bench["task"], bench["dataset"])
        board = boards.setdefault(key, Board(*key, definition))
        if definition != board.definition:
            first = board.entries[0]["source"]
            raise StorageBenchError(
                f"{entry['source']}: measured under a different benchmark definition than {first} (same task "
                f"{key[0]!r} on {key[1]!r}, but {'; '.join(_differences(board.definition, definition))}); "
                f"entries are only ranked at equal storage under one definition: build a separate leaderboard")
        ids = {entry_id(e) for e in board.entries}
        if entry_id(entry) in ids:
            raise StorageBenchError(f"{entry['source']}: the same compressor and parameters as another entry "
                                    f"({entry_id(entry)}); give each entry once")
        board.entries.append(entry)
    return list(boards.values())
