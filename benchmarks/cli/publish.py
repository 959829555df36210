"""``storagebench publish DIR...``: results dirs as Weights & Biases runs."""
from __future__ import annotations

import argparse
from pathlib import Path


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("publish", help="publish results dirs to Weights & Biases: a run per trained cell, a fit run, "
                                       "the leaderboard table (offline unless W&B credentials are configured)")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="results dirs")
    p.add_argument("--project", help="W&B project (default: storagebench)")
    p.add_argument("--entity", help="W&B entity (team or user)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.leaderboard.publish import publish

    publishers = publish([Path(d) for d in args.dirs], args.project, args.entity)
    for p in publishers:
        print(f"{p.dir}: {len(p.ids)} W&B runs ({p.mode_name}) under {p.dir / 'wandb'}")
    if publishers and publishers[0].mode_name == "offline":
        print("offline: upload with `wandb sync DIR/wandb/offline-run-*` once logged in; run ids are stable, so "
              "syncing again updates the same runs")
    return 0
