"""``storagebench rd COMPRESSOR``: a rate–distortion card."""
from __future__ import annotations

import argparse
from pathlib import Path

from storagebench.benchmarks.cli.common import cache_root, figure_options, list_argument
from storagebench.paths import child_path


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("rd", parents=[figure_options()], help="rate–distortion card: bits per pixel vs PSNR, SSIM and Butteraugli on real photos "
                                  "and Fashion-MNIST; rd.csv + rd.png")
    p.add_argument("compressor", help="a registered name, package.module:Class or path/to/file.py:Class")
    list_argument(p, "--levels", metavar="LEVEL", help="levels (default: the compressor's own)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a compressor parameter")
    p.add_argument("--images", type=int, default=200, help="Fashion-MNIST test images (default 200)")
    p.add_argument("--out", help="output dir (default: results/rd/<compressor>)")
    p.add_argument("--data", help="Fashion-MNIST location (default: the Debian package's)")
    p.add_argument("--cache", help="cache folder for learned codecs' checkpoints")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.analysis.rd import format_card, rd_card
    from storagebench.benchmarks.definition import absolute_spec
    from storagebench.benchmarks.harness.runner import parse_levels
    from storagebench.benchmarks.harness.submit import parse_param, submission_levels
    from storagebench.compressors import COMPRESSORS
    from storagebench.tasks import DATASETS

    codec = COMPRESSORS.create(args.compressor, dict(map(parse_param, args.param)), "--param")
    levels = parse_levels(codec, submission_levels(args.levels) or codec.default_levels, "--levels")
    fashion = DATASETS.create("fashion-mnist", {"path": args.data or ""}, "--data").load()
    out = Path(args.out) if args.out else child_path(Path("results") / "rd", codec.name, "compressor name")
    rows, csv_path, figure, notes = rd_card(codec, levels, fashion, args.images, out, cache_root(args),
                                            absolute_spec(args.compressor))
    print(format_card(rows))
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {csv_path} and {figure}")
    return 0
