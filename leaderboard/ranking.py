"""Rankings at equal storage, by the board's declared protocol (``benchmarks/protocol.py``): at each budget s, every
entry's one ranked set (``protocol_sets.py``) measured on the protocol's seeds; its mean error with a 95 % interval,
its paired difference to the leader and to the original format, ties with the leader after Holm's correction
(``statistics.py``). Nothing is a minimum over candidate sets: grid cells and other storage-curve schemes are shown
on the entry's page, never ranked. The baselines (original format and random subset filled to s, same seeds) are
shown beside the entries with the same statistics. Each board is ranked with decoder state counted toward s (as its
protocol declares) and, labelled as such, with it amortized. Beside the measured numbers, for reading only: the fit's
prediction at n*(s), the bytes it needs to reach a target error, and ν, α, β with their bootstrap intervals."""
from __future__ import annotations

import math
from typing import Any

from storagebench.benchmarks.harness.baselines import BASELINE_FORMATS
from storagebench.benchmarks.law.allocation import optimal_n
from storagebench.benchmarks.law.fit import EXPONENT_BOUNDS, law_from_dict
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.errors import StorageBenchError
from storagebench.leaderboard.protocol_sets import (
    AMORTIZED,
    COUNTED,
    ProtocolSet,
    baseline_set,
    entry_set,
    views,
)
from storagebench.leaderboard.sources import Board, display_name, entry_id
from storagebench.leaderboard.statistics import Interval, mean_interval, paired_difference, rank_entries

ORIGINAL = "original format"


def entry_law(entry: dict[str, Any]) -> ScalingLaw | None:
    fit = entry.get("fit")
    return law_from_dict(fit["params"]) if fit else None


def optimum(law: ScalingLaw | None, budget: float) -> tuple[float, float, float] | None:
    """(n*, L*, predicted error) at ``budget``, or None when the fit has no finite optimum."""
    if law is None:
        return None
    try:
        n_star = optimal_n(law, budget)
    except StorageBenchError:
        return None
    return n_star, budget / n_star, float(law.predict(n_star, budget / n_star))


def bytes_to_reach(law: ScalingLaw | None, target: float) -> float | None:
    """Smallest budget whose optimal allocation the fit predicts to reach ``target`` (None: never)."""
    if law is None or optimum(law, 1e3) is None or target <= law.e_star:
        return None
    lo, hi = 1.0, 1e18
    if optimum(law, hi)[2] > target:
        return None
    for _ in range(200):  # bisection in log s; the predicted optimum falls monotonically with s
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if optimum(law, mid)[2] <= target else (mid, hi)
        if hi / lo < 1.0001:
            break
    return hi


def _bounded(entry: dict[str, Any], key: str) -> dict[str, Any]:
    """A fit parameter with its bootstrap interval; ``KEY_at_bound`` when an end of the interval is the fit's own
    bound on exponents (then it says where the search stopped, not what the data say)."""
    fit = entry.get("fit") or {}
    value = (fit.get("params") or {}).get(key)
    low, high = (fit.get("bootstrap") or {}).get(key) or (None, None)
    at_bound = key in ("alpha", "beta") and any(
        v is not None and any(math.isclose(v, b, rel_tol=1e-3) for b in EXPONENT_BOUNDS) for v in (low, high))
    return {key: value, f"{key}_lo": low, f"{key}_hi": high, f"{key}_at_bound": at_bound}


def _with(prefix: str, found: Interval | None) -> dict[str, float | None]:
    return {prefix: found and found.mean, f"{prefix}_lo": found and found.low, f"{prefix}_hi": found and found.high}


def _set_fields(found: ProtocolSet | str) -> dict[str, Any]:
    if isinstance(found, str):
        return {"measured_by": found, "n": None, "L": None, "fill": None, "decoder_bytes": None, "label_bytes": None,
                "seeds": 0, "errors_by_seed": {}}
    return {"measured_by": found.description, "n": found.n, "L": found.L, "fill": found.fill,
            "decoder_bytes": found.decoder_bytes, "label_bytes": found.label_bytes, "seeds": len(found.errors),
            "errors_by_seed": {str(k): v for k, v in found.errors.items()}}


def _fit_fields(entry: dict[str, Any], budget: float, to_target: float | None) -> dict[str, Any]:
    best = optimum(entry_law(entry), budget)
    return {"predicted_error": best and best[2], "n_star": best and best[0], "L_star": best and best[1],
            "bytes_to_target": to_target, **_bounded(entry, "nu"), **_bounded(entry, "alpha"),
            **_bounded(entry, "beta")}


def _unranked(found: ProtocolSet | str) -> dict[str, Any]:
    interval = mean_interval(list(found.errors.values())) if isinstance(found, ProtocolSet) else None
    return {"rank": None, "rank_label": "—", "tied": False, **_with("measured_error", interval),
            **_with("to_leader", None), "p_vs_leader": None}


def _ranked_rows(board: Board, budget: float, view: str, to_target: list[float | None],
                 original: ProtocolSet | str, shown: dict[str, str]) -> list[dict[str, Any]]:
    sets = {entry_id(e): entry_set(e, budget, view) for e in board.entries}
    complete = {ident: found.errors for ident, found in sets.items() if isinstance(found, ProtocolSet)}
    reference = original.errors if isinstance(original, ProtocolSet) else None
    ranked = {r.name: r for r in rank_entries(complete, reference)} if complete else {}
    rows = []
    for entry, target in zip(board.entries, to_target):
        ident, found = entry_id(entry), sets[entry_id(entry)]
        row = {"kind": "entry", "id": ident, "name": shown[ident], "source": entry.get("source"),
               "budget": budget, "view": view, **_set_fields(found), **_fit_fields(entry, budget, target)}
        if ident in ranked:
            r = ranked[ident]
            row |= {"rank": r.rank, "rank_label": r.rank_label, "tied": r.tied, **_with("measured_error", r.error),
                    **_with("to_leader", r.to_leader), "p_vs_leader": r.p_vs_leader}
        else:
            row |= _unranked(found)
        row |= _with("to_original", ranked[ident].to_reference if ident in ranked else None)
        claimed = entry.get("claimed", {}).get(f"{budget:g}")
        row |= {"claimed_error": claimed, "claimed_minus_measured": None if claimed is None or
                row["measured_error"] is None else claimed - row["measured_error"]}
        rows.append(row)
    order = {name: position for position, name in enumerate(ranked)}
    return sorted(rows, key=lambda r: (r["id"] not in order, order.get(r["id"], 0), r["name"]))


def _baseline_row(label: str, found: ProtocolSet | str, original: ProtocolSet | str, budget: float,
                  view: str) -> dict[str, Any]:
    row = {"kind": "baseline", "id": label.replace(" ", "-"), "source": None, "budget": budget, "view": view,
           "name": f"{label} ({BASELINE_FORMATS[label]}, lossless)", **_set_fields(found), **_unranked(found)}
    difference = None
    if isinstance(found, ProtocolSet) and isinstance(original, ProtocolSet) and label != ORIGINAL:
        seeds = sorted(found.errors)
        difference = paired_difference([found.errors[s] for s in seeds], [original.errors[s] for s in seeds])[0]
    return row | _with("to_original", difference)


def default_target(board: Board) -> tuple[float | None, str]:
    """The error to reach: what original format measures at the board's largest budget."""
    largest = max(board.budgets)
    original = baseline_set(board.entries, ORIGINAL, largest)
    if isinstance(original, ProtocolSet):
        return float(sum(original.errors.values()) / len(original.errors)), \
            f"original format's mean error at s = {largest:g}"
    return None, "no target: original format not measured at the largest budget (use --target)"


def rank_board(board: Board, target: float | None = None) -> dict[str, Any]:
    how = "given with --target"
    if target is None:
        target, how = default_target(board)
    to_target = [None if target is None else bytes_to_reach(entry_law(e), target) for e in board.entries]
    protocol = board.definition.get("protocol")
    names = [display_name(e) for e in board.entries]
    shown = {entry_id(e): name if names.count(name) == 1 else f"{name} [{e['benchmark']['config_hash'][:8]}]"
             for e, name in zip(board.entries, names)}  # two entries of one name are told apart
    by_view: dict[str, dict[str, Any]] = {}
    for view in views(protocol):
        by_view[view] = {}
        for budget in board.budgets:
            baselines = {label: baseline_set(board.entries, label, budget) for label in BASELINE_FORMATS}
            by_view[view][f"{budget:g}"] = {
                "entries": _ranked_rows(board, budget, view, to_target, baselines[ORIGINAL], shown),
                "baselines": [_baseline_row(label, found, baselines[ORIGINAL], budget, view)
                              for label, found in baselines.items()]}
    declared = views(protocol)[0] if protocol else None
    return {"task": board.task, "dataset": board.dataset, "title": board.title, "definition": board.definition,
            "budgets": board.budgets, "target_error": target, "target_from": how, "protocol": protocol,
            "view": declared, "rankings": by_view.get(declared, {}),
            "rankings_amortized": by_view.get(AMORTIZED) if declared == COUNTED else None}


def tasks_side_by_side(ranked: list[dict[str, Any]], boards: list[Board]) -> list[dict[str, Any]]:
    """Every board at every budget of any board: the leading entry's ν, n*, L* and predicted error, and, at the
    board's own budgets, its ranked set's mean error and the gain over original format (1 − ratio of the means)."""
    budgets = sorted({b for board in boards for b in board.budgets})
    rows = []
    for result, board in zip(ranked, boards):
        tables = result["rankings"].get(f"{max(board.budgets):g}") if result["rankings"] else None
        leader_row = next((r for r in tables["entries"] if r["rank"] == 1), None) if tables else None
        if leader_row is None:
            continue
        leader = next(e for e in board.entries if entry_id(e) == leader_row["id"])
        law = entry_law(leader)
        for budget in budgets:
            at, own = optimum(law, budget), result["rankings"].get(f"{budget:g}")
            mine = next((r for r in own["entries"] if r["id"] == leader_row["id"]), None) if own else None
            original = own["baselines"][0] if own else None
            best = mine and mine["measured_error"]
            base = original and original["measured_error"]
            rows.append({"task": board.title, "budget": budget, "in_definition": budget in board.budgets,
                         "leader": display_name(leader), "nu": law.nu if law else None,
                         "n_star": at and at[0], "L_star": at and at[1], "predicted_error": at and at[2],
                         "best_measured": best, "original_format": base,
                         "gain_over_original": None if best is None or base is None else 1 - best / base})
    return rows
