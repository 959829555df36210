"""A reduction benchmark's results dir as a leaderboard board: coresets, distilled sets (by the benchmark's recipe
and, separately labelled, by their own protocol) and the compared codec's schemes, ranked together at each budget
the reduced sets define (per images-per-class setting, one per group of similar-sized sets: the largest one's bytes).

At budget s a reducer's measured error is that of its best setting whose stored bytes fit in s for every seed; a
codec scheme's is its storage-curve cells trained at s. Errors are means over seeds, with their sd."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from storagebench.benchmarks.analysis.reduction import (  # noqa: F401
    is_reduction_dir,
    plot_reduction,
    read_reduction,
)
from storagebench.benchmarks.harness.rows import ReducedCellRow


def _row(ident: str, name: str, budget: float, best: dict[str, Any] | None, how: str) -> dict[str, Any]:
    return {"kind": "set", "id": ident, "name": name, "budget": budget,
            "measured_error": best and best["error"], "error_sd": best and best["sd"],
            "measured_by": best["by"] if best else f"nothing fits: {how}",
            "measured_n": best and best["n"], "measured_L": best and best["bytes"] / best["n"]}


def _reducer_best(sets: list[dict[str, Any]], rows: list[ReducedCellRow], label: str, key: str,
                  budget: float) -> dict[str, Any] | None:
    candidates = []
    for s in sets:
        if s["reducer"] != label or s[key] is None:
            continue
        largest = max(r.bytes_total for r in rows if r.reducer == label and
                      r.images_per_class == s["images_per_class"])
        if largest <= budget:
            candidates.append({"error": s[key]["mean"], "sd": s[key]["sd"], "n": s["n"], "bytes": s["bytes"]["mean"],
                               "by": f"{s['images_per_class']} per class, {s['bytes']['mean']:,.0f} bytes "
                                     f"({s['storage']})"})
    return min(candidates, key=lambda c: c["error"], default=None)


def _codec_best(codecs: list[dict[str, Any]], scheme: str, budget: float) -> dict[str, Any] | None:
    for c in codecs:
        if c["scheme"] == scheme and math.isclose(c["budget"], budget):
            return {"error": c["error"]["mean"], "sd": c["error"]["sd"], "n": c["n"]["mean"],
                    "bytes": c["bytes"]["mean"], "by": f"curve: {scheme}, level {c['level']}"}
    return None


def rank_reduction(path: Path, figure: Path | None = None) -> dict[str, Any]:
    """The ranked board (the shape ``rank_board`` gives codec boards), with ``figure`` (error vs bytes) drawn."""
    found = read_reduction(path)
    config, rows, curves, summary, codec = (found[k] for k in ("config", "rows", "curves", "summary", "codec"))
    budgets = sorted({c["budget"] for c in summary["codecs"]}) or sorted(
        {float(max(r.bytes_total for r in rows if r.images_per_class == k)) for k in
         {r.images_per_class for r in rows}})
    labels = list(dict.fromkeys(r.reducer for r in rows))
    own = [label for label in labels if any(r.reducer == label and r.own_error is not None for r in rows)]
    schemes = list(dict.fromkeys(c["scheme"] for c in summary["codecs"]))
    rankings = {}
    for budget in budgets:
        ranked = [_row(label, f"{label} (recipe)", budget,
                       _reducer_best(summary["sets"], rows, label, "error", budget), "smallest set is larger")
                  for label in labels]
        ranked += [_row(f"{label}-own", f"{label} (own protocol)", budget,
                        _reducer_best(summary["sets"], rows, label, "own_error", budget), "smallest set is larger")
                   for label in own]
        ranked += [_row(f"{codec}-{scheme}", f"{codec} {scheme}", budget, _codec_best(summary["codecs"], scheme, budget),
                        "not measured at this budget") for scheme in schemes]
        ranked.sort(key=lambda r: (r["measured_error"] is None, r["measured_error"] or 0.0, r["name"]))
        for rank, row in enumerate(ranked, 1):
            row["rank"] = rank if row["measured_error"] is not None else None
        rankings[f"{budget:g}"] = {"entries": ranked, "baselines": []}
    bench = config["benchmark"]
    if figure is not None:
        plot_reduction(summary, codec, figure)
    return {"kind": "reduction", "task": config["task"]["name"], "dataset": config["dataset"]["name"],
            "title": f"{config['task']['name']} on {config['dataset']['name']}: coresets and distilled sets vs "
                     f"{codec} ({bench['name']})",
            "definition": config, "budgets": budgets, "target_error": None,
            "target_from": "not used on reduction boards", "rankings": rankings, "source": str(path),
            "seeds": bench["seeds"], "cells": len(rows) + len(curves)}
