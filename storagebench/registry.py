"""Name → class registries: a decorator for built-ins, entry points for third parties (built-ins win), and
specs naming a class directly: ``package.module:Class`` or ``path/to/file.py:Class``."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable, Generic, TypeVar

from storagebench.errors import StorageBenchError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """``base`` is what every class in it must subclass (a class, or a ``module:Class`` spec resolved when first
    needed); ``modules`` are built-in modules imported when the registry is first read, so that code which never
    reads it (a contained codec process, say) does not pay for their imports."""

    def __init__(self, kind: str, entry_point_group: str, base: type | str | None = None,
                 modules: tuple[str, ...] = ()):
        self.kind = kind
        self._base = base
        self.entry_point_group = entry_point_group
        self._builtins: dict[str, type[T]] = {}
        self._plugins: dict[str, type[T]] | None = None
        self._modules = modules

    @property
    def base(self) -> type | None:
        if isinstance(self._base, str):
            self._base = load_spec(self._base, self.kind)
        return self._base

    def _load_builtins(self) -> dict[str, type[T]]:
        while self._modules:
            module, *rest = self._modules
            self._modules = tuple(rest)
            importlib.import_module(module)
        return self._builtins

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def decorate(cls: type[T]) -> type[T]:
            if name in self._builtins and self._builtins[name] is not cls:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            cls.name = name  # type: ignore[attr-defined]
            self._builtins[name] = cls
            return cls

        return decorate

    def unregister(self, name: str) -> None:
        """Forget a class registered with ``register`` (for code that registers one for a while: tests, notebooks)."""
        self._builtins.pop(name, None)

    def _load_plugins(self) -> dict[str, type[T]]:
        if self._plugins is None:
            self._plugins = {}
            for ep in entry_points(group=self.entry_point_group):
                if ep.name in self._load_builtins():
                    warnings.warn(f"{self.kind} plug-in {ep.value} ignored: built-in {ep.name!r} wins")
                    continue
                self._plugins[ep.name] = ep.load()
        return self._plugins

    def builtin(self, name: str) -> type[T] | None:
        """The built-in class registered as ``name``, or None; never imports anything (safe on names from data)."""
        return self._load_builtins().get(name)

    def registered(self, name: str) -> type[T] | None:
        """A built-in or installed plug-in named ``name``, or None; never a spec (safe on names from data)."""
        return self._load_builtins().get(name) or self._load_plugins().get(name)

    def names(self) -> list[str]:
        return sorted({*self._load_builtins(), *self._load_plugins()})

    def get(self, name: str) -> type[T]:
        if name in self._load_builtins():
            return self._builtins[name]
        if is_spec(name):
            return self._from_spec(name)
        plugins = self._load_plugins()
        if name in plugins:
            return plugins[name]
        raise UnknownNameError(self.kind, name, self.names())

    def _from_spec(self, spec: str) -> type[T]:
        cls = load_spec(spec, self.kind)
        if self.base is not None and not issubclass(cls, self.base):
            raise StorageBenchError(f"{spec}: {cls.__name__} is not a {self.kind} (subclass "
                                    f"{self.base.__module__}.{self.base.__qualname__})")
        own = getattr(cls, "name", None)
        if not isinstance(own, str) or not own:
            cls.name = cls.__name__.lower()  # type: ignore[attr-defined]
        elif own in self._load_builtins() and self._builtins[own] is not cls:
            raise StorageBenchError(f"{spec}: {self.kind} is named {own!r}, the name of a built-in; rename it")
        return cls

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


def is_spec(name: str) -> bool:
    return ":" in name


def load_spec(spec: str, kind: str) -> type:
    """The class a ``module:Class`` or ``file.py:Class`` spec names; one clear error for each way it can fail."""
    target, _, attribute = spec.rpartition(":")
    if not target or not attribute:
        raise StorageBenchError(f"{spec}: a {kind} spec is module:Class or path/to/file.py:Class")
    try:
        module = _load_file(Path(target)) if target.endswith(".py") else importlib.import_module(target)
    except StorageBenchError:
        raise
    except Exception as exc:  # noqa: BLE001  (a plug-in's import may raise anything; say which and where)
        raise StorageBenchError(f"{spec}: importing {target} failed: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, attribute, None)
    if not isinstance(cls, type):
        raise StorageBenchError(f"{spec}: {target} has no class {attribute!r}")
    return cls


def _load_file(path: Path):  # noqa: ANN202
    path = path.expanduser().resolve()
    if not path.is_file():
        raise StorageBenchError(f"{path}: file not found")
    # A stable module name per file, registered in sys.modules so forked and spawned workers can find it again.
    name = f"storagebench_plugin_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException:
        del sys.modules[name]
        raise
    return module
