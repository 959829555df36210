"""The leaderboard protocol of a grid benchmark: how every entry's one ranked number per budget is measured,
declared in the benchmark file's ``[protocol]`` table before anything is measured, and applied identically to every
entry (``harness/protocol.py`` runs it, ``leaderboard/ranking.py`` ranks by it).

    [protocol]
    seeds = [0, 1, 2]       # each ranked set is trained once per seed (subset draw and model initialisation)
    decoders = "counted"    # or "amortized": whether a level's decoder state counts toward the budget
    fallback_n = 2000       # n when an entry has no fit, or its fit has no finite optimum (default: the grid's
                            # largest n)

At each budget s of ``[benchmark].budgets`` an entry's ranked set is its *scaling-optimal set*: n*(s) from the
entry's own fit (capped at the training pool), then its level knob searched so that the real bytes of those n*
images (plus the level's decoder state when counted) fill s without exceeding it. A codec with no level knob
(one lossless level) fills s with as many images as fit. The ranked number is that set's mean error over the
seeds; nothing is a minimum over candidates. The baselines (original format and random subset, each filled to s)
are trained on the same seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storagebench.errors import StorageBenchError

DECODERS = ("counted", "amortized")
KEYS = ("seeds", "decoders", "fallback_n")
MIN_SEEDS = 3  # a ranked number is a mean with an interval: fewer seeds give no interval worth reading
RANKED = "optimal"  # the scheme of the ranked set (``harness/schemes/optimal.py``)
RANKED_AMORTIZED = "optimal-amortized"  # the same with decoders not counted, for the amortized view
NO_KNOB = "original"  # a codec with no level knob: its one level, as many images as fit


@dataclass(frozen=True)
class Protocol:
    seeds: tuple[int, ...] = (0, 1, 2)
    decoders: str = "counted"
    fallback_n: int | None = None  # None: the grid's largest n

    @property
    def counts_decoders(self) -> bool:
        return self.decoders == "counted"

    def as_toml(self) -> dict[str, Any]:
        return {"seeds": list(self.seeds), "decoders": self.decoders,
                **({"fallback_n": self.fallback_n} if self.fallback_n is not None else {})}

    def describe(self, largest_n: int) -> str:
        """The protocol in words, for reports and the page."""
        return describe_protocol(self.as_toml(), largest_n)


def describe_protocol(table: dict[str, Any], largest_n: int) -> str:
    """A protocol (as its TOML table, e.g. from an entry) in words."""
    seeds = ", ".join(map(str, table["seeds"]))
    decoders = ("each level's decoder state (measured) counts toward s" if table.get("decoders", "counted") ==
                "counted" else "decoder state is not counted (amortized over many datasets)")
    return (f"At each budget s, each entry's scaling-optimal set: n*(s) from its own fit, then its level knob "
            f"searched so the real bytes of the n* images fill s without exceeding it (≥ 99 % ends the search); "
            f"{decoders}. Trained with seeds {seeds} (subset draw and initialisation, the same for every entry); "
            f"ranked by the mean error with a 95% t-interval; entries not distinguishable from the leader (paired "
            f"t-test over seeds, Holm-corrected, α = 0.05) share rank 1 (\"1=\"). No fit or no finite optimum: "
            f"n = {table.get('fallback_n') or largest_n} (declared fallback). No level knob: as many images as fit "
            f"at its one level. Baselines (original format = lossless JPEG XL, random subset = PNG) fill s with the "
            f"first images of each seed's order, same seeds.")


def parse_protocol(table: Any, where: str) -> Protocol:
    if not isinstance(table, dict):
        raise StorageBenchError(f"{where}: expected a table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise StorageBenchError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(KEYS)}")
    seeds = table.get("seeds", [0, 1, 2])
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                              for s in seeds) or len(set(seeds)) != len(seeds):
        raise StorageBenchError(f"{where}.seeds: expected distinct integers ≥ 0, got {seeds!r}")
    if len(seeds) < MIN_SEEDS:
        raise StorageBenchError(f"{where}.seeds: a ranked number needs ≥ {MIN_SEEDS} seeds, got {len(seeds)}")
    decoders = table.get("decoders", "counted")
    if decoders not in DECODERS:
        raise StorageBenchError(f"{where}.decoders: expected one of {', '.join(map(repr, DECODERS))}, "
                                f"got {decoders!r}")
    fallback = table.get("fallback_n")
    if fallback is not None and (not isinstance(fallback, int) or isinstance(fallback, bool) or fallback < 1):
        raise StorageBenchError(f"{where}.fallback_n: expected an integer ≥ 1, got {fallback!r}")
    return Protocol(tuple(seeds), decoders, fallback)
