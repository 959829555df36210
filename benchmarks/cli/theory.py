"""``storagebench theory``: the paper's stylized multiresolution model."""
from __future__ import annotations

import argparse
from pathlib import Path

from storagebench.benchmarks.cli.common import figure_options
from storagebench.errors import StorageBenchError


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("theory", parents=[figure_options()], help="the paper's stylized multiresolution model: exact ridge risk, law fit, plot")
    p.add_argument("--out", default="results/theory", help="output dir (default: results/theory)")
    for flag, default, text in (("p", 2.01, "variance decay per level"), ("q", 2.0, "coordinates growth per level"),
                                ("r", 0.99, "signal energy decay per level"), ("tau", 1.0, "noise level τ"),
                                ("ridge", 1e-3, "ridge λ of the learner")):
        p.add_argument(f"--{flag}", type=float, default=default, help=f"{text} (default {default})")
    p.add_argument("--levels", type=int, default=14, help="number of levels (default 14)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.analysis.theory import StylizedModel, run_theory

    if args.levels < 5:
        raise StorageBenchError(f"--levels must be ≥ 5 (the grid compresses to 2..levels-2 levels), got {args.levels}")
    try:
        model = StylizedModel(p=args.p, q=args.q, r=args.r, tau=args.tau, levels=args.levels, ridge=args.ridge)
    except ValueError as exc:
        raise StorageBenchError(f"theory: {exc}") from None
    summary = run_theory(Path(args.out), model)
    fit, hurt = summary["fit"], summary["more_bits_hurt"]
    print(f"stylized model {model}")
    print(f"fit to excess risk: E* = {fit['e_star']:.4g}  A = {fit['A']:.4g}  α = {fit['alpha']:.4f}  "
          f"B = {fit['B']:.4g}  β = {fit['beta']:.4f}  R²(log) = {fit['r2_log']:.3f}")
    if hurt["ns"]:
        print(f"more bits hurt (excess rises with L somewhere) at n = {', '.join(f'{n:.0f}' for n in hurt['ns'])}; "
              f"largest rise between neighbouring L: {hurt['largest_rise']:.2f}×")
    else:
        print("more bits never hurt on this grid")
    print(f"wrote {summary['json']} and {summary['png']}")
    return 0
