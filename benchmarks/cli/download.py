"""``storagebench download NAME DIR``: a dataset through torchvision (needs internet)."""
from __future__ import annotations

import argparse


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("download", help="download a dataset with torchvision (needs internet)")
    p.add_argument("name", help="dataset name, e.g. fashion-mnist")
    p.add_argument("dir", help="directory to download into")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.errors import StorageBenchError
    from storagebench.tasks import DATASETS

    dataset = DATASETS.create(args.name, {}, "download")
    try:
        where = dataset.download(args.dir)
    except NotImplementedError as exc:  # a reader of data placed by hand (COCO, a folder, Cityscapes)
        raise StorageBenchError(f"download {args.name}: {exc}") from None
    except (OSError, RuntimeError) as exc:  # no internet: urllib's URLError is an OSError; torchvision raises either
        reason = " ".join(str(exc).split())[:200]  # one line: torchvision's message spans several
        raise StorageBenchError(f"download {args.name}: could not fetch it ({type(exc).__name__}: {reason}); this "
                                f"needs internet — or place the files yourself and pass --data") from None
    print(f"downloaded {args.name} to {where}; use it with --data {where}")
    return 0
