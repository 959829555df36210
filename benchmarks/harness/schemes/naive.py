"""``naive-d<D>``: a fixed level D (e.g. a JPEG XL distance), as many images as fit in s."""
from __future__ import annotations

import re

from storagebench.benchmarks.harness.schemes import SCHEMES, CurveScheme


@SCHEMES.register("naive")
class Naive(CurveScheme):
    order = 2
    example = "naive-d<D>"
    PATTERN = re.compile(r"naive-d([0-9]*\.?[0-9]+)")

    def __init__(self, distance: float):
        self.distance = distance

    @classmethod
    def parse(cls, text: str) -> "Naive | None":
        match = cls.PATTERN.fullmatch(text)
        return cls(float(match.group(1))) if match else None

    @property
    def label(self) -> str:
        return f"naive-d{self.distance:g}"

    def sort_key(self) -> tuple[int, float]:
        return (self.order, self.distance)

    def levels(self) -> list[float]:
        return [self.distance]

    def build(self, builder, seed, budget):  # noqa: ANN001, ANN201
        return builder.fill(seed, budget, builder.plan.codec.parse_level(self.distance))
