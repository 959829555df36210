"""The sets a board ranks, as its benchmark's ``[protocol]`` declares them (``benchmarks/protocol.py``): per entry and
budget, its one ranked set (the scaling-optimal set, or for a codec without a level knob its one level filling s)
with its error on every protocol seed; per baseline, its set filled to the budget on the same seeds. Nothing here
chooses among candidates: an entry has one ranked set per budget and view, or a reason it has none.

Two views: ``counted`` (each level's decoder state counts toward s) and ``amortized`` (it does not). An entry whose
codec declares no decoder state has one set for both.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from storagebench.benchmarks.protocol import NO_KNOB, RANKED, RANKED_AMORTIZED
from storagebench.errors import StorageBenchError
from storagebench.units import format_bytes

COUNTED, AMORTIZED = "counted", "amortized"


@dataclass(frozen=True)
class ProtocolSet:
    """One ranked set: its error per seed and, averaged over seeds, what it holds."""

    errors: dict[int, float]
    n: float
    L: float  # mean stored bytes per image
    fill: float  # (image bytes + counted decoder bytes) / s
    decoder_bytes: int  # counted toward s
    label_bytes: float  # mean bytes of the training targets
    description: str


def protocol_of(entry: dict[str, Any]) -> dict[str, Any] | None:
    return entry["benchmark"]["config"].get("protocol")


def views(protocol: dict[str, Any] | None) -> list[str]:
    """The declared view first; a protocol that counts decoders also shows them amortized."""
    if protocol is None:
        return []
    return [COUNTED, AMORTIZED] if protocol.get("decoders", COUNTED) == COUNTED else [AMORTIZED]


def declares_state(entry: dict[str, Any]) -> bool:
    return any(int(lv.get("decoder_bytes", 0)) > 0 for lv in entry["levels"])


def decoder_state_bytes(entry: dict[str, Any]) -> int:
    """The smallest decoder state among the entry's lossy levels (0: it declares none)."""
    sizes = [int(lv.get("decoder_bytes", 0)) for lv in entry["levels"] if lv["level"] != "lossless"]
    return min(sizes, default=0)


def _scheme(entry: dict[str, Any], view: str) -> str:
    schemes = {row["scheme"] for row in entry["curves"]}
    if not schemes & {RANKED, RANKED_AMORTIZED}:
        return NO_KNOB
    if view == AMORTIZED and (RANKED_AMORTIZED in schemes or RANKED not in schemes):
        return RANKED_AMORTIZED
    return RANKED


def entry_set(entry: dict[str, Any], budget: float, view: str) -> ProtocolSet | str:
    """The entry's ranked set at ``budget`` in ``view``, or why it has none."""
    protocol = protocol_of(entry)
    if protocol is None:
        return "not measured under a declared protocol"
    scheme, original = _scheme(entry, view), entry["benchmark"]["original_level"]
    rows = {row["seed"]: row for row in entry["curves"] if row["scheme"] == scheme and row["test_level"] == original
            and math.isclose(row["budget"], budget)}
    missing = [seed for seed in protocol["seeds"] if seed not in rows]
    if missing:
        state = decoder_state_bytes(entry)
        if view == COUNTED and state >= budget:
            return f"its decoder state ({format_bytes(state)}) alone exceeds s"
        return f"protocol set not measured on seed(s) {', '.join(map(str, missing))}"
    rows = [rows[seed] for seed in protocol["seeds"]]
    counted = [int(row.get("decoder_bytes", 0)) for row in rows]
    over = [r for r, d in zip(rows, counted) if r["bytes_total"] + d > budget]
    if over:
        raise StorageBenchError(f"{entry.get('source')}: its {scheme} set at s = {budget:g} (seed {over[0]['seed']}) "
                                f"holds {over[0]['bytes_total']} bytes, more than s: the entry is inconsistent")
    if view == COUNTED and scheme == RANKED and min(counted) < decoder_state_bytes(entry):
        return "its sets did not count the decoder state (measured by an older storagebench): not ranked"
    levels = list(dict.fromkeys(row["level"] for row in rows))  # seed by seed, each once
    return ProtocolSet(
        errors={row["seed"]: float(row["error"]) for row in rows}, n=float(np.mean([r["n"] for r in rows])),
        L=float(np.mean([r["bytes_per_image"] for r in rows])),
        fill=float(np.mean([(r["bytes_total"] + d) / budget for r, d in zip(rows, counted)])),
        decoder_bytes=max(counted), label_bytes=float(np.mean([r.get("label_bytes_total", 0) for r in rows])),
        description=f"{scheme}: " + " | ".join(levels))


def baseline_set(entries: list[dict[str, Any]], label: str, budget: float) -> ProtocolSet | str:
    """Baseline ``label`` filled to ``budget`` on the protocol seeds; its errors are the harness's own models,
    pooled over the entries that recorded them by the median (identical pixels and recipe give the same models; the
    median keeps one edited entry from moving them)."""
    protocol = next((protocol_of(e) for e in entries if protocol_of(e)), None)
    if protocol is None:
        return "not measured under a declared protocol"
    found: dict[int, list[float]] = defaultdict(list)
    sizes: dict[int, dict[str, Any]] = {}
    for entry in entries:
        per_seed = (entry.get("baselines_filled") or {}).get(label, {}).get(f"{budget:g}", {})
        errors = {(b["n"], b["seed"]): b["error"] for b in entry.get("baseline_errors", [])}
        for seed, filled in per_seed.items():
            if (filled["n"], int(seed)) in errors:
                found[int(seed)].append(errors[(filled["n"], int(seed))])
                sizes[int(seed)] = filled
    missing = [seed for seed in protocol["seeds"] if seed not in found]
    if missing:
        return f"not measured on seed(s) {', '.join(map(str, missing))}"
    seeds = protocol["seeds"]
    n = [sizes[s]["n"] for s in seeds]
    return ProtocolSet(
        errors={s: float(np.median(found[s])) for s in seeds}, n=float(np.mean(n)),
        L=float(np.mean([sizes[s]["bytes_total"] / max(sizes[s]["n"], 1) for s in seeds])),
        fill=float(np.mean([sizes[s]["bytes_total"] / budget for s in seeds])), decoder_bytes=0, label_bytes=0.0,
        description=f"first images of each seed's order that fit in s (n = "
                    f"{min(n) if min(n) == max(n) else f'{min(n)}–{max(n)}'})")
