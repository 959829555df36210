"""``storagebench leaderboard DIR...``: rank entries at equal storage; the static site."""
from __future__ import annotations

import argparse
from pathlib import Path


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("leaderboard", help="rank entries at equal storage: SITE/index.html (sortable tables, figures, "
                                           "a page per entry) + leaderboard.json/csv")
    p.add_argument("sources", nargs="*", metavar="DIR",
                   help="results dirs, entry JSON files, or folders of entry files (e.g. leaderboard/entries)")
    p.add_argument("--tasks", nargs="+", default=[], metavar="DIR",
                   help="results dirs of several tasks' benchmarks to compare at equal storage (a section of the "
                        "page and comparison.json; as `storagebench compare`)")
    p.add_argument("--out", default="results/leaderboard", help="site folder (default: results/leaderboard)")
    p.add_argument("--target", type=float, metavar="ERR",
                   help="error for the 'bytes to target' column (default: original format's measured error at "
                        "each board's largest budget)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.leaderboard.site import build_leaderboard
    from storagebench.leaderboard.text import format_leaderboard

    site = Path(args.out)
    summary = build_leaderboard([Path(p) for p in args.sources], site, args.target, [Path(p) for p in args.tasks])
    if summary["boards"]:
        print(format_leaderboard(summary))
    print(f"wrote {site / 'index.html'}, {site / 'leaderboard.json'} and {site / 'leaderboard.csv'}")
    return 0
