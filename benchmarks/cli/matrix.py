"""``storagebench matrix DIR``: the cross-compression matrix."""
from __future__ import annotations

import argparse
from pathlib import Path

from storagebench.benchmarks.cli.common import figure_options


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("matrix", parents=[figure_options()], help="cross-compression matrix (train level × test level error at the largest n): "
                                      "matrix.csv + figures/matrix.png")
    p.add_argument("dir", help="results dir")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.analysis.matrix import write_matrix
    from storagebench.benchmarks.analysis.reduction import refuse_reduction_dir

    refuse_reduction_dir(Path(args.dir), "matrix")
    table, csv_path, figure = write_matrix(Path(args.dir))
    print(table)
    print(f"wrote {csv_path} and {figure}")
    return 0
