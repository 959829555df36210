"""One line per finished cell — level, n, seed, its error at its own test level, its seconds, cells left and the
time they should take — appended to the results dir's ``run.log`` and, when stderr is not a terminal (nohup,
SLURM, CI: where the progress bar is off), printed there too, so a long run is never silent."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from storagebench.benchmarks.harness.rows import CellRow, EvaluationRow
from storagebench.log import say, verbose
from storagebench.units import format_seconds


class CellLog:
    def __init__(self, out: Path, total: int):
        self.path, self.total, self.done, self.started = out / "run.log", total, 0, time.perf_counter()

    def line(self, cell: CellRow, evaluations: Sequence[EvaluationRow]) -> str:
        own = next((e for e in evaluations if e.test_level == cell.train_level), evaluations[0])
        left = self.total - self.done
        eta = (time.perf_counter() - self.started) / self.done * left
        return (f"cell {self.done}/{self.total}: train {cell.train_level}, n {cell.n:,}, seed {cell.seed}: error "
                f"{own.error:.4f} at test {own.test_level} ({format_seconds(cell.train_seconds + cell.eval_seconds)}); "
                f"{left} left" + (f", about {format_seconds(eta)}" if left else ""))

    def __call__(self, cell: CellRow, evaluations: Sequence[EvaluationRow]) -> None:
        self.done += 1
        line = self.line(cell, evaluations)
        with open(self.path, "a") as log:
            log.write(f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} {line}\n")
        if verbose() or not sys.stderr.isatty():
            say(line)
