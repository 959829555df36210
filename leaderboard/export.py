"""``leaderboard.json`` (every board: definition, target, rankings per budget; tasks side by side) and
``leaderboard.csv`` (one row per board, budget and entry or baseline, through pandas)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from storagebench.provenance import git_commit

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as the start of a formula


def ranking_frame(ranked: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [{"task": board["task"], "dataset": board["dataset"], **row}
            for board in ranked for tables in board["rankings"].values()
            for row in tables["entries"] + tables["baselines"]]
    return pd.DataFrame(rows)


def inert_text(value: Any) -> Any:
    """A text cell a spreadsheet shows as text, never runs: one starting like a formula gets a leading quote."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def write_exports(site: Path, ranked: list[dict[str, Any]], side: list[dict[str, Any]],
                  sources: list[str]) -> dict[str, Any]:
    summary = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "git_commit": git_commit(),
               "sources": sources, "boards": ranked, "tasks_side_by_side": side}
    (site / "leaderboard.json").write_text(json.dumps(summary, indent=2))
    ranking_frame(ranked).map(inert_text).to_csv(site / "leaderboard.csv", index=False)
    return summary
