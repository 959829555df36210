"""``E* + A·n^-α + B·L^-β``: the storage scaling law (Mentzer & Montanari, 2024)."""
from __future__ import annotations

import numpy as np

from storagebench.benchmarks.law.forms import FORMS, LawForm
from storagebench.benchmarks.law.scaling_law import ScalingLaw


def additive_gradient(law: ScalingLaw, n: np.ndarray, L: np.ndarray, with_floor: bool) -> np.ndarray:
    n_term, L_term = n ** -law.alpha, L ** -law.beta
    columns = [n_term, -law.A * n_term * np.log(n), L_term, -law.B * L_term * np.log(L)]
    return np.column_stack(([np.ones_like(n)] if with_floor else []) + columns)


@FORMS.register("additive")
class Additive(LawForm):
    order, kinds, allocatable = 0, "ccece", True
    description = "E* + A·n^-α + B·L^-β"

    def predict(self, law: ScalingLaw, n: np.ndarray, L: np.ndarray) -> np.ndarray:
        return law.e_star + law.A * n ** -law.alpha + law.B * L ** -law.beta

    def columns(self, n: np.ndarray, L: np.ndarray, alpha: float, beta: float) -> np.ndarray:
        return np.column_stack([np.ones_like(n), n ** -alpha, L ** -beta])

    def from_coefficients(self, coef: np.ndarray, alpha: float, beta: float) -> ScalingLaw:
        return ScalingLaw(coef[0], coef[1], alpha, coef[2], beta, self.name)

    def pack(self, law: ScalingLaw) -> np.ndarray:
        return np.array([law.e_star, law.A, law.alpha, law.B, law.beta])

    def unpack(self, p: np.ndarray) -> ScalingLaw:
        return ScalingLaw(*map(float, p), form=self.name)

    def gradient(self, p: np.ndarray, n: np.ndarray, L: np.ndarray) -> np.ndarray:
        return additive_gradient(self.unpack(p), n, L, with_floor=True)
