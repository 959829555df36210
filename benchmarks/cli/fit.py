"""``storagebench fit DIR``: fit the storage scaling law to a results dir."""
from __future__ import annotations

import argparse
from pathlib import Path

from storagebench.benchmarks.cli.common import figure_options, list_argument


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("fit", parents=[figure_options()], help="fit the storage scaling law to a results dir; writes fits.json and figures/fit.png")
    p.add_argument("dir", help="results dir")
    list_argument(p, "--budgets", metavar="S",
                  help="storage budgets in bytes for the allocation table (e.g. 500k 2M; default: 4 spanning the grid)")
    p.add_argument("--bootstrap", type=int, default=200, metavar="R", help="bootstrap refits (default 200)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.analysis import fits as report
    from storagebench.benchmarks.analysis.reduction import refuse_reduction_dir
    from storagebench.benchmarks.analysis.summary import describe
    from storagebench.units import parse_budget

    out = Path(args.dir)
    refuse_reduction_dir(out, "fit")
    budgets = [parse_budget(b) for b in args.budgets] if args.budgets else None
    summary, fits_path, figure = report.fit_results_dir(out, budgets, args.bootstrap)
    print(report.summary_table(out))
    print(describe(summary))
    print(f"wrote {fits_path} and {figure}")
    return 0
