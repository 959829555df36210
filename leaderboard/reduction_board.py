"""A reduction benchmark's results dir as a leaderboard board: coresets, distilled sets (by the benchmark's recipe
and, separately labelled, by their own protocol) and the compared codec's storage-curve schemes, ranked together at
each budget the reduced sets define (per images-per-class setting, one per group of similar-sized sets: the largest
one's bytes).

The declared rule, the same for every row: at budget s a reducer's ranked set is its *largest* images-per-class
setting whose stored bytes fit s on every seed (never the best of its settings); a codec scheme's is its
storage-curve cells trained at s. Each is measured on the benchmark's seeds, and ranked with the statistics of the
codec boards (``statistics.py``): mean with a 95 % interval, paired differences to the leader and to the codec's
original format, ties after Holm's correction. With fewer than 3 seeds nothing is ranked (the means are shown)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.benchmarks.analysis.reduction import (  # noqa: F401
    is_reduction_dir,
    plot_reduction,
    read_reduction,
)
from storagebench.benchmarks.harness.rows import CurveCellRow, ReducedCellRow
from storagebench.leaderboard.statistics import MIN_SEEDS, mean_interval, rank_entries

Found = tuple[dict[int, float], float, float, str] | str  # errors per seed, n, bytes per image, which set; or why not


def _reducer_set(rows: list[ReducedCellRow], label: str, key: str, budget: float) -> Found:
    mine = [r for r in rows if r.reducer == label and getattr(r, key) is not None]
    settings = sorted({r.images_per_class for r in mine})
    fitting = [k for k in settings if max(r.bytes_total for r in mine if r.images_per_class == k) <= budget]
    if not fitting:
        return "smallest set is larger than s" if settings else "not measured"
    chosen = [r for r in mine if r.images_per_class == max(fitting)]
    size = float(np.mean([r.bytes_total for r in chosen]))
    return ({r.seed: float(getattr(r, key)) for r in chosen}, float(np.mean([r.n for r in chosen])),
            size / float(np.mean([r.n for r in chosen])),
            f"{max(fitting)} per class, {size:,.0f} bytes ({chosen[0].storage})")


def _codec_set(curves: list[CurveCellRow], scheme: str, budget: float) -> Found:
    chosen = [c for c in curves if c.scheme == scheme and math.isclose(c.budget, budget)]
    if not chosen:
        return "not measured at this budget"
    return ({c.seed: float(c.error) for c in chosen}, float(np.mean([c.n for c in chosen])),
            float(np.mean([c.bytes_per_image for c in chosen])), f"curve: {scheme}, level {chosen[0].level}")


def _rows(found: dict[str, tuple[str, Found]], budget: float, reference: str | None) -> list[dict[str, Any]]:
    measured = {ident: f[0] for ident, (_, f) in found.items() if not isinstance(f, str)}
    seeds = {len(errors) for errors in measured.values()}
    rankable = {i: e for i, e in measured.items() if len(e) >= MIN_SEEDS and len(e) == max(seeds, default=0)}
    ranked = {r.name: r for r in rank_entries(rankable, reference if reference in rankable else None)} \
        if rankable else {}
    rows = []
    for ident, (name, f) in found.items():
        row = {"kind": "set", "id": ident, "name": name, "budget": budget, "rank": None, "rank_label": "—",
               "measured_error": None, "measured_error_lo": None, "measured_error_hi": None, "error_sd": None,
               "seeds": 0, "to_original": None, "to_original_lo": None, "to_original_hi": None,
               "measured_by": f if isinstance(f, str) else f[3], "n": None, "L": None}
        if not isinstance(f, str):
            values = np.array(list(f[0].values()))
            interval = mean_interval(values) if len(values) > 1 else None
            row |= {"measured_error": float(values.mean()), "error_sd": float(values.std(ddof=1)) if len(values) > 1
                    else None, "seeds": len(values), "n": f[1], "L": f[2],
                    "measured_error_lo": interval and interval.low, "measured_error_hi": interval and interval.high}
        if ident in ranked:
            r = ranked[ident]
            row |= {"rank": r.rank, "rank_label": r.rank_label, "tied": r.tied}
            if r.to_reference is not None:
                row |= {"to_original": r.to_reference.mean, "to_original_lo": r.to_reference.low,
                        "to_original_hi": r.to_reference.high}
        rows.append(row)
    order = {name: position for position, name in enumerate(ranked)}
    return sorted(rows, key=lambda r: (r["id"] not in order, order.get(r["id"], 0),
                                       r["measured_error"] is None, r["measured_error"] or 0.0, r["name"]))


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
    reference = f"{codec}-original" if "original" in schemes else None
    rankings = {}
    for budget in budgets:
        sets = {label: (f"{label} (recipe)", _reducer_set(rows, label, "error", budget)) for label in labels}
        sets |= {f"{label}-own": (f"{label} (own protocol)", _reducer_set(rows, label, "own_error", budget))
                 for label in own}
        sets |= {f"{codec}-{scheme}": (f"{codec} {scheme}", _codec_set(curves, scheme, budget)) for scheme in schemes}
        rankings[f"{budget:g}"] = {"entries": _rows(sets, budget, reference), "baselines": []}
    bench = config["benchmark"]
    if figure is not None:
        plot_reduction(summary, codec, figure)
    return {"kind": "reduction", "task": config["task"]["name"], "dataset": config["dataset"]["name"],
            "title": f"{config['task']['name']} on {config['dataset']['name']}: coresets and distilled sets vs "
                     f"{codec} ({bench['name']})",
            "definition": config, "budgets": budgets, "target_error": None,
            "target_from": "not used on reduction boards", "rankings": rankings, "source": str(path),
            "seeds": bench["seeds"], "cells": len(rows) + len(curves)}
