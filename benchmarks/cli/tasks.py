"""``storagebench tasks``: list registered tasks."""
from __future__ import annotations

import argparse

from storagebench.benchmarks.cli.common import first_line, list_registry


def add(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("tasks", help="list registered tasks").set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.tasks import TASKS

    return list_registry(TASKS, lambda c: f"{first_line(c)} (error = 1 − {c.metric})")
