"""``storagebench compressors``: list registered compressors."""
from __future__ import annotations

import argparse

from storagebench.benchmarks.cli.common import first_line, list_registry


def add(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("compressors", help="list registered compressors").set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.compressors import COMPRESSORS, REDUCERS

    print("image codecs ([compressor] of a grid benchmark):")
    list_registry(COMPRESSORS, lambda c: f"{first_line(c)} (v{c.version}; original format: {c.original_level!r})")
    print("\ndataset reducers ([[reducer]] of a reduction benchmark):")
    return list_registry(REDUCERS, lambda c: f"{first_line(c)} (v{c.version}; {'learned' if c.synthetic else 'real'} images)")
