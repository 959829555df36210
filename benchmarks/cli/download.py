"""``storagebench download NAME DIR``: a dataset through torchvision (needs internet)."""
from __future__ import annotations

import argparse


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("download", help="download a dataset with torchvision (needs internet)")
    p.add_argument("name", help="dataset name, e.g. fashion-mnist")
    p.add_argument("dir", help="directory to download into")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.tasks import DATASETS

    dataset = DATASETS.create(args.name, {}, "download")
    where = dataset.download(args.dir)
    print(f"downloaded {args.name} to {where}; use it with --data {where}")
    return 0
