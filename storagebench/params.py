"""Turn a TOML table into a typed, frozen dataclass, with one clear error for a wrong key or value."""
from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, TypeVar

from storagebench.errors import StorageBenchError

D = TypeVar("D")


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    kind = annotation if annotation in (int, float, str, bool) else None
    if kind is None:
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise StorageBenchError(f"{where}: expected {kind.__name__}, got {value!r}")
    if kind is float and not math.isfinite(value):  # TOML has inf and nan; no setting means either
        raise StorageBenchError(f"{where}: expected a finite number, got {value!r}")
    return value


def parse_params(cls: type[D], params: dict[str, Any], where: str) -> D:
    """Build ``cls`` from ``params``; ``where`` names the config table in errors (e.g. ``[task]``)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise StorageBenchError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in params.items()}
    missing = [n for n, f in fields.items() if n not in values and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise StorageBenchError(f"{where}: missing required key(s) {', '.join(missing)}")
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:
        problem = check()
        if problem:
            raise StorageBenchError(f"{where}: {problem}")
    return obj
