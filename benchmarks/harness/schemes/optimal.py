"""``optimal``: n*(s) from the fitted law, then one common level, binary-searched so the real total size of the n*
images is as large as possible without exceeding s."""
from __future__ import annotations

from storagebench.benchmarks.harness.schemes import SCHEMES, CurveScheme


@SCHEMES.register("optimal")
class Optimal(CurveScheme):
    order, needs_law, searches = 1, True, True

    def build(self, builder, seed, budget):  # noqa: ANN001, ANN201
        from storagebench.benchmarks.harness.curves import TrainingSet

        n = builder.n_star(budget)
        lo, hi = builder.search_range
        distance = builder.bisect(lambda d: int(builder.entry(seed, n, d).sizes.sum()), budget, lo, hi)
        if distance is None:
            return builder.capped(seed, budget, n, hi)
        return TrainingSet(builder.entry(seed, n, distance), n, distance)
