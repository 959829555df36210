"""``storagebench protocol DIR``: measure the leaderboard protocol of a finished grid (its ranked sets and filled
baselines on the protocol's seeds), then print them."""
from __future__ import annotations

import argparse
from pathlib import Path

from storagebench.benchmarks.cli.common import cache_root, cell_options


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("protocol", parents=[cell_options()],
                              help="measure the leaderboard protocol ([protocol] of the benchmark) on a results dir "
                                   "whose grid is done: each budget's ranked set on every protocol seed, and the "
                                   "baselines filled to each budget")
    p.add_argument("dir", help="results dir of a grid run whose benchmark declares a [protocol]")
    p.set_defaults(func=main)


def run_protocol_and_report(out: Path, args: argparse.Namespace) -> None:
    from storagebench.benchmarks.analysis.fits import current_law
    from storagebench.benchmarks.analysis.reduction import refuse_reduction_dir
    from storagebench.benchmarks.harness.protocol import run_protocol

    refuse_reduction_dir(out, "protocol")
    rows = run_protocol(out, args.workers, cache_root(args), current_law, args.data)
    print(f"{'scheme':<18} {'budget':>10} {'seed':>4} {'n':>6} {'bytes':>9} {'decoder':>8} {'error':>7}  level")
    for row in rows:
        print(f"{row.scheme:<18} {row.budget:>10.0f} {row.seed:>4} {row.n:>6} {row.bytes_total:>9} "
              f"{row.decoder_bytes:>8} {row.error:>7.4f}  {row.level}")


def main(args: argparse.Namespace) -> int:
    run_protocol_and_report(Path(args.dir), args)
    return 0
