"""``E* + A·n^-α·L^-β``: the interaction form the paper tried beside the additive law."""
from __future__ import annotations

import numpy as np

from storagebench.benchmarks.law.forms import FORMS, LawForm
from storagebench.benchmarks.law.scaling_law import ScalingLaw


@FORMS.register("multiplicative")
class Multiplicative(LawForm):
    order, kinds, allocatable = 2, "ccee", False
    description = "E* + A·n^-α·L^-β"

    def predict(self, law: ScalingLaw, n: np.ndarray, L: np.ndarray) -> np.ndarray:
        return law.e_star + law.A * n ** -law.alpha * L ** -law.beta

    def columns(self, n: np.ndarray, L: np.ndarray, alpha: float, beta: float) -> np.ndarray:
        return np.column_stack([np.ones_like(n), n ** -alpha * L ** -beta])

    def from_coefficients(self, coef: np.ndarray, alpha: float, beta: float) -> ScalingLaw:
        return ScalingLaw(coef[0], coef[1], alpha, 0.0, beta, self.name)

    def pack(self, law: ScalingLaw) -> np.ndarray:
        return np.array([law.e_star, law.A, law.alpha, law.beta])

    def unpack(self, p: np.ndarray) -> ScalingLaw:
        return ScalingLaw(float(p[0]), float(p[1]), float(p[2]), 0.0, float(p[3]), self.name)

    def gradient(self, p: np.ndarray, n: np.ndarray, L: np.ndarray) -> np.ndarray:
        law = self.unpack(p)
        term = law.A * n ** -law.alpha * L ** -law.beta
        return np.column_stack([np.ones_like(n), n ** -law.alpha * L ** -law.beta, -term * np.log(n),
                                -term * np.log(L)])
