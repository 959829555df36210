"""``storagebench curves DIR``: train the storage-curve schemes at each budget, then tabulate and plot."""
from __future__ import annotations

import argparse
from pathlib import Path

from storagebench.benchmarks.cli.common import cache_root, cell_options, figure_options, list_argument

NAIVE_DISTANCES = [3.0, 8.0, 13.0]  # the paper's naive schemes


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("curves", parents=[cell_options(), figure_options()], help="storage curves: train original / scaling-optimal / naive / randomized sets "
                                      "at each budget; curves.json + figures/curves.png")
    p.add_argument("dir", help="results dir of a grid run (its fit gives n*(s))")
    list_argument(p, "--budgets", metavar="S", help="budgets in bytes (e.g. 100k 400k; default: the benchmark's "
                                                            "[benchmark].budgets, else 4 spanning the grid's storage)")
    list_argument(p, "--naive", metavar="D",
                  help="fixed distances of the naive schemes (default: 3 8 13, as in the paper)")
    list_argument(p, "--schemes", metavar="NAME",
                  help="train only these schemes (e.g. original optimal; default: every scheme that applies, "
                       "with the naive ones at --naive)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.analysis.curves import (
        check_budgets,
        format_summary,
        write_curves,
    )
    from storagebench.benchmarks.analysis.fits import current_law
    from storagebench.benchmarks.analysis.reduction import refuse_reduction_dir
    from storagebench.benchmarks.harness.curves import run_curves
    from storagebench.units import parse_budget

    out = Path(args.dir)
    refuse_reduction_dir(out, "curves")
    budgets = check_budgets(out, [parse_budget(b) for b in args.budgets] if args.budgets else None)
    naive = [float(d) for d in args.naive] if args.naive else NAIVE_DISTANCES
    rows, law = run_curves(out, budgets, naive, args.workers, cache_root(args), current_law, args.data,
                           args.schemes)
    summary, json_path, figure = write_curves(out, rows, law)
    print(format_summary(summary))
    print(f"wrote {json_path} and {figure}")
    return 0
