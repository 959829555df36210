"""storagebench: storage-aware training data benchmarks.

The user's top-level folders install as subpackages: ``storagebench.tasks`` (datasets and task adapters),
``storagebench.compressors`` (codecs and reducers), ``storagebench.benchmarks`` (the harness and CLI) and
``storagebench.leaderboard`` (rankings and publishing). This package holds only what all of them share — and, loaded
when first used, the Python API for notebooks (``api.py``): ``run``, ``load_results``, ``load_fit``, ``allocate``.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("storagebench")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+unknown"


API = ("run", "load_results", "load_fit", "allocate")


def __getattr__(name: str):  # noqa: ANN202  (PEP 562: the API is imported on first use, not with the package)
    if name in API:
        from storagebench import api

        return getattr(api, name)
    raise AttributeError(f"module 'storagebench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])
