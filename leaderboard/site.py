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

from storagebench.errors import StorageBenchError
from storagebench.leaderboard.export import write_exports
from storagebench.leaderboard.figures import fit_figure, matrix_figure, storage_figure
from storagebench.leaderboard.html import esc, fmt, image, interval, num, page, table, text
from storagebench.leaderboard.ranking import rank_board, tasks_side_by_side
from storagebench.leaderboard.reduction_board import is_reduction_dir, rank_reduction
from storagebench.leaderboard.sources import Board, display_name, entry_id, group_boards, load_entries
from storagebench.provenance import git_commit

RANKING_COLUMNS = [
    num("rank", "rank"),
    text("entry", lambda r: (f'<a href="entries/{esc(r["id"])}.html">{esc(r["name"])}</a>' if r["kind"] == "entry"
                             else esc(r["name"]))),
    num("measured error", "measured_error"),
    text("best set within s", lambda r: esc(r["measured_by"] or "nothing fits")),
    num("n", "measured_n"), num("L (bytes)", "measured_L"),
    num("fit: error at n*(s)", "predicted_error"), num("n*", "n_star"), num("L*", "L_star"),
    num("bytes to target", "bytes_to_target"),
    num("ν [90% CI]", "nu", lambda r: esc(interval(r, "nu"))),
    num("α [90% CI]", "alpha", lambda r: esc(interval(r, "alpha"))),
    num("β [90% CI]", "beta", lambda r: esc(interval(r, "beta"))),
    num("claimed error", "claimed_error"), num("claimed − measured", "claimed_minus_measured"),
]

SIDE_COLUMNS = [
    text("task", lambda r: esc(r["task"])), num("budget s", "budget"),
    text("in definition", lambda r: "yes" if r["in_definition"] else "no (fit only)"),
    text("leading entry", lambda r: esc(r["leader"])), num("ν", "nu"), num("n*", "n_star"), num("L*", "L_star"),
    num("fit: error at n*", "predicted_error"), num("best measured", "best_measured"),
    num("original format", "original_format"),
    num("gain over original", "gain_over_original", lambda r: esc(
        "—" if r["gain_over_original"] is None else f"{r['gain_over_original']:+.1%}")),
]


def _board_section(index: int, ranked: dict[str, Any], board: Board, figures: Path) -> str:
    d = board.definition
    parts = [f'<h2 id="board-{index}">{esc(board.title)}</h2>',
             f'<p class="note">{len(board.entries)} entries; n ∈ {esc(str(d["n"]))}, seeds {esc(str(d["seeds"]))}, '
             f'task recipe <code>{esc(json.dumps(d["task"]))}</code>. Target error for “bytes to target”: '
             f'{esc(fmt(ranked["target_error"]))} ({esc(ranked["target_from"])}). Measured errors are means over '
             f'seeds of real training sets whose stored bytes fit within s; baselines are ranked separately below '
             f'each table.</p>']
    for budget, tables in ranked["rankings"].items():
        parts.append(f"<h3>s = {esc(fmt(float(budget)))} bytes</h3>")
        parts.append(table(RANKING_COLUMNS, tables["entries"], table_id=f"board-{index}-s-{budget}",
                           extra_rows=tables["baselines"]))
    figure = storage_figure(ranked, board, figures / f"storage-{index}.png")
    parts.append(image(figure, f"storage curves: {board.title}"))
    return "\n".join(parts)


REDUCTION_COLUMNS = [
    num("rank", "rank"), text("set", lambda r: esc(r["name"])), num("measured error", "measured_error"),
    num("sd over seeds", "error_sd"), text("best set within s", lambda r: esc(r["measured_by"])),
    num("n", "measured_n"), num("bytes / image", "measured_L"),
]


def _reduction_section(index: int, ranked: dict[str, Any], figures: Path) -> str:
    figure = figures / f"reduction-{index}.png"
    parts = [f'<h2 id="board-{index}">{esc(ranked["title"])}</h2>',
             f'<p class="note">Coresets and distilled sets stored as real files (images, labels, learned step sizes, '
             f'seed: all counted), trained by the benchmark\'s recipe <code>{esc(json.dumps(ranked["definition"]["task"]))}'
             f'</code>; “own protocol” rows train a distilled set by its learned steps instead. At each '
             f"images-per-class setting, reduced sets within 10 % of each other share a budget, the largest one's bytes; "
             f"the codec is measured at exactly those. "
             f'Means over seeds {esc(str(ranked["seeds"]))}.</p>']
    for budget, tables in ranked["rankings"].items():
        parts.append(f"<h3>s = {esc(fmt(float(budget)))} bytes</h3>")
        parts.append(table(REDUCTION_COLUMNS, tables["entries"], table_id=f"board-{index}-s-{budget}"))
    parts.append(image(figure if figure.is_file() else None, f"error vs bytes: {ranked['title']}"))
    return "\n".join(parts)


def _entry_page(entry: dict[str, Any], figures: Path) -> str:
    ident, name = entry_id(entry), display_name(entry)
    bench, fit = entry["benchmark"], entry.get("fit") or {}
    levels = [{**lv, "codec_info": json.dumps(lv.get("codec_info", {}))} for lv in entry["levels"]]
    level_table = table([text("level", lambda r: esc(str(r["level"]))), num("bytes / image", "bytes_per_image"),
                         num("at n", "at_n"), num("decoder bytes", "decoder_bytes"),
                         text("codec info", lambda r: esc(r["codec_info"]))], levels, row_class="level")
    params = fit.get("params") or {}
    provenance = {"source": entry.get("source"), "spec": entry["compressor"]["spec"],
                  "version": entry["compressor"]["version"], "config hash": bench["config_hash"],
                  "seeds": bench["seeds"], "commits": entry["provenance"]["git_commits"],
                  "codec libraries": entry["compressor"]["library_versions"],
                  "libraries": entry["provenance"]["library_versions"],
                  "validation": (entry.get("validation") or {}).get("passed", "not submitted through submit")}
    body = [f'<nav><a href="../index.html">← leaderboard</a></nav><h1>{esc(name)}</h1>',
            f"<p>{esc(bench['task'])} on {esc(bench['dataset'])}, benchmark {esc(bench['name'])}</p>",
            "<h2>Fit</h2><p>" + esc("  ".join(f"{k} = {fmt(v)}" for k, v in params.items())) + "</p>",
            image(fit_figure(entry, figures / f"{ident}-fit.png"), "scaling fit"),
            "<h2>Cross-compression</h2>", image(matrix_figure(entry, figures / f"{ident}-matrix.png"),
                                                "cross-compression matrix"),
            "<h2>Levels</h2>", level_table,
            "<h2>Provenance</h2><table>" + "".join(f'<tr><th class="text">{esc(k)}</th><td class="text">'
                                                   f"{esc(json.dumps(v) if not isinstance(v, str) else v)}</td></tr>"
                                                   for k, v in provenance.items()) + "</table>"]
    return page(f"storagebench: {name}", "\n".join(body))


def render_site(site: Path, boards: list[Board], ranked: list[dict[str, Any]], side: list[dict[str, Any]],
                sources: list[str], reductions: list[dict[str, Any]] = ()) -> None:
    """``reductions``: ranked reduction boards, their figures already drawn in ``site/figures``, numbered after
    the codec boards."""
    figures = site / "figures"
    titles = [b.title for b in boards] + [r["title"] for r in reductions]
    nav = "".join(f'<a href="#board-{i}">{esc(title)}</a>' for i, title in enumerate(titles)) + \
        ('<a href="#tasks">tasks side by side</a>' if boards else "")
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    body = [f"<h1>storagebench leaderboard</h1><nav>{nav}</nav>",
            f'<p class="note">Which compressor gives the lowest error for this task at this storage budget? Built '
            f"{esc(created)} by storagebench at commit {esc(git_commit()[:12])} from {len(sources)} source(s). "
            f'Click a column header to sort. Also as <a href="leaderboard.json">JSON</a> and '
            f'<a href="leaderboard.csv">CSV</a>.</p>']
    body += [_board_section(i, r, b, figures) for i, (r, b) in enumerate(zip(ranked, boards))]
    body += [_reduction_section(len(boards) + i, r, figures) for i, r in enumerate(reductions)]
    if boards:
        body += ['<h2 id="tasks">Tasks side by side at equal storage</h2>',
                 '<p class="note">Each task\'s leading entry (rank 1 at its largest budget) at every budget of any task: '
                 "its ν, the optimal allocation n*/L* and predicted error from its fit, and the gain of its best "
                 "measured set over original format where both fit in s.</p>",
                 table(SIDE_COLUMNS, side, table_id="tasks-side-by-side", row_class="task")]
    (site / "index.html").write_text(page("storagebench leaderboard", "\n".join(body)))
    (site / "entries").mkdir()
    for board in boards:
        for entry in board.entries:
            (site / "entries" / f"{entry_id(entry)}.html").write_text(_entry_page(entry, figures))


def _check_out(site: Path) -> None:
    """Only an earlier site (or an empty folder) is replaced."""
    if site.exists() and (not site.is_dir() or (not (site / "index.html").is_file() and any(site.iterdir()))):
        raise StorageBenchError(f"{site}: exists and is not a leaderboard site (no index.html); choose another --out")


def _replace_dir(built: Path, site: Path) -> None:
    if site.exists():
        shutil.rmtree(site)
    os.replace(built, site)


def build_leaderboard(paths: list[Path], site: Path, target: float | None = None) -> dict[str, Any]:
    """Everything ``storagebench leaderboard`` writes; returns the ranked boards (what leaderboard.json holds)."""
    _check_out(site)
    reduction_dirs = [p for p in paths if is_reduction_dir(p)]
    others = [p for p in paths if p not in reduction_dirs]
    entries = load_entries(others) if others or not reduction_dirs else []
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
        render_site(built, boards, ranked, side, sources, reductions)
        _replace_dir(built, site)
    except BaseException:
        shutil.rmtree(built, ignore_errors=True)
        raise
    return summary
