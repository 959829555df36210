"""``A·n^-α + B·L^-β``: the additive law without an irreducible error (E* = 0)."""
from __future__ import annotations

import numpy as np

from storagebench.benchmarks.law.forms import FORMS
from storagebench.benchmarks.law.forms.additive import Additive, additive_gradient
from storagebench.benchmarks.law.scaling_law import ScalingLaw


@FORMS.register("no-floor")
class NoFloor(Additive):  # predicts as the additive law does, with E* held at 0
    order, kinds, allocatable = 1, "cece", True
    description = "A·n^-α + B·L^-β"

    def columns(self, n: np.ndarray, L: np.ndarray, alpha: float, beta: float) -> np.ndarray:
        return np.column_stack([n ** -alpha, L ** -beta])

    def from_coefficients(self, coef: np.ndarray, alpha: float, beta: float) -> ScalingLaw:
        return ScalingLaw(0.0, coef[0], alpha, coef[1], beta, self.name)

    def pack(self, law: ScalingLaw) -> np.ndarray:
        return np.array([law.A, law.alpha, law.B, law.beta])

    def unpack(self, p: np.ndarray) -> ScalingLaw:
        return ScalingLaw(0.0, float(p[0]), float(p[1]), float(p[2]), float(p[3]), self.name)

    def gradient(self, p: np.ndarray, n: np.ndarray, L: np.ndarray) -> np.ndarray:
        return additive_gradient(self.unpack(p), n, L, with_floor=False)
