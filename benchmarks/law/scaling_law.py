"""A fitted storage scaling law: its parameters and the form that says how they combine (``forms/``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScalingLaw:
    e_star: float
    A: float
    alpha: float
    B: float
    beta: float
    form: str = "additive"

    def predict(self, n: np.ndarray, L: np.ndarray) -> np.ndarray:
        from storagebench.benchmarks.law.forms import law_form

        return law_form(self.form).predict(self, np.asarray(n, dtype=float), np.asarray(L, dtype=float))

    @property
    def nu(self) -> float:
        """Excess error at the optimal allocation falls as s^-ν."""
        return self.alpha * self.beta / (self.alpha + self.beta)

    @property
    def allocatable(self) -> bool:
        """Whether the closed-form optimal allocation applies (a law with separate n and L terms)."""
        from storagebench.benchmarks.law.forms import law_form

        return law_form(self.form).allocatable
