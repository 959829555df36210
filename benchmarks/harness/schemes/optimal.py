"""``optimal``: n*(s) from the fitted law, then one common level, searched along the codec's knob (continuous or
discrete, ``harness/knob.py``) so the real total size of the n* images, plus the level's declared decoder state, is
as large as possible without exceeding s (a set filling ≥ 99 % of s ends the search). The search starts from the
level another seed's set found at s, or where the grid's measured bytes per image put s (a sample of the set's
estimate when the grid has fewer than two lossy levels); the answer is always checked on the set's real bytes.
``optimal-amortized`` is the same set with the decoder state not counted (amortized over many datasets); for a
codec that declares no state the two are one set. A discrete knob says how full s is."""
from __future__ import annotations

from storagebench.benchmarks.harness.schemes import SCHEMES, CurveScheme

AMORTIZED = "-amortized"


@SCHEMES.register("optimal")
class Optimal(CurveScheme):
    order, needs_law, searches = 1, True, True

    def __init__(self, amortized: bool = False):
        self.amortized = amortized

    @classmethod
    def parse(cls, text: str) -> "Optimal | None":
        return cls(text.endswith(AMORTIZED)) if text in (cls.name, cls.name + AMORTIZED) else None

    @property
    def label(self) -> str:
        return self.name + (AMORTIZED if self.amortized else "")

    def sort_key(self) -> tuple[int, float]:
        return (self.order, float(self.amortized))

    def build(self, builder, seed, budget):  # noqa: ANN001, ANN201
        from storagebench.benchmarks.harness.curves import DoesNotFit, TrainingSet, joined

        knob = builder.knob
        decoder = (lambda level: 0) if self.amortized else builder.decoder_bytes
        least = decoder(knob.smallest)
        if least >= budget:
            raise DoesNotFit(f"the decoder state alone ({least} bytes) fills s = {budget:.0f}")
        n, note = builder.n_star(budget - least)
        guess, estimates = builder.guesses.get((self.label, budget)), builder.estimates(n, decoder)
        if guess is None and len(estimates) < 2:
            guess = builder.sample_guess(seed, n, budget, decoder)
        level = knob.search(lambda lv: int(builder.entry(seed, n, lv).sizes.sum()) + decoder(lv), budget, guess,
                            estimates)
        if level is not None:
            builder.guesses[(self.label, budget)] = level  # the next seed's set starts its search here
        if level is None:
            training = builder.capped(seed, budget - least, n, knob.smallest, note)
        else:
            training = TrainingSet(builder.entry(seed, n, level), n, level, note)
        training.decoder_bytes = decoder(training.level)
        if not knob.continuous:
            filled = (training.total_bytes + training.decoder_bytes) / budget
            training.note = joined(training.note, f"fills {filled:.0%} of s")
        return training
