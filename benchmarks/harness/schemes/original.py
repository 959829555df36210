"""``original``: lossless images (the codec's original format), as many as fit in s with the decoder state the codec
declares for that level (none for every built-in)."""
from __future__ import annotations

from storagebench.benchmarks.harness.schemes import SCHEMES, CurveScheme


@SCHEMES.register("original")
class Original(CurveScheme):
    order = 0

    def build(self, builder, seed, budget):  # noqa: ANN001, ANN201
        from storagebench.benchmarks.harness.curves import DoesNotFit

        level = builder.plan.codec.original_level
        state = builder.decoder_bytes(level)
        if state >= budget:
            raise DoesNotFit(f"the decoder state alone ({state} bytes) fills s = {budget:.0f}")
        training = builder.fill(seed, budget - state, level)
        training.decoder_bytes = state
        return training
