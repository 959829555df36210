"""``optimal``: n*(s) from the fitted law, then one common level, searched along the codec's knob (continuous or
discrete, ``harness/knob.py``) so the real total size of the n* images is as large as possible without exceeding s.
A discrete knob says how full s is."""
from __future__ import annotations

from storagebench.benchmarks.harness.schemes import SCHEMES, CurveScheme


@SCHEMES.register("optimal")
class Optimal(CurveScheme):
    order, needs_law, searches = 1, True, True

    def build(self, builder, seed, budget):  # noqa: ANN001, ANN201
        from storagebench.benchmarks.harness.curves import TrainingSet, joined

        n, note = builder.n_star(budget)
        knob = builder.knob
        level = knob.search(lambda lv: int(builder.entry(seed, n, lv).sizes.sum()), budget)
        if level is None:
            return builder.capped(seed, budget, n, knob.smallest, note)
        training = TrainingSet(builder.entry(seed, n, level), n, level, note)
        if not knob.continuous:
            training.note = joined(note, f"fills {training.total_bytes / budget:.0%} of s")
        return training
