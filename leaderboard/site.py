"""``storagebench leaderboard DIR... --out SITE``: the ranked tables as ``SITE/index.html`` (one sortable table per
board and budget, the storage-curve figures, tasks side by side; reduction benchmarks' dirs as boards of coresets,
distilled sets and a codec at equal bytes), a page per entry under ``SITE/entries/`` (fit and
cross-compression figures, levels, provenance), and ``leaderboard.json`` / ``leaderboard.csv``. The site is built in
a temporary folder and moved into place whole."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from storagebench.atomic import write_json_atomic
from storagebench.benchmarks.protocol import describe_protocol
from storagebench.errors import StorageBenchError
from storagebench.leaderboard.entry_page import entry_page
from storagebench.leaderboard.export import write_exports
from storagebench.leaderboard.figures import storage_figure
from storagebench.leaderboard.html import esc, fmt, image, interval, num, page, table, text
from storagebench.leaderboard.protocol_sets import declares_state
from storagebench.leaderboard.ranking import rank_board, tasks_side_by_side
from storagebench.leaderboard.reduction_board import is_reduction_dir, rank_reduction
from storagebench.leaderboard.sources import Board, entry_id, group_boards, load_entries
from storagebench.leaderboard.tasks_compared import as_json, compare
from storagebench.leaderboard.tasks_section import tasks_section
from storagebench.provenance import git_commit
from storagebench.units import format_bytes

RANKING_COLUMNS = [
    num("rank", "rank", lambda r: esc(r.get("rank_label") or "—"),
        help="1= : not distinguishable from the leader (paired t-test over seeds, Holm-corrected, α = 0.05)"),
    text("entry", lambda r: (f'<a href="entries/{esc(r["id"])}.html">{esc(r["name"])}</a>' if r["kind"] == "entry"
                             else esc(r["name"])), help="compressor (parameters); its page has everything else"),
    num("error [95% CI]", "measured_error", lambda r: esc(interval(r, "measured_error", ".4f")),
        help="mean test error of the ranked set over the protocol's seeds, with a 95% t-interval"),
    num("Δ original [95% CI]", "to_original", lambda r: esc(interval(r, "to_original", "+.4f")),
        help="paired difference (same seeds) to the original format filled to s: negative is better"),
    num("seeds", "seeds", help="seeds the ranked set was trained with (subset draw and initialisation)"),
    num("n", "n", lambda r: esc(fmt(r["n"] and round(r["n"]))), help="training images in the ranked set"),
    num("L", "L", lambda r: esc("—" if r["L"] is None else format_bytes(r["L"])),
        help="mean stored bytes per training image"),
    num("fill", "fill", lambda r: esc("—" if r["fill"] is None else f"{r['fill']:.1%}"),
        help="share of s the set's stored bytes (and counted decoder state) fill"),
    text("set", lambda r: esc(r["measured_by"] or "—"),
         help="the ranked set: its scheme and level, or why there is none"),
]

SIDE_COLUMNS = [
    text("task", lambda r: esc(r["task"])), num("budget s", "budget"),
    text("in definition", lambda r: "yes" if r["in_definition"] else "no (fit only)"),
    text("leading entry", lambda r: esc(r["leader"])), num("ν", "nu"), num("n*", "n_star"), num("L*", "L_star"),
    num("fit: error at n*", "predicted_error"), num("ranked set: error", "best_measured"),
    num("original format", "original_format"),
    num("gain over original", "gain_over_original", lambda r: esc(
        "—" if r["gain_over_original"] is None else f"{r['gain_over_original']:+.1%}")),
]


def _budget_tables(index: int, rankings: dict[str, Any], amortized: bool = False) -> list[str]:
    parts = []
    for budget, tables in rankings.items():
        label = " (decoders amortized)" if amortized else ""
        parts.append(f"<h3>s = {esc(format_bytes(float(budget)))}{label}</h3>")
        parts.append(table(RANKING_COLUMNS, tables["entries"], extra_rows=tables["baselines"],
                           table_id=f"board-{index}-s-{budget}{'-amortized' if amortized else ''}"))
    return parts


def _amortized_section(index: int, ranked: dict[str, Any], board: Board) -> list[str]:
    amortized = ranked.get("rankings_amortized")
    if not amortized:
        return []
    if not any(declares_state(e) for e in board.entries):
        return ['<p class="note">Decoders amortized: the same ranking, since no entry declares decoder state.</p>']
    return ['<h3>Decoders amortized</h3><p class="note">The same protocol with decoder state not counted toward s '
            "(as if one decoder served many datasets): a view for reading, labelled as such; the tables above are "
            "the board's ranking.</p>", *_budget_tables(index, amortized, amortized=True)]


def _board_section(index: int, ranked: dict[str, Any], board: Board, figures: Path) -> str:
    d = board.definition
    protocol = ranked.get("protocol")
    how = (esc(describe_protocol(protocol, max(d["n"]))) if protocol else
           "<strong>No protocol declared</strong>: these entries were measured without a [protocol] table, so "
           "nothing is ranked; submit them again with one (benchmarks/leaderboard.toml).")
    parts = [f'<h2 id="board-{index}">{esc(board.title)}</h2>',
             f'<p class="note">{len(board.entries)} entries; grid n ∈ {esc(str(d["n"]))}, grid seeds '
             f'{esc(str(d["seeds"]))}, task recipe <code>{esc(json.dumps(d["task"]))}</code>. '
             f'Download this board: <a href="boards/board-{index}.csv">CSV</a>, '
             f'<a href="boards/board-{index}.json">JSON</a>.</p>',
             f'<p class="note"><strong>Protocol.</strong> {how} Baselines are shown under each table, not ranked.</p>',
             *_budget_tables(index, ranked["rankings"]), *_amortized_section(index, ranked, board)]
    figure = storage_figure(ranked, board, figures / f"storage-{index}.png")
    parts.append(image(figure, f"storage curves: {board.title}"))
    return "\n".join(parts)


REDUCTION_COLUMNS = [
    RANKING_COLUMNS[0], text("set", lambda r: esc(r["name"])), *RANKING_COLUMNS[2:5],
    num("n", "n", lambda r: esc(fmt(r["n"] and round(r["n"])))),
    num("L", "L", lambda r: esc("—" if r["L"] is None else format_bytes(r["L"])), help="mean stored bytes per image"),
    text("declared set", lambda r: esc(r["measured_by"])),
]


def _reduction_section(index: int, ranked: dict[str, Any], figures: Path) -> str:
    figure = figures / f"reduction-{index}.png"
    parts = [f'<h2 id="board-{index}">{esc(ranked["title"])}</h2>',
             f'<p class="note">Coresets and distilled sets stored as real files (images, labels, learned step sizes, '
             f'seed: all counted), trained by the benchmark\'s recipe <code>{esc(json.dumps(ranked["definition"]["task"]))}'
             f'</code>; “own protocol” rows train a distilled set by its learned steps instead. At each '
             f"images-per-class setting, reduced sets within 10 % of each other share a budget, the largest one's bytes; "
             f"the codec is measured at exactly those. At each budget a reducer's ranked set is its largest setting "
             f"that fits (never its best). Means over seeds {esc(str(ranked['seeds']))} with 95% t-intervals; "
             f"Δ original is the paired difference to the codec's original format; entries not distinguishable from "
             f"the leader (Holm-corrected paired t-tests) share rank 1; fewer than 3 seeds: nothing is ranked.</p>"]
    for budget, tables in ranked["rankings"].items():
        parts.append(f"<h3>s = {esc(format_bytes(float(budget)))}</h3>")
        parts.append(table(REDUCTION_COLUMNS, tables["entries"], table_id=f"board-{index}-s-{budget}"))
    parts.append(f'<p class="note">Download this board: <a href="boards/board-{index}.csv">CSV</a>, '
                 f'<a href="boards/board-{index}.json">JSON</a>.</p>')
    parts.append(image(figure if figure.is_file() else None, f"error vs bytes: {ranked['title']}"))
    return "\n".join(parts)


def render_site(site: Path, boards: list[Board], ranked: list[dict[str, Any]], side: list[dict[str, Any]],
                sources: list[str], reductions: list[dict[str, Any]] = (), compared: dict[str, Any] | None = None
                ) -> None:
    """``reductions``: ranked reduction boards, their figures already drawn in ``site/figures``, numbered after
    the codec boards; ``compared``: the tasks compared (``tasks_compared.compare``), shown last."""
    figures = site / "figures"
    titles = [b.title for b in boards] + [r["title"] for r in reductions]
    nav = "".join(f'<a href="#board-{i}">{esc(title)}</a>' for i, title in enumerate(titles)) + \
        ('<a href="#tasks">tasks side by side</a>' if boards else "") + \
        ('<a href="#tasks-compared">tasks compared</a>' if compared else "")
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    body = [f"<h1>storagebench leaderboard</h1><nav>{nav}</nav>",
            f'<p class="note">Which compressor gives the lowest error for this task at this storage budget? Built '
            f"{esc(created)} by storagebench at commit {esc(git_commit()[:12])} from {len(sources)} source(s). "
            f"Click or press Enter on a column header to sort; hover it for what the column means. Everything as "
            f'<a href="leaderboard.json">JSON</a> and <a href="leaderboard.csv">CSV</a>.</p>',
            '<p><input type="search" id="filter" placeholder="filter entries (name, level, …)" '
            'aria-label="filter entries"></p>']
    body += [_board_section(i, r, b, figures) for i, (r, b) in enumerate(zip(ranked, boards))]
    body += [_reduction_section(len(boards) + i, r, figures) for i, r in enumerate(reductions)]
    if boards:
        body += ['<h2 id="tasks">Tasks side by side at equal storage</h2>',
                 '<p class="note">Each task\'s leading entry (rank 1 at its largest budget) at every budget of any task: '
                 "its ν, the optimal allocation n*/L* and predicted error from its fit, and, at the board's own "
                 "budgets, its ranked set's mean error and its gain over the original format (1 − ratio of the "
                 "means).</p>",
                 table(SIDE_COLUMNS, side, table_id="tasks-side-by-side", row_class="task")]
    if compared:
        body.append(tasks_section(compared, figures))
    (site / "index.html").write_text(page("storagebench leaderboard", "\n".join(body)))
    (site / "entries").mkdir()
    for board, result in zip(boards, ranked):
        rows = [row for rankings in (result["rankings"], result.get("rankings_amortized") or {})
                for tables in rankings.values() for row in tables["entries"]]
        for entry in board.entries:
            ident = entry_id(entry)
            (site / "entries" / f"{ident}.html").write_text(
                entry_page(entry, [r for r in rows if r["id"] == ident], figures))


def _check_out(site: Path) -> None:
    """Only an earlier site (or an empty folder) is replaced."""
    if site.exists() and (not site.is_dir() or (not (site / "index.html").is_file() and any(site.iterdir()))):
        raise StorageBenchError(f"{site}: exists and is not a leaderboard site (no index.html); choose another --out")


def _replace_dir(built: Path, site: Path) -> None:
    if site.exists():
        shutil.rmtree(site)
    os.replace(built, site)


def build_leaderboard(paths: list[Path], site: Path, target: float | None = None,
                      tasks: list[Path] = ()) -> dict[str, Any]:
    """Everything ``storagebench leaderboard`` writes; returns the ranked boards (what leaderboard.json holds).
    ``tasks``: results dirs to compare as tasks at equal storage (``comparison.json`` and a section)."""
    _check_out(site)
    if not paths and not tasks:
        raise StorageBenchError("leaderboard: give results dirs or entry files to rank, or --tasks DIR ... to compare")
    compared = compare(list(tasks)) if tasks else None
    reduction_dirs = [p for p in paths if is_reduction_dir(p)]
    others = [p for p in paths if p not in reduction_dirs]
    entries = load_entries(others) if others else []
    boards = group_boards(entries)
    ranked = [rank_board(b, target) for b in boards]
    side = tasks_side_by_side(ranked, boards) if boards else []
    sources = [e["source"] for e in entries] + [str(p) for p in reduction_dirs]
    site.parent.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(prefix=f".{site.name}.", dir=site.parent))
    try:
        (built / "figures").mkdir()
        reductions = [rank_reduction(p, built / "figures" / f"reduction-{len(boards) + i}.png")
                      for i, p in enumerate(reduction_dirs)]
        summary = write_exports(built, ranked + reductions, side, sources)
        if compared:
            write_json_atomic(built / "comparison.json", as_json(compared))
        render_site(built, boards, ranked, side, sources, reductions, compared)
        _replace_dir(built, site)
    except BaseException:
        shutil.rmtree(built, ignore_errors=True)
        raise
    return summary
