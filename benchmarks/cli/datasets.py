"""``storagebench datasets``: list registered dataset readers."""
from __future__ import annotations

import argparse

from storagebench.benchmarks.cli.common import first_line, list_registry


def add(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("datasets", help="list registered dataset readers").set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.tasks import DATASETS

    return list_registry(DATASETS, first_line)
