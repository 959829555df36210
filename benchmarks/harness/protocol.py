"""Runs a benchmark's declared leaderboard protocol (``benchmarks/protocol.py``) on a results dir whose grid is done:
at each budget of ``[benchmark].budgets`` and each protocol seed, the entry's ranked set (and, when its decoders
count and it declares decoder state, the same set with them amortized), then the baselines filled to each budget on
the same seeds. Cells are storage-curve rows (``curve_cells``), one transaction each, so a re-run resumes; the
baselines' sizes go to ``meta.baselines_filled`` and their errors, the harness's own, to ``meta.baseline_errors``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from storagebench.benchmarks.definition import load_config
from storagebench.benchmarks.harness.baselines import (
    filled_subsets,
    measure_filled_baselines,
    record_baseline_errors,
)
from storagebench.benchmarks.harness.curves import CurveCell, train_curve_cells
from storagebench.benchmarks.harness.knob import knob_for
from storagebench.benchmarks.harness.results_dir import open_results_dir, read_checked_config
from storagebench.benchmarks.harness.rows import CurveCellRow
from storagebench.benchmarks.harness.runner import Plan, check_results_dir, make_plan
from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.benchmarks.protocol import NO_KNOB, RANKED, RANKED_AMORTIZED, Protocol
from storagebench.errors import StorageBenchError
from storagebench.log import say


def ranked_schemes(plan: Plan, protocol: Protocol, declares_state: bool) -> list[str]:
    """The schemes of an entry's protocol sets: the ranked one first, then its amortized twin when it differs."""
    try:
        knob_for(plan.codec)
    except StorageBenchError:
        return [NO_KNOB]
    if not protocol.counts_decoders:
        return [RANKED_AMORTIZED]
    return [RANKED, RANKED_AMORTIZED] if declares_state else [RANKED]


def protocol_cells(plan: Plan, protocol: Protocol, declares_state: bool) -> list[CurveCell]:
    return [CurveCell(scheme, budget, seed) for budget in plan.config.budgets
            for scheme in ranked_schemes(plan, protocol, declares_state) for seed in protocol.seeds]


def run_protocol(out: Path, workers: int, cache_root: Path, law_for: Callable[[Path], ScalingLaw],
                 data: str | None = None) -> list[CurveCellRow]:
    """Train every pending protocol cell and baseline of ``out``; the entry's protocol rows."""
    read_checked_config(out)
    plan = make_plan(load_config(out / "config.toml"), data)
    protocol = plan.config.protocol
    if protocol is None:
        raise StorageBenchError(f"{out}: its benchmark declares no [protocol] table, so there is no ranked set to "
                                f"measure; add one (see benchmarks/leaderboard.toml) and run again")
    if not plan.config.budgets:
        raise StorageBenchError(f"{out}: its benchmark has no [benchmark].budgets to measure the protocol at")
    try:
        law = law_for(out)
    except StorageBenchError as exc:
        say(f"protocol: no fit ({exc}); every ranked set uses the declared fallback n")
        law = None
    db, _ = open_results_dir(out, write=True)
    with db:
        check_results_dir(plan, db, out)
        declares_state = any(cell.decoder_bytes > 0 for cell in db.cells())
        cells = protocol_cells(plan, protocol, declares_state)
        every_lossy_level = [c.decoder_bytes > 0 for c in db.cells() if c.train_level != "lossless"]
        _refuse_uncounted(out, db, cells, protocol.counts_decoders and bool(every_lossy_level) and
                          all(every_lossy_level))
        done = db.finished_cells(CurveCellRow)
        pending = [c for c in cells if c.key not in done]
        say(f"protocol: {len(cells)} ranked cells ({len(plan.config.budgets)} budgets × "
            f"{', '.join(dict.fromkeys(c.scheme for c in cells))} × {len(protocol.seeds)} seeds), "
            f"{len(cells) - len(pending)} already done")
        if pending:
            train_curve_cells(plan, law, pending, db, workers, cache_root)
        _record_filled_baselines(plan, protocol, db, workers, cache_root)
        return [r for r in db.curve_rows() if r.cell in {c.key for c in cells}]


def _refuse_uncounted(out: Path, db, cells: list[CurveCell], counts: bool) -> None:  # noqa: ANN001
    """For a codec that declares state at every lossy level, a ranked cell that counted none was trained before
    decoder state counted (``curves`` before schema 5) and would be ranked as if its decoder were free: refused,
    never reused."""
    keys = {c.key for c in cells if c.scheme == RANKED}
    stale = [r.cell for r in db.curve_rows() if counts and r.cell in keys and r.decoder_bytes == 0]
    if stale:
        raise StorageBenchError(f"{out}: {len(stale)} ranked cell(s) ({stale[0]}, …) were trained without counting "
                                f"the decoder state this codec declares (by an older `curves`); measure the protocol "
                                f"into a new results dir (storagebench submit … --out NEW)")


def _record_filled_baselines(plan: Plan, protocol: Protocol, db, workers: int,  # noqa: ANN001
                             cache_root: Path) -> None:
    """Measured again on each run (the encodings are cached in the store), so a budget added later is covered."""
    filled = measure_filled_baselines(plan, CompressedSetStore(cache_root), plan.config.budgets, protocol.seeds,
                                      workers)
    db.set_meta({"baselines_filled": json.dumps(filled)})
    record_baseline_errors(plan, db, workers, filled_subsets(filled))
