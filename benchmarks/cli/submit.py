"""``storagebench submit SPEC``: validate a compressor in contained processes, benchmark it, write its leaderboard entry."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from storagebench.benchmarks.cli.common import (
    cache_root,
    cell_options,
    figure_options,
    list_argument,
    run_and_report,
)
from storagebench.paths import child_path


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("submit", parents=[cell_options(), figure_options()], help="validate a compressor in contained processes, then benchmark "
                                                       "it under the leaderboard protocol (default: "
                                                       "benchmarks/leaderboard.toml) and write its entry")
    p.add_argument("spec", help="a registered name, package.module:Class or path/to/file.py:Class")
    p.add_argument("--config", help="benchmark whose [compressor] table is replaced (default: "
                                    "benchmarks/leaderboard.toml, the leaderboard's definition)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a compressor parameter (TOML value), repeatable")
    list_argument(p, "--levels", metavar="LEVEL", help="train levels (default: the compressor's own)")
    list_argument(p, "--test-levels", metavar="LEVEL", help="test levels (default: the compressor's own)")
    p.add_argument("--out", help="results dir (default: results/submit/<benchmark>-<compressor>)")
    p.add_argument("--entry", help="where to write the leaderboard entry JSON (default: OUT/entry.json)")
    p.add_argument("--time-limit", type=float, default=10.0, metavar="S",
                   help="seconds one encode or decode call may take in validation (default 10)")
    p.add_argument("--memory-mb", type=int, default=4096, help="address-space limit of each validation process "
                                                                "(default 4096)")
    p.add_argument("--claim", action="append", default=[], metavar="S=ERR",
                   help="an error you claim at storage budget S (e.g. 250k=0.17), repeatable; the leaderboard shows "
                        "it beside the measured one")
    p.add_argument("--validate-only", action="store_true", help="stop after validation")
    p.add_argument("--no-protocol", action="store_true", help="run the grid only, not the benchmark's [protocol] "
                                                              "(the entry then has no ranked sets)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.harness import submit
    from storagebench.compressors.validation import Limits
    from storagebench.leaderboard.entry import write_entry

    started = time.perf_counter()
    plan = submit.load_submission(args.config, args.spec, args.param, args.levels, args.test_levels, args.data)
    claims = submit.parse_claims(args.claim, plan.config.budgets)
    out = Path(args.out) if args.out else child_path(Path("results") / "submit", plan.config.name, "submission name")
    limits = Limits(call_seconds=args.time_limit, memory_mb=args.memory_mb)
    report = submit.validate_plan(plan, cache_root(args), limits, args.workers)
    print(report.format())
    report_path = submit.save_report(out, report)
    if not report.passed:
        print(f"rejected: {report.reason}\nwrote {report_path}")
        return 1
    if args.validate_only:
        print(f"wrote {report_path}")
        return 0
    run_and_report(plan, out, args)
    if plan.config.protocol is not None and not args.no_protocol:
        from storagebench.benchmarks.cli.protocol import run_protocol_and_report

        run_protocol_and_report(out, args)
    entry = write_entry(out, Path(args.entry) if args.entry else None, report.as_dict(), claims)
    print(f"leaderboard entry: {entry}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0
