"""The leaderboard as the terminal shows it: per board and budget, entries by rank (ties as "1="), with the 95 %
interval of each mean error and its difference to the original format, then the baselines."""
from __future__ import annotations

from typing import Any

from storagebench.leaderboard.html import interval
from storagebench.units import format_bytes


def _number(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _name_width(rows: list[dict[str, Any]]) -> int:
    """Names are shown whole: the column is as wide as the longest."""
    return max([5, *(len(row["name"]) for row in rows)])


def _codec_lines(tables: dict[str, Any]) -> list[str]:
    rows = tables["entries"] + tables["baselines"]
    w = _name_width(rows)
    lines = [f"  {'rank':>4}  {'entry':<{w}} {'error [95% CI]':>24} {'Δ original [95% CI]':>27} {'k':>2} "
             f"{'n':>6} {'fill':>6}  ranked set"]
    for row in rows:
        rank = "" if row["kind"] == "baseline" else (row.get("rank_label") or "—")
        error, delta = interval(row, "measured_error", ".4f"), interval(row, "to_original", "+.4f")
        fill = "—" if row.get("fill") is None else f"{row['fill']:.1%}"
        lines.append(f"  {rank:>4}  {row['name']:<{w}} {error:>24} {delta:>27} {row.get('seeds', 0):>2} "
                     f"{_number(row.get('n'), '.0f'):>6} {fill:>6}  {row['measured_by'] or '—'}")
    return lines


def _reduction_lines(tables: dict[str, Any]) -> list[str]:
    w = _name_width(tables["entries"])
    lines = [f"  {'rank':>4}  {'entry':<{w}} {'error':>7} {'sd':>7}  declared set"]
    for row in tables["entries"]:
        lines.append(f"  {_number(row['rank'], 'd'):>4}  {row['name']:<{w}} "
                     f"{_number(row['measured_error'], '.4f'):>7} {_number(row.get('error_sd'), '.4f'):>7}  "
                     f"{row['measured_by'] or '—'}")
    return lines


def format_leaderboard(summary: dict[str, Any]) -> str:
    lines = []
    for board in summary["boards"]:
        reduction = board.get("kind") == "reduction"
        rankings = board["rankings"]
        entries = len(next(iter(rankings.values()))["entries"]) if rankings else 0
        lines.append(f"== {board['title']}: {entries} entries" + ("" if reduction or rankings else
                                                                  " (no [protocol] declared: nothing ranked)"))
        for budget, tables in rankings.items():
            lines.append(f"s = {format_bytes(float(budget))}" + ("" if reduction else
                                                                 f" (decoders {board.get('view')})"))
            lines += _reduction_lines(tables) if reduction else _codec_lines(tables)
    return "\n".join(lines)
