"""A reduction benchmark's results read back: mean ± sd over seeds per (reducer, images per class) and per codec
scheme at the same bytes, as a table, ``reduction.json`` and ``figures/reduction.png`` (error against bytes)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from storagebench.atomic import write_json_atomic
from storagebench.benchmarks.harness.results import ResultsDB
from storagebench.benchmarks.harness.results_dir import open_results_dir
from storagebench.benchmarks.harness.rows import CurveCellRow, ReducedCellRow
from storagebench.errors import StorageBenchError


def is_reduction_dir(path: Path) -> bool:
    """Whether ``path`` holds a reduction benchmark's results (not a codec grid's)."""
    if not (path / "results.sqlite").is_file():
        return False
    with ResultsDB(path / "results.sqlite", read_only=True) as db:
        return db.meta("kind") == "reduction"


def refuse_reduction_dir(path: Path, command: str) -> None:
    if is_reduction_dir(path):
        raise StorageBenchError(f"{path}: a reduction benchmark's results (coresets, distilled sets): `{command}` "
                                f"needs a codec grid; this dir's analysis is reduction.json and figures/reduction.png, "
                                f"and `storagebench leaderboard {path}` ranks it")


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "count": len(values)}


def summarise_reduction(reduced: list[ReducedCellRow], curves: list[CurveCellRow]) -> dict[str, Any]:
    """Rows grouped over seeds: reducers by (label, images per class), codec schemes by (scheme, budget)."""
    sets = []
    for label in dict.fromkeys(r.reducer for r in reduced):
        for ipc in sorted({r.images_per_class for r in reduced if r.reducer == label}):
            group = [r for r in reduced if r.reducer == label and r.images_per_class == ipc]
            own = [r.own_error for r in group if r.own_error is not None]
            sets.append({"reducer": label, "method": group[0].method, "images_per_class": ipc,
                         "n": group[0].n, "bytes": _stats([r.bytes_total for r in group]),
                         "extra_bytes": int(max(r.extra_bytes for r in group)), "storage": group[0].storage,
                         "error": _stats([r.error for r in group]),
                         "own_error": _stats(own) if own else None,
                         "reduce_seconds": _stats([r.reduce_seconds for r in group])})
    codecs = []
    for scheme in dict.fromkeys(r.scheme for r in curves):
        for budget in sorted({r.budget for r in curves if r.scheme == scheme}):
            group = [r for r in curves if r.scheme == scheme and r.budget == budget]
            codecs.append({"scheme": scheme, "budget": budget, "n": _stats([r.n for r in group]),
                           "bytes": _stats([r.bytes_total + r.label_bytes_total for r in group]),
                           "level": group[0].level, "error": _stats([r.error for r in group])})
    return {"sets": sets, "codecs": codecs}


def _pm(stats: dict[str, float] | None, accuracy: bool = True) -> str:
    if stats is None:
        return "—"
    mean = 100 * (1 - stats["mean"]) if accuracy else stats["mean"]
    return f"{mean:.1f} ± {100 * stats['sd']:.1f}"


def format_reduction(summary: dict[str, Any], codec: str) -> str:
    lines = ["test accuracy % (mean ± sd over seeds); bytes = everything stored (images, labels, step sizes, seed)",
             f"{'set':>16} {'ipc':>4} {'n':>6} {'bytes':>9} {'recipe acc':>12} {'own protocol':>13} {'reduce s':>9}"]
    for s in summary["sets"]:
        lines.append(f"{s['reducer']:>16} {s['images_per_class']:4d} {s['n']:6d} {s['bytes']['mean']:9.0f} "
                     f"{_pm(s['error']):>12} {_pm(s['own_error']):>13} {s['reduce_seconds']['mean']:9.1f}")
    if summary["codecs"]:
        lines.append(f"{codec} at those bytes (the largest of each group of similar-sized reduced sets; labels included "
                     f"in bytes):")
        for c in summary["codecs"]:
            lines.append(f"{codec + ' ' + c['scheme']:>16} {'':>4} {c['n']['mean']:6.0f} {c['bytes']['mean']:9.0f} "
                         f"{_pm(c['error']):>12} {'—':>13} {'':>9}  {c['level']}")
    return "\n".join(lines)


def plot_reduction(summary: dict[str, Any], codec: str, path: Path) -> Path:
    from storagebench.benchmarks.analysis import style

    fig, ax = style.figure(9.5, 4.6)
    for label in dict.fromkeys(s["reducer"] for s in summary["sets"]):
        rows = [s for s in summary["sets"] if s["reducer"] == label]
        x = [s["bytes"]["mean"] for s in rows]
        recipe = ax.errorbar(x, [s["error"]["mean"] for s in rows], yerr=[s["error"]["sd"] for s in rows],
                             marker="o", capsize=3, label=f"{label} (recipe)")
        if all(s["own_error"] for s in rows):
            ax.errorbar(x, [s["own_error"]["mean"] for s in rows], yerr=[s["own_error"]["sd"] for s in rows],
                        marker="s", linestyle="--", capsize=3, color=recipe[0].get_color(),
                        label=f"{label} (own protocol)")
    for scheme in dict.fromkeys(c["scheme"] for c in summary["codecs"]):
        rows = [c for c in summary["codecs"] if c["scheme"] == scheme]
        ax.errorbar([c["bytes"]["mean"] for c in rows], [c["error"]["mean"] for c in rows],
                    yerr=[c["error"]["sd"] for c in rows], marker="^", color="black",
                    linestyle="-" if scheme == "optimal" else ":", capsize=3, label=f"{codec} {scheme}")
    style.log_axis(ax, "x")
    ax.set_xlabel("bytes stored (images + labels + step sizes)")
    ax.set_ylabel("test error")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title("Coresets, distilled sets and a codec at equal bytes")
    return style.save(fig, path)


def read_reduction(out: Path) -> dict[str, Any]:
    """A reduction results dir: its config, reduced and codec rows, their summary and the codec's name."""
    db, config = open_results_dir(out)
    with db:
        reduced, curves = db.reduced_rows(), db.curve_rows()
    if not reduced:
        raise StorageBenchError(f"{out}: no reduction cells yet; run the benchmark first")
    return {"config": config, "rows": reduced, "curves": curves, "summary": summarise_reduction(reduced, curves),
            "codec": config.get("compare", {}).get("compressor", "codec")}


def write_reduction_report(out: Path) -> tuple[str, Path, Path]:
    found = read_reduction(out)
    reduced, curves, summary, codec = found["rows"], found["curves"], found["summary"], found["codec"]
    json_path = out / "reduction.json"
    write_json_atomic(json_path, {**summary, "rows": [r.as_dict() for r in reduced],
                                 "codec_rows": [r.as_dict() for r in curves]})
    return format_reduction(summary, codec), json_path, plot_reduction(summary, codec, out / "figures" / "reduction.png")
