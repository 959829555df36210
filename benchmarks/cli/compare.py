"""``storagebench compare DIR DIR ...``: tasks side by side at equal storage, from their results dirs."""
from __future__ import annotations

import argparse
from pathlib import Path

from storagebench.benchmarks.cli.common import list_argument


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compare", help="tasks side by side at equal storage: each results dir's α, β, ν with "
                                              "intervals, n*(s), L*(s), scaling-optimal vs original format with "
                                              "intervals, its cross-compression matrix; comparison.json/.md + a figure")
    p.add_argument("dirs", nargs="+", metavar="DIR",
                   help="results dirs of the tasks' benchmarks (fitted; run `storagebench curves DIR` first for the "
                        "measured optimal and original sets)")
    list_argument(p, "--budgets", metavar="S",
                  help="budgets in bytes (default: the union of the dirs' fitted budgets)")
    p.add_argument("--out", default="results/comparison", help="folder for comparison.json, comparison.md and "
                                                               "figures/ (default: results/comparison)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.leaderboard.tasks_compared import format_markdown, write_comparison
    from storagebench.units import parse_budget

    out = Path(args.out)
    budgets = [parse_budget(b) for b in args.budgets] if args.budgets else None
    comparison, figure = write_comparison([Path(d) for d in args.dirs], out, budgets)
    print(format_markdown(comparison))
    print(f"\nwrote {out / 'comparison.json'}, {out / 'comparison.md'} and {figure}")
    return 0
