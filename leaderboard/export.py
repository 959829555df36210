"""``leaderboard.json`` (every board: definition, protocol, target, rankings per view and budget; tasks side by
side), ``leaderboard.csv`` (one row per board, view, budget and entry or baseline, through pandas), and the same per
board under ``boards/`` (``board-I.json``, ``board-I.csv``), the page's downloads."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from storagebench.provenance import git_commit

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as the start of a formula


def ranking_frame(ranked: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per board, view, budget and entry or baseline; per-seed errors as a JSON text column."""
    rows = [{"task": board["task"], "dataset": board["dataset"], **row,
             **({"errors_by_seed": json.dumps(row["errors_by_seed"])} if "errors_by_seed" in row else {})}
            for board in ranked for rankings in (board["rankings"], board.get("rankings_amortized") or {})
            for tables in rankings.values() for row in tables["entries"] + tables["baselines"]]
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
    (site / "boards").mkdir(exist_ok=True)
    for index, board in enumerate(ranked):  # per-board downloads, numbered as the page's boards
        (site / "boards" / f"board-{index}.json").write_text(json.dumps(board, indent=2))
        ranking_frame([board]).map(inert_text).to_csv(site / "boards" / f"board-{index}.csv", index=False)
    return summary
