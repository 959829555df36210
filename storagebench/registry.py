"""Name → class registries: a decorator for built-ins, entry points for third parties (built-ins win)."""
from __future__ import annotations

import warnings
from importlib.metadata import entry_points
from typing import Callable, Generic, TypeVar

from storagebench.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, entry_point_group: str):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._builtins: dict[str, type[T]] = {}
        self._plugins: dict[str, type[T]] | None = None

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def decorate(cls: type[T]) -> type[T]:
            if name in self._builtins and self._builtins[name] is not cls:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            cls.name = name  # type: ignore[attr-defined]
            self._builtins[name] = cls
            return cls

        return decorate

    def _load_plugins(self) -> dict[str, type[T]]:
        if self._plugins is None:
            self._plugins = {}
            for ep in entry_points(group=self.entry_point_group):
                if ep.name in self._builtins:
                    warnings.warn(f"{self.kind} plug-in {ep.value} ignored: built-in {ep.name!r} wins")
                    continue
                self._plugins[ep.name] = ep.load()
        return self._plugins

    def names(self) -> list[str]:
        return sorted({*self._builtins, *self._load_plugins()})

    def get(self, name: str) -> type[T]:
        if name in self._builtins:
            return self._builtins[name]
        plugins = self._load_plugins()
        if name in plugins:
            return plugins[name]
        raise UnknownNameError(self.kind, name, self.names())

    def items(self) -> list[tuple[str, type[T]]]:
        return [(name, self.get(name)) for name in self.names()]

    def create(self, name: str, table: dict, where: str) -> T:
        """Instantiate ``name`` with its ``Params`` dataclass parsed from a config table."""
        from storagebench.errors import StorageBenchError
        from storagebench.params import parse_params

        try:
            cls = self.get(name)
        except UnknownNameError as exc:
            raise StorageBenchError(f"{where}.name: {exc}") from None
        return cls(parse_params(cls.Params, table, where))  # type: ignore[attr-defined,call-arg]
