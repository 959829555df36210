"""Law forms: how E*, A·n^-α and B·L^-β combine. Each form is one class in one file of this folder, registered by
name (``@FORMS.register("name")``; third parties through the ``storagebench.law_forms`` entry point group). For
fixed exponents (α, β) every form is linear in its non-negative coefficients, which the robust fit relies on.

A form says: its design columns at fixed (α, β) and the law its coefficients make; how its free parameters pack into
a vector for local refinement (with each one's kind: ``c`` coefficient ≥ 0, ``e`` exponent within bounds) and the
prediction's gradient in them; and whether the closed-form optimal allocation applies to it.
"""
from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.errors import StorageBenchError
from storagebench.registry import Registry


class LawForm(abc.ABC):
    name: ClassVar[str]
    order: ClassVar[int]  # where it is listed (tables, fits.json), and which wins a tie in held-out error
    kinds: ClassVar[str]  # per packed parameter: "c" coefficient (≥ 0), "e" exponent (bounded)
    allocatable: ClassVar[bool] = False
    description: ClassVar[str] = ""

    @abc.abstractmethod
    def predict(self, law: ScalingLaw, n: np.ndarray, L: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def columns(self, n: np.ndarray, L: np.ndarray, alpha: float, beta: float) -> np.ndarray:
        """The design matrix at fixed exponents: prediction = columns @ coefficients."""

    @abc.abstractmethod
    def from_coefficients(self, coef: np.ndarray, alpha: float, beta: float) -> ScalingLaw: ...

    @abc.abstractmethod
    def pack(self, law: ScalingLaw) -> np.ndarray: ...

    @abc.abstractmethod
    def unpack(self, p: np.ndarray) -> ScalingLaw: ...

    @abc.abstractmethod
    def gradient(self, p: np.ndarray, n: np.ndarray, L: np.ndarray) -> np.ndarray:
        """d prediction / d packed parameters, one row per point."""


FORMS: Registry[LawForm] = Registry(
    "law form", "storagebench.law_forms", base=LawForm,
    modules=tuple(f"{__name__}.{m}" for m in ("additive", "no_floor", "multiplicative")))


def law_form(name: str) -> LawForm:
    """The form registered as ``name`` (names come from fits.json and entries too: never imported by spec)."""
    cls = FORMS.registered(name)
    if cls is None:
        raise StorageBenchError(f"unknown law form {name!r}; known: {', '.join(form_names())}")
    return cls()


def form_names() -> list[str]:
    """Every registered form, in its ``order``."""
    return [name for name, _ in sorted(FORMS.items(), key=lambda item: (item[1].order, item[0]))]
