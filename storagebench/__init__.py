"""storagebench: storage-aware training data benchmarks.

The user's top-level folders install as subpackages: ``storagebench.tasks`` (datasets and task adapters),
``storagebench.compressors`` (codecs and reducers), ``storagebench.benchmarks`` (the harness and CLI) and
``storagebench.leaderboard`` (rankings and publishing). This package holds only what all of them share.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("storagebench")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+unknown"
