"""``storagebench submit SPEC``: validate a compressor in contained processes, then benchmark it and write its
leaderboard entry.

SPEC is a registered name, ``package.module:Class`` or ``path/to/file.py:Class``. The benchmark is a definition
file (default ``benchmarks/leaderboard.toml``, the leaderboard's definition, whose ``[protocol]`` runs after the
grid) with its ``[compressor]`` table replaced: the submitted compressor, its
parameters (``--param key=value``) and levels (``--levels``/``--test-levels``, default the compressor's own
``default_levels`` and ``default_test_levels``). Validation samples images of the benchmark's own dataset.
"""
from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.atomic import write_json_atomic
from storagebench.benchmarks.definition import LEADERBOARD_CONFIG, BenchmarkConfig, load_config
from storagebench.benchmarks.harness.runner import Plan, make_plan, prepare_codec
from storagebench.compressors import COMPRESSORS
from storagebench.compressors.containment import isolation
from storagebench.compressors.validation import Limits, ValidationReport, validate
from storagebench.errors import StorageBenchError
from storagebench.log import say

SAMPLE_IMAGES = 4  # per split: validation encodes each at every level, twice, in two processes


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value`` with a TOML value (``effort=3``, ``subsampling="4:4:4"``; a bare word is a string)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise StorageBenchError(f"--param {text!r}: expected key=value")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.strip(), parsed


def submission_levels(values: list[str] | None) -> list[Any] | None:
    """Levels from the command line: numbers, or names such as lossless or 1..15."""
    if values is None:
        return None
    return [v if v == "lossless" else _number(v) for v in values]


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text  # a named level: the codec's parse_level says whether it is valid


def submission_config(base: BenchmarkConfig, spec: str, params: dict[str, Any], levels: list[str] | None,
                      test_levels: list[str] | None) -> BenchmarkConfig:
    """``base`` with the submitted compressor in its ``[compressor]`` table."""
    cls = COMPRESSORS.get(spec)  # an unknown name or a bad spec is a StorageBenchError
    train = submission_levels(levels) or list(cls.default_levels)
    test = submission_levels(test_levels) or list(cls.default_test_levels)
    if not train or not test:
        raise StorageBenchError(f"{spec}: the compressor declares no default levels; give --levels and --test-levels")
    return dataclasses.replace(base, name=f"{base.name}-{cls.name}", compressor=spec, compressor_params=params,
                               train_levels=tuple(train), test_levels=tuple(test), source=f"{base.source} "
                               f"with [compressor] = {spec}")


def sample_images(plan: Plan) -> list[np.ndarray]:
    """The first training images of the first seed's order and the first test images: what the benchmark feeds."""
    train = plan.splits.train.images[plan.orders[plan.config.seeds[0]][:SAMPLE_IMAGES]]
    return [*train, *plan.splits.test.images[:SAMPLE_IMAGES]]


def validate_plan(plan: Plan, cache_root: Path, limits: Limits, workers: int) -> ValidationReport:
    """Validation on the benchmark's own images. A learned codec fits here first (its checkpoints cached), so the
    contained processes' own ``fit`` on the same training pool finds them."""
    prepare_codec(plan, cache_root, workers)
    levels = list(dict.fromkeys([*plan.train_levels, *plan.test_levels]))
    say(f"validating {plan.config.compressor} on {2 * SAMPLE_IMAGES} images × {len(levels)} levels in separate "
        f"contained processes (limits: {limits.call_seconds:g} s per call, {limits.memory_mb} MiB; "
        f"{isolation().description})")
    return validate(plan.config.compressor, dataclasses.asdict(plan.codec.params), sample_images(plan), levels,
                    limits, fit_images=plan.splits.train.images[plan.train_pool], cache=cache_root / "codecs")


def load_submission(config_path: str | None, spec: str, params: list[str], levels: list[str] | None,
                    test_levels: list[str] | None, data: str | None) -> Plan:
    config = submission_config(load_config(config_path or LEADERBOARD_CONFIG), spec, dict(map(parse_param, params)),
                               levels, test_levels)
    return make_plan(config, data)


def save_report(out: Path, report: ValidationReport) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "validation.json"
    write_json_atomic(path, report.as_dict())
    return path


def parse_claims(texts: list[str], budgets: tuple[float, ...]) -> dict[float, float]:
    """``["250k=0.17"]`` → {250000.0: 0.17}: errors the submitter claims at budgets of the benchmark definition."""
    from storagebench.units import parse_budget

    claims = {}
    for text in texts:
        budget, equals, error = text.partition("=")
        try:
            value = float(error)
        except ValueError:
            value = -1.0
        if not equals or not 0 <= value <= 1:
            raise StorageBenchError(f"--claim {text!r}: expected BUDGET=ERROR with an error in [0, 1], e.g. 250k=0.17")
        claims[parse_budget(budget)] = value
    unknown = sorted(set(claims) - set(budgets))
    if unknown:
        raise StorageBenchError(f"--claim: budget(s) {', '.join(f'{b:g}' for b in unknown)} are not among the "
                                f"benchmark's [benchmark].budgets ({', '.join(f'{b:g}' for b in budgets) or 'none'})")
    return claims
