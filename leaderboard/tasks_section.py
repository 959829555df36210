"""The site's "tasks compared at equal storage" section, from ``tasks_compared.compare`` over results dirs given
with ``storagebench leaderboard --tasks``: the laws with intervals, every budget's allocation and measured sets,
one figure of error vs storage, and each task's cross-compression matrix."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from storagebench.leaderboard.figures import tasks_storage_figure
from storagebench.leaderboard.html import esc, image, interval, num, table, text
from storagebench.leaderboard.statistics import Interval
from storagebench.units import format_bytes


def _spread(row: dict[str, Any], key: str, value: Interval | list[float] | None, mean: float | None = None) -> None:
    """``row[key]``, ``row[key_lo]``, ``row[key_hi]`` as ``html.interval`` reads them."""
    if isinstance(value, Interval):
        row.update({key: value.mean, f"{key}_lo": value.low, f"{key}_hi": value.high})
    else:
        row.update({key: mean, f"{key}_lo": value and value[0], f"{key}_hi": value and value[1]})


LAW_COLUMNS = [
    text("benchmark", lambda r: esc(r["benchmark"])), text("task", lambda r: esc(r["task"])),
    *(num(f"{symbol} [90% CI]", key, lambda r, k=key: esc(interval(r, k, ".3f")),
          help="robust fit; bootstrap percentile interval") for symbol, key in (("α", "alpha"), ("β", "beta"),
                                                                                  ("ν", "nu"))),
    num("R²", "r2", lambda r: esc(f"{r['r2']:.3f}")),
    num("extrapolation", "extrapolation_error", lambda r: esc(
        "—" if r["extrapolation_error"] is None else f"{r['extrapolation_error']:.1%} off"),
        help="fit on the n below the largest, predict the largest: mean relative error"),
    num("error change", "error_fall", lambda r: esc(f"{-r['error_fall']:+.0%}"),
        help="error at the largest n ÷ error at the smallest n − 1 (original-format training)"),
    num("most compressed − lossless", "compressed_gap", lambda r: esc(
        f"{r['most_compressed']}: {r['compressed_gap']:+.4f} (sd {r['seed_sd']:.4f})"),
        help="at the largest n, mean over seeds; sd: seed-to-seed sd of the original level there"),
    text("note", lambda r: esc(r["note"] or "—")),
]

BUDGET_COLUMNS = [
    num("budget s", "budget", lambda r: esc(format_bytes(r["budget"]))),
    text("benchmark", lambda r: esc(r["benchmark"])),
    num("n* [90% CI]", "n_star", lambda r: esc(interval(r, "n_star", ",.0f") if r["n_star"] is not None else "—"),
        help="images the law says to keep at s; interval from the fit's bootstrap"),
    num("L*", "L_star", lambda r: esc("—" if r["L_star"] is None else format_bytes(r["L_star"])),
        help="bytes per image the law says to store at s"),
    num("law: error at n*", "predicted_error", lambda r: esc(
        "—" if r["predicted_error"] is None else f"{r['predicted_error']:.4f}")),
    *(num(f"{title} [95% CI]", key, lambda r, k=key: esc(interval(r, k, ".4f") if r[k] is not None else "—"),
          help=f"{title} set's mean test error over seeds") for title, key in (("scaling-optimal", "optimal"),
                                                                               ("original format", "original"))),
    num("gain [95% CI]", "gain", lambda r: esc(interval(r, "gain", "+.1%") if r["gain"] is not None else "—"),
        help="1 − optimal ÷ original, seed by seed, mean with a t-interval"),
]


def _law_row(law: Any) -> dict[str, Any]:
    row = asdict(law)
    for key in ("alpha", "beta", "nu"):
        _spread(row, key, law.intervals[key], getattr(law, key))
    return row


def _budget_row(row: Any) -> dict[str, Any]:
    out = {**asdict(row)}
    _spread(out, "n_star", row.n_star_interval, row.n_star)
    for key in ("optimal", "original", "gain"):
        _spread(out, key, getattr(row, key))
    return out


def _matrix_table(m: Any, index: int) -> str:
    head = "".join(f"<th>{esc(lv)} ({m.test_bytes[lv]:.0f} B)</th>" for lv in m.test_levels)
    body = "".join(f"<tr><th>{esc(lv)} ({m.train_bytes[lv]:.0f} B)</th>"
                   + "".join(f'<td data-value="{e!r}">{e:.4f}</td>' for e in m.errors[i]) + "</tr>"
                   for i, lv in enumerate(m.train_levels))
    return (f"<h4>{esc(m.benchmark)}: cross-compression error at n = {m.n:,}</h4>"
            f'<div class="scroll"><table id="tasks-matrix-{index}"><thead><tr><th>train \\ test</th>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table></div>")


def tasks_section(comparison: dict[str, Any], figures: Path) -> str:
    figure = tasks_storage_figure(comparison, figures / "tasks-compared.png")
    budgets = sorted(comparison["rows"], key=lambda r: (r.budget, r.benchmark))
    return "\n".join([
        '<h2 id="tasks-compared">Tasks compared at equal storage</h2>',
        '<p class="note">From the results dirs given with <code>--tasks</code> (e.g. the scenes standard benchmarks: '
        "one set of images read as labels, masks and boxes). Laws fitted on original-format test images; at each "
        "budget the law's allocation and the measured scaling-optimal and original-format sets (storage curves), "
        'means over seeds with 95 % t-intervals. Everything as <a href="comparison.json">JSON</a>.</p>',
        table(LAW_COLUMNS, [_law_row(law) for law in comparison["laws"]], table_id="tasks-laws", row_class="task"),
        table(BUDGET_COLUMNS, [_budget_row(r) for r in budgets], table_id="tasks-budgets", row_class="task"),
        image(figure, "error vs storage for the compared tasks"),
        *(_matrix_table(m, i) for i, m in enumerate(comparison["matrices"]))])
