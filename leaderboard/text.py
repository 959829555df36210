"""The leaderboard as the terminal shows it: per board and budget, entries by rank, then the baselines."""
from __future__ import annotations

from typing import Any


def _number(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def format_leaderboard(summary: dict[str, Any]) -> str:
    lines = []
    for board in summary["boards"]:
        entries = len(next(iter(board["rankings"].values()))["entries"])
        reduction = board.get("kind") == "reduction"  # no fit: the sd over seeds instead
        target = "" if reduction else \
            f"; target error {_number(board['target_error'], '.4f')} ({board['target_from']})"
        lines.append(f"== {board['title']}: {entries} entries{target}")
        for budget, tables in board["rankings"].items():
            lines.append(f"s = {float(budget):,.0f} bytes")
            lines.append(f"  {'rank':>4}  {'entry':<34} {'error':>7} {'sd' if reduction else 'fit':>7} "
                         f"{'' if reduction else 'to target':>11}  best set within s")
            for row in tables["entries"] + tables["baselines"]:
                rank = "" if row["kind"] == "baseline" else _number(row["rank"], "d")
                second = row.get("error_sd") if reduction else row.get("predicted_error")
                lines.append(f"  {rank:>4}  {row['name'][:34]:<34} {_number(row['measured_error'], '.4f'):>7} "
                             f"{_number(second, '.4f'):>7} "
                             f"{'' if reduction else _number(row.get('bytes_to_target'), ',.0f'):>11}  "
                             f"{row['measured_by'] or '—'}")
    return "\n".join(lines)
