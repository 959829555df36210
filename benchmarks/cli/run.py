"""``storagebench run [CONFIG]``: run a benchmark definition (a codec grid or a reduction benchmark) into a results dir."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from storagebench.benchmarks.cli.common import (
    cache_root,
    cell_options,
    figure_options,
    int_list,
    run_and_report,
    where,
)
from storagebench.errors import StorageBenchError
from storagebench.paths import child_path


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", parents=[cell_options(), figure_options()],
                       help="run a benchmark definition (default: benchmarks/quick.toml); re-running resumes")
    p.add_argument("config", nargs="?", help="benchmark TOML file (default: the embedded benchmarks/quick.toml)")
    p.add_argument("--out", help="results dir (default: results/<benchmark name>)")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.KEY=VALUE",
                   help="override one key of the benchmark file (repeatable), e.g. --set task.lr=0.1; recorded in "
                        "the results dir's config.toml and part of its identity")
    p.add_argument("--images-per-class", metavar="K[,K...]",
                   help="reduction benchmarks: run only these settings now (e.g. 1,10); a later run adds the rest")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan and its cost (cells, images to encode, estimated encode CPU-hours from a "
                        "measured sample, images seen in training, memory) and stop: nothing is written")
    p.add_argument("--wandb", action="store_true", help="log each cell to W&B as it finishes, then the fit "
                                                        "(offline unless W&B credentials are configured)")
    p.add_argument("--project", help="W&B project with --wandb (default: storagebench)")
    p.add_argument("--entity", help="W&B entity with --wandb")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.definition import (
        is_reduction,
        parse_config,
        read_definition,
        with_overrides,
    )
    from storagebench.benchmarks.harness.runner import make_plan

    started = time.perf_counter()
    data, path = read_definition(args.config)
    data = with_overrides(data, args.overrides)
    if is_reduction(data):
        if args.dry_run:
            raise StorageBenchError(f"--dry-run: {path} is a reduction benchmark; --dry-run plans codec grids")
        return _run_reduction(data, path, args, started)
    if args.images_per_class:
        raise StorageBenchError(f"--images-per-class: {path} is a codec grid, not a reduction benchmark")
    plan = make_plan(parse_config(data, path), data=args.data)
    if args.dry_run:
        return _dry_run(plan, args)
    out = Path(args.out) if args.out else child_path(Path("results"), plan.config.name, "[benchmark].name")
    if not args.wandb:
        run_and_report(plan, out, args)
    else:
        from storagebench.leaderboard.publish import live_logger, publish_fit

        publisher, on_cell = live_logger(out, plan.config.as_toml(), plan.config.identity_hash(), args.project,
                                         args.entity)
        run_and_report(plan, out, args, on_cell)
        publish_fit(out, publisher)
        print(f"W&B ({publisher.mode_name}): {len(publisher.ids)} runs under {publisher.dir / 'wandb'}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0


def _dry_run(plan, args: argparse.Namespace) -> int:  # noqa: ANN001
    from storagebench.benchmarks.harness.dry_run import describe_cost, plan_cost
    from storagebench.memory import default_memory_bytes
    from storagebench.units import count

    memory = default_memory_bytes() if args.memory_gb is None else int(args.memory_gb * 1e9)
    print(f"benchmark {plan.config.name!r} from {plan.config.source}: {count(len(plan.train_levels), 'train level')} × "
          f"{len(plan.config.n)} n × {count(len(plan.config.seeds), 'seed')}, "
          f"{count(len(plan.test_levels), 'test level')}")
    print(describe_cost(plan_cost(plan, cache_root(args)), memory))
    return 0


def _run_reduction(data: dict, path: Path, args: argparse.Namespace, started: float) -> int:
    """A reduction benchmark: coresets and distilled sets, then the [compare] codec at their byte sizes."""
    from storagebench.benchmarks.analysis.reduction import write_reduction_report
    from storagebench.benchmarks.definition import parse_reduction
    from storagebench.benchmarks.harness.reductions import (
        make_reduction_plan,
        run_reduction,
    )
    from storagebench.log import say
    from storagebench.units import count

    if args.wandb:
        raise StorageBenchError("--wandb: not supported for reduction benchmarks yet; publish the codec grids")
    only = int_list(args.images_per_class, "--images-per-class") if args.images_per_class else ()
    plan = make_reduction_plan(parse_reduction(data, path), data=args.data, only_per_class=only)
    out = Path(args.out) if args.out else child_path(Path("results"), plan.config.name, "[benchmark].name")
    say(f"reduction benchmark {plan.config.name!r} from {path}: {len(plan.cells)} cells "
        f"({count(len(plan.reducers), 'reducer')} × images per class × {count(len(plan.config.seeds), 'seed')}), "
        f"{where(args)}")
    counts = run_reduction(plan, out, cache_root(args), args.workers)
    say(f"cells: {counts['reduced']} reduced and trained, {counts['skipped']} already done, "
        f"{counts['compare']} codec cells at equal bytes")
    table, json_path, figure = write_reduction_report(out)
    print(table)
    print(f"outputs: {out / 'results.sqlite'}, {json_path}, {figure}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0
