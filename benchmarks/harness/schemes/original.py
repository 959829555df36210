"""``original``: lossless images (the codec's original format), as many as fit in s."""
from __future__ import annotations

from storagebench.benchmarks.harness.schemes import SCHEMES, CurveScheme


@SCHEMES.register("original")
class Original(CurveScheme):
    order = 0

    def build(self, builder, seed, budget):  # noqa: ANN001, ANN201
        return builder.fill(seed, budget, builder.plan.codec.original_level)
