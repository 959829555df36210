"""``randomized``: n*(s) images with per-image levels spread evenly over [d_min, d_max] in a random order, d_min
(too large) or d_max (room left) moved by binary search until the real total is just within s."""
from __future__ import annotations

from storagebench.benchmarks.harness.schemes import SCHEMES, CurveScheme
from storagebench.compressors.randomized import spread_levels
from storagebench.errors import StorageBenchError

RANDOMIZED_RANGE = (1.0, 15.0)  # the paper's grid ends, the scheme's starting interval (within the codec's)


@SCHEMES.register("randomized")
class Randomized(CurveScheme):
    order, needs_law, searches = 3, True, True

    @classmethod
    def applies(cls, knob) -> bool:  # noqa: ANN001
        """Per-image levels spread over a range: a continuous, distance-like knob (JPEG XL's distances)."""
        return knob is not None and knob.continuous and knob.distance_like

    def build(self, builder, seed, budget):  # noqa: ANN001, ANN201
        from storagebench.benchmarks.harness.curves import TrainingSet

        if not self.applies(builder.knob):
            raise StorageBenchError(f"randomized: needs a continuous, distance-like level knob; "
                                    f"{builder.plan.codec.name} has {builder.knob.describe()}")
        n, note = builder.n_star(budget)
        lo, hi = max(RANDOMIZED_RANGE[0], builder.knob.low), min(RANDOMIZED_RANGE[1], builder.knob.high)

        def size(d_min: float, d_max: float) -> int:
            return int(builder.entry(seed, n, spread_levels(seed, n, d_min, d_max)).sizes.sum())

        if size(lo, hi) > budget:  # too large: raise d_min towards d_max
            d_min = builder.bisect(lambda d: size(d, hi), budget, lo, hi)
            if d_min is None:
                return builder.capped(seed, budget, n, hi, note)
            levels = spread_levels(seed, n, d_min, hi)
        else:  # room left: lower d_max towards d_min
            d_max = builder.bisect(lambda d: size(lo, d), budget, lo, hi)
            levels = spread_levels(seed, n, lo, d_max)
        return TrainingSet(builder.entry(seed, n, levels), n, levels, note)
