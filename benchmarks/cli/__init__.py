"""The ``storagebench`` command line: one module per subcommand, each with ``add(subparsers)`` (its options) and
``main(args)`` (what it does), as lm-evaluation-harness does. A subcommand's heavy imports happen in its ``main``, so
``storagebench --help`` stays fast."""
from __future__ import annotations

import argparse
import importlib
import sys

from storagebench.errors import StorageBenchError

EPILOG = ("Every command also takes -q (errors and results only) and -v (a line per finished cell even on a terminal). "
          "Docs: README.md. A results dir holds results.sqlite, config.toml, fits.json and figures/.")
SUBCOMMANDS = ("run", "submit", "protocol", "rd", "fit", "matrix", "curves", "leaderboard", "compare", "publish",
               "theory", "compressors", "tasks", "datasets", "download")  # the order `storagebench --help` lists them in


def build_parser() -> argparse.ArgumentParser:
    from storagebench import __version__

    parser = argparse.ArgumentParser(prog="storagebench", epilog=EPILOG,
                                     description="Storage-aware training data: measure error vs (n, bytes per image), "
                                                 "fit the storage scaling law, rank compressors at equal storage.")
    parser.add_argument("--version", action="version", version=f"storagebench {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from storagebench.benchmarks.cli.common import compute
    from storagebench.startup import prepare_process

    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is not None and command not in SUBCOMMANDS and not any(a in ("-h", "--help", "--version")
                                                                       for a in argv[:argv.index(command)]):
        from storagebench.errors import did_you_mean

        print(f"storagebench: error: unknown command {command!r}{did_you_mean(command, list(SUBCOMMANDS))} "
              f"(commands: {', '.join(SUBCOMMANDS)})", file=sys.stderr)
        return 2
    from storagebench.benchmarks.cli.common import regroup_lists
    from storagebench.log import set_verbosity

    quiet, loud = (any(a in flags for a in argv) for flags in (("-q", "--quiet"), ("-v", "--verbose")))
    set_verbosity(-1 if quiet else 1 if loud else 0)  # any command: -q only errors and results, -v every cell line
    argv = [a for a in argv if a not in ("-q", "--quiet", "-v", "--verbose")]
    args = build_parser().parse_args(regroup_lists(argv))
    if getattr(args, "workers", 1) < 1:
        print("storagebench: error: --workers must be ≥ 1", file=sys.stderr)
        return 2
    prepare_process()
    if getattr(args, "format", "png") != "png":
        from storagebench.benchmarks.analysis import style

        style.set_formats([args.format])
    try:
        with compute(args):
            return args.func(args)
    except StorageBenchError as exc:
        print(f"storagebench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("storagebench: interrupted; finished cells are saved, re-run the same command to resume",
              file=sys.stderr)
        return 130
