"""``randomized``: n*(s) images with per-image levels spread evenly over [d_min, d_max] in a random order, d_min
(too large) or d_max (room left) moved by binary search until the real total is just within s."""
from __future__ import annotations

from storagebench.benchmarks.harness.schemes import SCHEMES, CurveScheme
from storagebench.compressors.randomized import spread_levels

RANDOMIZED_RANGE = (1.0, 15.0)  # the paper's grid ends, the scheme's starting interval (within the codec's)


@SCHEMES.register("randomized")
class Randomized(CurveScheme):
    order, needs_law, searches = 3, True, True

    def build(self, builder, seed, budget):  # noqa: ANN001, ANN201
        from storagebench.benchmarks.harness.curves import TrainingSet

        n = builder.n_star(budget)
        lo, hi = max(RANDOMIZED_RANGE[0], builder.search_range[0]), min(RANDOMIZED_RANGE[1], builder.search_range[1])

        def size(d_min: float, d_max: float) -> int:
            return int(builder.entry(seed, n, spread_levels(seed, n, d_min, d_max)).sizes.sum())

        if size(lo, hi) > budget:  # too large: raise d_min towards d_max
            d_min = builder.bisect(lambda d: size(d, hi), budget, lo, hi)
            if d_min is None:
                return builder.capped(seed, budget, n, hi)
            levels = spread_levels(seed, n, d_min, hi)
        else:  # room left: lower d_max towards d_min
            d_max = builder.bisect(lambda d: size(lo, d), budget, lo, hi)
            levels = spread_levels(seed, n, lo, d_max)
        return TrainingSet(builder.entry(seed, n, levels), n, levels)
