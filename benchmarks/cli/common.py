"""What several subcommands share: the cell-training options, the executor and device around a command, the cache
folder, running a grid and printing its table and fit."""
from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Iterator

from storagebench.errors import StorageBenchError


def cell_options() -> argparse.ArgumentParser:
    """The options of every command that trains cells (a parent parser)."""
    from storagebench.parallel import default_workers

    cells = argparse.ArgumentParser(add_help=False)  # what every command that trains cells takes
    cells.add_argument("--workers", type=int, default=default_workers(), help="processes (default: one per core)")
    cells.add_argument("--data", help="dataset location, overriding [dataset].path and $STORAGEBENCH_DATA")
    cells.add_argument("--cache", help="compressed-set store folder (default: $STORAGEBENCH_CACHE/store, else "
                                       "~/.cache/storagebench/store)")
    cells.add_argument("--executor", choices=["local", "ray"], default="local",
                       help="where cells and encodes run: forked local processes, or Ray tasks (default: local)")
    cells.add_argument("--address", help="Ray cluster to join with --executor ray (e.g. auto or HOST:6379; default: "
                                         "start a local Ray instance with --workers CPUs)")
    cells.add_argument("--gpus-per-cell", type=float, metavar="G",
                       help="GPU share each Ray cell task asks for (default: 1 when the cluster has GPUs, else 0)")
    cells.add_argument("--device", default="auto", help="where models train: auto (a CUDA GPU when one is visible, "
                                                        "else the CPU), cpu, cuda or cuda:N (default: auto)")
    cells.add_argument("--memory-gb", type=float, metavar="GB",
                       help="decoded training sets larger than this are read from the store on access instead of "
                            "held in memory (default: half the memory available)")
    cells.add_argument("--amp", action="store_true", help="bf16 autocast for training and evaluation forward passes "
                                                          "(off by default: it changes the numbers; recorded with "
                                                          "each cell)")
    return cells


def figure_options() -> argparse.ArgumentParser:
    """``--format``, for every command that draws figures (a parent parser)."""
    figures = argparse.ArgumentParser(add_help=False)
    figures.add_argument("--format", choices=["png", "pdf", "svg"], default="png",
                         help="figures as PNG (default), or also as PDF or SVG beside each PNG")
    return figures


def where(args: argparse.Namespace) -> str:
    from storagebench.parallel import active_executor

    found = active_executor().describe()
    if found["executor"] == "ray":
        return f"Ray at {found['address']} ({found['cpus']:g} CPUs, {found['gpus']:g} GPUs), device {args.device}"
    return f"{args.workers} workers, device {args.device}"


def run_and_report(plan, out: Path, args: argparse.Namespace, on_cell=None) -> list[Path]:  # noqa: ANN001
    """Run a plan's grid into ``out``, print the table and the fit; the outputs written."""
    from storagebench.benchmarks.analysis import fits as report
    from storagebench.benchmarks.analysis.summary import describe
    from storagebench.benchmarks.harness.runner import run
    from storagebench.log import say
    from storagebench.units import count

    config = plan.config
    say(f"benchmark {config.name!r} from {config.source}: {len(plan.cells)} cells "
        f"({count(len(plan.train_levels), 'train level')} × {len(config.n)} n × {count(len(config.seeds), 'seed')}), "
        f"{len(plan.test_levels)} test levels, {where(args)}")
    memory = None if args.memory_gb is None else int(args.memory_gb * 1e9)
    result = run(plan, out, cache_root(args), args.workers, on_cell, memory)
    say(f"cells: {result.cells_trained} trained, {result.cells_skipped} already done; "
        f"store: {result.entries_encoded} sets encoded ({result.images_encoded} images), "
        f"{result.entries_reused} reused from cache")
    print(report.summary_table(out))
    outputs = [out / "results.sqlite", out / "config.toml"]
    try:  # nothing new trained and fits.json covers these cells: show it rather than refit (bootstrap included)
        current = report.current_fit(out) if result.cells_trained == 0 else None
        summary, fits_path, figure = current or report.fit_results_dir(out)
        print(describe(summary))
        outputs += [fits_path, figure]
    except StorageBenchError as exc:  # the grid is still valid; only the analysis needs more cells
        print(f"fit: skipped ({exc})")
    print(f"outputs: {', '.join(map(str, outputs))}")
    return outputs


def int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise StorageBenchError(f"{option}: expected comma-separated whole numbers such as 1,10, got {text!r}") from None


def list_registry(registry, describe) -> int:  # noqa: ANN001
    width = max((len(name) for name, _ in registry.items()), default=0)
    for name, cls in registry.items():
        print(f"{name:{width}}  {describe(cls)}")
    return 0


def first_line(cls: type) -> str:
    return cls.__doc__.strip().splitlines()[0] if cls.__doc__ else ""


def cache_root(args: argparse.Namespace) -> Path:
    from storagebench.benchmarks.harness.store import default_cache_root

    return Path(args.cache) if args.cache else default_cache_root()


@contextlib.contextmanager
def compute(args: argparse.Namespace) -> Iterator[None]:
    """The executor and device a cell-training command asked for, around the whole command."""
    if not hasattr(args, "executor"):
        yield
        return
    from storagebench.device import parse_device, requesting, resolve_device
    from storagebench.parallel import using

    if args.executor != "ray" and (args.address or args.gpus_per_cell is not None):
        raise StorageBenchError("--address and --gpus-per-cell need --executor ray")
    if args.gpus_per_cell is not None and args.gpus_per_cell < 0:
        raise StorageBenchError(f"--gpus-per-cell: must be ≥ 0, got {args.gpus_per_cell:g}")
    if args.executor == "local":
        resolve_device(args.device)  # refuse --device cuda on a machine without one before any work
    requested = parse_device(args.device)  # a misspelt device is refused before Ray starts
    wants_gpu = requested is not None and requested.type == "cuda"
    with contextlib.ExitStack() as stack:
        if args.executor == "ray":
            from storagebench.ray_executor import RayExecutor

            executor = stack.enter_context(RayExecutor(args.address, num_cpus=args.workers,
                                                       gpus_per_task=args.gpus_per_cell))
            if wants_gpu and executor.gpus_per_task == 0:
                raise StorageBenchError(f"--device {args.device}: the Ray cluster's cells get no GPU "
                                        f"({executor.describe()['gpus']:g} GPUs, --gpus-per-cell "
                                        f"{executor.gpus_per_task:g}); use --device auto or cpu")
            stack.enter_context(using(executor))
        stack.enter_context(requesting(args.device, args.amp))
        yield


def comma_list(text: str) -> list[str]:
    """One list option's value: comma-separated (``regroup_lists`` turns space-separated values into this)."""
    return [value for value in text.split(",") if value]


def list_argument(parser: argparse.ArgumentParser, flag: str, **options: object) -> None:
    """A list option with the one syntax every command shares: ``--flag A B`` or ``--flag A,B``, repeatable; the
    values end at the first token that is not one (so ``fit --budgets 100k 1M DIR`` keeps DIR positional)."""
    metavar = options.pop("metavar", "VALUE")
    parser.add_argument(flag, action="extend", type=comma_list, default=None, metavar=f"{metavar} [{metavar} ...]",
                        **options)


def _is_budget(token: str) -> bool:
    from storagebench.units import parse_budget

    try:
        parse_budget(token)
    except StorageBenchError:
        return False
    return True


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _is_name(token: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-z][a-z0-9.-]*", token)) and not Path(token).exists()


# per command, each list option and what its values look like
LIST_VALUES = {
    "fit": {"--budgets": _is_budget}, "compare": {"--budgets": _is_budget},
    "curves": {"--budgets": _is_budget, "--naive": _is_number, "--schemes": _is_name},
    "rd": {"--levels": lambda t: _is_number(t) or t == "lossless"},
    "submit": {"--levels": lambda t: _is_number(t) or t == "lossless",
               "--test-levels": lambda t: _is_number(t) or t == "lossless"},
    "run": {"--images-per-class": lambda t: t.isdigit()},
}


def regroup_lists(argv: list[str]) -> list[str]:
    """``--flag A B C`` → ``--flag=A,B`` when C is not a value of that flag (it is a positional): the first token
    after a list flag is always its value, later ones while each of their comma-separated parts is one."""
    command = next((a for a in argv if not a.startswith("-")), None)
    values_of, out, i = LIST_VALUES.get(command, {}), [], 0
    while i < len(argv):
        token, i = argv[i], i + 1
        if token == "--":
            return out + [token] + argv[i:]
        if token not in values_of or i >= len(argv):
            out.append(token)
            continue
        taken = [argv[i]]
        i += 1
        while i < len(argv) and not argv[i].startswith("-") and all(map(values_of[token], comma_list(argv[i]))):
            taken.append(argv[i])
            i += 1
        out.append(f"{token}={','.join(taken)}")
    return out
