"""Storage-curve schemes: each is one way to build a real training set that fills a byte budget s. Each is one
class in one file of this folder, registered by name (``@SCHEMES.register("name")``; third parties through the
``storagebench.schemes`` entry point group). A scheme written with a parameter (``naive-d3``) parses it in its own
``parse``; ``parse_scheme`` is the one place names from the command line and benchmark files are read.

A scheme builds its set with the ``CurveBuilder`` it is given (``harness/curves.py``): ``fill`` (as many images at a
level as fit), ``n_star`` (the fit's optimal n, capped at the pool), ``entry`` (a stored prefix), ``bisect`` (a
search over the codec's level) and ``capped``.
"""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

from storagebench.errors import StorageBenchError
from storagebench.registry import Registry

if TYPE_CHECKING:
    from storagebench.benchmarks.harness.curves import CurveBuilder, TrainingSet
    from storagebench.benchmarks.harness.knob import LevelKnob


class CurveScheme(abc.ABC):
    name: ClassVar[str]
    order: ClassVar[int]  # where it is listed in tables and figures
    needs_law: ClassVar[bool] = False  # builds on the fitted law's n*(s)
    searches: ClassVar[bool] = False  # searches the codec's level knob (``harness/knob.py``)
    example: ClassVar[str | None] = None  # a scheme with a parameter: how its names look (e.g. "naive-d<D>")

    @classmethod
    def parse(cls, text: str) -> "CurveScheme | None":
        """This scheme if ``text`` names it, else None (a scheme with a parameter reads it from ``text``)."""
        return cls() if text == cls.name else None

    @property
    def label(self) -> str:
        """How results name this scheme (``parse(label)`` gives it back)."""
        return self.name

    def sort_key(self) -> tuple[int, float]:
        return (self.order, 0.0)

    def levels(self) -> list[Any]:
        """Levels this scheme fixes, checked against the codec before any work."""
        return []

    @classmethod
    def applies(cls, knob: "LevelKnob | None") -> bool:
        """Whether this scheme can build sets for a codec with ``knob`` (None: the codec has no searchable knob)."""
        return not cls.searches or knob is not None

    @abc.abstractmethod
    def build(self, builder: "CurveBuilder", seed: int, budget: float) -> "TrainingSet": ...


SCHEMES: Registry[CurveScheme] = Registry(
    "storage-curve scheme", "storagebench.schemes", base=CurveScheme,
    modules=tuple(f"{__name__}.{m}" for m in ("original", "optimal", "naive", "randomized")))


def parse_scheme(text: str, where: str = "scheme") -> CurveScheme:
    """The scheme ``text`` names; one error listing the known ones otherwise. Never imports a spec: names come from
    benchmark files and results dirs."""
    for name in SCHEMES.names():
        found = SCHEMES.registered(name).parse(str(text))
        if found is not None:
            return found
    examples = ", ".join(f'"{cls.example or cls.name}"' for _, cls in sorted(SCHEMES.items(),
                                                                             key=lambda item: item[1].order))
    raise StorageBenchError(f"{where}: unknown storage-curve scheme {text!r}; known: {examples}")


def default_schemes(naive: list[float], knob: "LevelKnob | None" = None) -> list[str]:
    """``storagebench curves``: every registered scheme that applies to a codec with ``knob``, the naive one at each
    of ``naive``'s levels."""
    from storagebench.benchmarks.harness.schemes.naive import Naive

    labels = [cls().label for _, cls in SCHEMES.items() if cls.example is None and cls.applies(knob)]
    labels += [Naive(float(d)).label for d in naive]
    return sorted(labels, key=lambda label: parse_scheme(label).sort_key())
