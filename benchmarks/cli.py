"""The ``storagebench`` command line."""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Iterator

from storagebench.errors import StorageBenchError
from storagebench.paths import child_path

EPILOG = "Docs: README.md. A results dir holds results.sqlite, config.toml, fits.json and figures/."


def _cmd_run(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.config import parse_config, read_definition
    from storagebench.benchmarks.distill_config import is_reduction
    from storagebench.benchmarks.runner import make_plan

    started = time.perf_counter()
    data, path = read_definition(args.config)
    if is_reduction(data):
        return _run_reduction(data, path, args, started)
    if args.images_per_class:
        raise StorageBenchError(f"--images-per-class: {path} is a codec grid, not a reduction benchmark")
    plan = make_plan(parse_config(data, path), data=args.data)
    out = Path(args.out) if args.out else child_path(Path("results"), plan.config.name, "[benchmark].name")
    if not args.wandb:
        _run_and_report(plan, out, args)
    else:
        from storagebench.leaderboard.publish import live_logger, publish_fit

        publisher, on_cell = live_logger(out, plan.config.as_toml(), plan.config.identity_hash(), args.project,
                                         args.entity)
        _run_and_report(plan, out, args, on_cell)
        publish_fit(out, publisher)
        print(f"W&B ({publisher.mode}): {len(publisher.ids)} runs under {out / 'wandb'}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise StorageBenchError(f"{option}: expected comma-separated whole numbers such as 1,10, got {text!r}") from None


def _run_reduction(data: dict, path: Path, args: argparse.Namespace, started: float) -> int:
    """A reduction benchmark: coresets and distilled sets, then the [compare] codec at their byte sizes."""
    from storagebench.benchmarks.distill import make_reduction_plan, run_reduction
    from storagebench.benchmarks.distill_config import parse_reduction
    from storagebench.benchmarks.distill_report import write_reduction_report
    from storagebench.benchmarks.runner import say

    if args.wandb:
        raise StorageBenchError("--wandb: not supported for reduction benchmarks yet; publish the codec grids")
    only = _int_list(args.images_per_class, "--images-per-class") if args.images_per_class else ()
    plan = make_reduction_plan(parse_reduction(data, path), data=args.data, only_per_class=only)
    out = Path(args.out) if args.out else child_path(Path("results"), plan.config.name, "[benchmark].name")
    say(f"reduction benchmark {plan.config.name!r} from {path}: {len(plan.cells)} cells "
        f"({len(plan.reducers)} reducers × images per class × {len(plan.config.seeds)} seeds), {_where(args)}")
    counts = run_reduction(plan, out, _cache_root(args), args.workers)
    say(f"cells: {counts['reduced']} reduced and trained, {counts['skipped']} already done, "
        f"{counts['compare']} codec cells at equal bytes")
    table, json_path, figure = write_reduction_report(out)
    print(table)
    print(f"outputs: {out / 'results.sqlite'}, {json_path}, {figure}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0


def _where(args: argparse.Namespace) -> str:
    from storagebench.parallel import active_executor

    found = active_executor().describe()
    if found["executor"] == "ray":
        return f"Ray at {found['address']} ({found['cpus']:g} CPUs, {found['gpus']:g} GPUs), device {args.device}"
    return f"{args.workers} workers, device {args.device}"


def _run_and_report(plan, out: Path, args: argparse.Namespace, on_cell=None) -> list[Path]:  # noqa: ANN001
    """Run a plan's grid into ``out``, print the table and the fit; the outputs written."""
    from storagebench.benchmarks import report
    from storagebench.benchmarks.analysis import describe
    from storagebench.benchmarks.runner import run, say

    config = plan.config
    say(f"benchmark {config.name!r} from {config.source}: {len(plan.cells)} cells "
        f"({len(plan.train_levels)} train levels × {len(config.n)} n × {len(config.seeds)} seeds), "
        f"{len(plan.test_levels)} test levels, {_where(args)}")
    result = run(plan, out, _cache_root(args), args.workers, on_cell)
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


def _cmd_submit(args: argparse.Namespace) -> int:
    from storagebench.benchmarks import submit
    from storagebench.compressors.validation import Limits
    from storagebench.leaderboard.entry import write_entry

    started = time.perf_counter()
    plan = submit.load_submission(args.config, args.spec, args.param, args.levels, args.test_levels, args.data)
    claims = submit.parse_claims(args.claim, plan.config.budgets)
    out = Path(args.out) if args.out else child_path(Path("results") / "submit", plan.config.name, "submission name")
    limits = Limits(call_seconds=args.time_limit, memory_mb=args.memory_mb)
    report = submit.validate_plan(plan, _cache_root(args), limits, args.workers)
    print(report.format())
    report_path = submit.save_report(out, report)
    if not report.passed:
        print(f"rejected: {report.reason}\nwrote {report_path}")
        return 1
    if args.validate_only:
        print(f"wrote {report_path}")
        return 0
    _run_and_report(plan, out, args)
    entry = write_entry(out, Path(args.entry) if args.entry else None, report.as_dict(), claims)
    print(f"leaderboard entry: {entry}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0


def _cmd_rd(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.config import absolute_spec
    from storagebench.benchmarks.rd import format_card, rd_card
    from storagebench.benchmarks.runner import parse_levels
    from storagebench.benchmarks.submit import parse_param, submission_levels
    from storagebench.compressors import COMPRESSORS
    from storagebench.tasks import DATASETS

    codec = COMPRESSORS.create(args.compressor, dict(map(parse_param, args.param)), "--param")
    levels = parse_levels(codec, submission_levels(args.levels) or codec.default_levels, "--levels")
    fashion = DATASETS.create("fashion-mnist", {"path": args.data or ""}, "--data").load()
    out = Path(args.out) if args.out else child_path(Path("results") / "rd", codec.name, "compressor name")
    rows, csv_path, figure, notes = rd_card(codec, levels, fashion, args.images, out, _cache_root(args),
                                            absolute_spec(args.compressor))
    print(format_card(rows))
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {csv_path} and {figure}")
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from storagebench.benchmarks import report
    from storagebench.benchmarks.allocation import parse_budget
    from storagebench.benchmarks.analysis import describe

    from storagebench.benchmarks.distill_report import refuse_reduction_dir

    out = Path(args.dir)
    refuse_reduction_dir(out, "fit")
    budgets = [parse_budget(b) for b in args.budgets] if args.budgets else None
    summary, fits_path, figure = report.fit_results_dir(out, budgets, args.bootstrap)
    print(report.summary_table(out))
    print(describe(summary))
    print(f"wrote {fits_path} and {figure}")
    return 0


def _cmd_matrix(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.matrix import write_matrix

    from storagebench.benchmarks.distill_report import refuse_reduction_dir

    refuse_reduction_dir(Path(args.dir), "matrix")
    table, csv_path, figure = write_matrix(Path(args.dir))
    print(table)
    print(f"wrote {csv_path} and {figure}")
    return 0


def _cmd_curves(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.allocation import parse_budget
    from storagebench.benchmarks.curves_report import check_budgets, format_summary, run_curves, write_curves
    from storagebench.benchmarks.distill_report import refuse_reduction_dir

    out = Path(args.dir)
    refuse_reduction_dir(out, "curves")
    budgets = check_budgets(out, [parse_budget(b) for b in args.budgets] if args.budgets else None)
    rows, law = run_curves(out, budgets, args.naive, args.workers, _cache_root(args), args.data)
    summary, json_path, figure = write_curves(out, rows, law)
    print(format_summary(summary))
    print(f"wrote {json_path} and {figure}")
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from storagebench.leaderboard.site import build_leaderboard
    from storagebench.leaderboard.text import format_leaderboard

    site = Path(args.out)
    summary = build_leaderboard([Path(p) for p in args.sources], site, args.target)
    print(format_leaderboard(summary))
    print(f"wrote {site / 'index.html'}, {site / 'leaderboard.json'} and {site / 'leaderboard.csv'}")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from storagebench.leaderboard.publish import publish

    publishers = publish([Path(d) for d in args.dirs], args.project, args.entity)
    for p in publishers:
        print(f"{p.dir}: {len(p.ids)} W&B runs ({p.mode}) under {p.dir / 'wandb'}")
    if publishers and publishers[0].mode == "offline":
        print("offline: upload with `wandb sync DIR/wandb/offline-run-*` once logged in; run ids are stable, so "
              "syncing again updates the same runs")
    return 0


def _cmd_theory(args: argparse.Namespace) -> int:
    from storagebench.benchmarks.theory import StylizedModel, run_theory

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


def _list(registry, describe) -> int:  # noqa: ANN001
    width = max((len(name) for name, _ in registry.items()), default=0)
    for name, cls in registry.items():
        print(f"{name:{width}}  {describe(cls)}")
    return 0


def _doc(cls: type) -> str:
    return cls.__doc__.strip().splitlines()[0] if cls.__doc__ else ""


def _cmd_compressors(args: argparse.Namespace) -> int:
    from storagebench.compressors import COMPRESSORS, REDUCERS

    print("image codecs ([compressor] of a grid benchmark):")
    _list(COMPRESSORS, lambda c: f"{_doc(c)} (v{c.version}; original format: {c.original_level!r})")
    print("\ndataset reducers ([[reducer]] of a reduction benchmark):")
    return _list(REDUCERS, lambda c: f"{_doc(c)} (v{c.version}; {'learned' if c.synthetic else 'real'} images)")


def _cmd_tasks(args: argparse.Namespace) -> int:
    from storagebench.tasks import TASKS

    return _list(TASKS, lambda c: f"{_doc(c)} (error = 1 − {c.metric})")


def _cmd_datasets(args: argparse.Namespace) -> int:
    from storagebench.tasks import DATASETS

    return _list(DATASETS, _doc)


def _cmd_download(args: argparse.Namespace) -> int:
    from storagebench.tasks import DATASETS

    dataset = DATASETS.create(args.name, {}, "download")
    where = dataset.download(args.dir)
    print(f"downloaded {args.name} to {where}; use it with --data {where}")
    return 0


def _cache_root(args: argparse.Namespace) -> Path:
    from storagebench.benchmarks.store import default_cache_root

    return Path(args.cache) if args.cache else default_cache_root()


@contextlib.contextmanager
def _compute(args: argparse.Namespace) -> Iterator[None]:
    """The executor and device a cell-training command asked for, around the whole command."""
    if not hasattr(args, "executor"):
        yield
        return
    from storagebench.parallel import using
    from storagebench.tasks.device import parse_device, requesting, resolve_device

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


def build_parser() -> argparse.ArgumentParser:
    from storagebench import __version__
    from storagebench.parallel import default_workers

    parser = argparse.ArgumentParser(prog="storagebench", epilog=EPILOG,
                                     description="Storage-aware training data: measure error vs (n, bytes per image), "
                                                 "fit the storage scaling law, rank compressors at equal storage.")
    parser.add_argument("--version", action="version", version=f"storagebench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    cells.add_argument("--amp", action="store_true", help="bf16 autocast for training and evaluation forward passes "
                                                          "(off by default: it changes the numbers; recorded with "
                                                          "each cell)")

    p = sub.add_parser("run", parents=[cells],
                       help="run a benchmark definition (default: benchmarks/quick.toml); re-running resumes")
    p.add_argument("config", nargs="?", help="benchmark TOML file (default: the embedded benchmarks/quick.toml)")
    p.add_argument("--out", help="results dir (default: results/<benchmark name>)")
    p.add_argument("--images-per-class", metavar="K[,K...]",
                   help="reduction benchmarks: run only these settings now (e.g. 1,10); a later run adds the rest")
    p.add_argument("--wandb", action="store_true", help="log each cell to W&B as it finishes, then the fit "
                                                        "(offline unless W&B credentials are configured)")
    p.add_argument("--project", help="W&B project with --wandb (default: storagebench)")
    p.add_argument("--entity", help="W&B entity with --wandb")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("submit", parents=[cells], help="validate a compressor in contained processes, then benchmark "
                                                       "it (default: benchmarks/quick.toml) and write its "
                                                       "leaderboard entry")
    p.add_argument("spec", help="a registered name, package.module:Class or path/to/file.py:Class")
    p.add_argument("--config", help="benchmark whose [compressor] table is replaced (default: benchmarks/quick.toml)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a compressor parameter (TOML value), repeatable")
    p.add_argument("--levels", nargs="+", metavar="LEVEL", help="train levels (default: the compressor's own)")
    p.add_argument("--test-levels", nargs="+", metavar="LEVEL", help="test levels (default: the compressor's own)")
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
    p.set_defaults(func=_cmd_submit)

    p = sub.add_parser("rd", help="rate–distortion card: bits per pixel vs PSNR, SSIM and Butteraugli on real photos "
                                  "and Fashion-MNIST; rd.csv + rd.png")
    p.add_argument("compressor", help="a registered name, package.module:Class or path/to/file.py:Class")
    p.add_argument("--levels", nargs="+", metavar="LEVEL", help="levels (default: the compressor's own)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a compressor parameter")
    p.add_argument("--images", type=int, default=200, help="Fashion-MNIST test images (default 200)")
    p.add_argument("--out", help="output dir (default: results/rd/<compressor>)")
    p.add_argument("--data", help="Fashion-MNIST location (default: the Debian package's)")
    p.add_argument("--cache", help="cache folder for learned codecs' checkpoints")
    p.set_defaults(func=_cmd_rd)

    p = sub.add_parser("fit", help="fit the storage scaling law to a results dir; writes fits.json and figures/fit.png")
    p.add_argument("dir", help="results dir")
    p.add_argument("--budgets", nargs="+", metavar="S",
                   help="storage budgets in bytes for the allocation table (e.g. 500k 2M; default: 4 spanning the grid)")
    p.add_argument("--bootstrap", type=int, default=200, metavar="R", help="bootstrap refits (default 200)")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("matrix", help="cross-compression matrix (train level × test level error at the largest n): "
                                      "matrix.csv + figures/matrix.png")
    p.add_argument("dir", help="results dir")
    p.set_defaults(func=_cmd_matrix)

    p = sub.add_parser("curves", parents=[cells], help="storage curves: train original / scaling-optimal / naive / randomized sets "
                                      "at each budget; curves.json + figures/curves.png")
    p.add_argument("dir", help="results dir of a grid run (its fit gives n*(s))")
    p.add_argument("--budgets", nargs="+", metavar="S", help="budgets in bytes (e.g. 100k 400k; default: the benchmark's "
                                                             "[benchmark].budgets, else 4 spanning the grid's storage)")
    p.add_argument("--naive", nargs="+", type=float, default=[3.0, 8.0, 13.0], metavar="D",
                   help="fixed distances of the naive schemes (default: 3 8 13, as in the paper)")
    p.set_defaults(func=_cmd_curves)

    p = sub.add_parser("leaderboard", help="rank entries at equal storage: SITE/index.html (sortable tables, figures, "
                                           "a page per entry) + leaderboard.json/csv")
    p.add_argument("sources", nargs="+", metavar="DIR",
                   help="results dirs, entry JSON files, or folders of entry files (e.g. leaderboard/entries)")
    p.add_argument("--out", default="results/leaderboard", help="site folder (default: results/leaderboard)")
    p.add_argument("--target", type=float, metavar="ERR",
                   help="error for the 'bytes to target' column (default: original format's measured error at "
                        "each board's largest budget)")
    p.set_defaults(func=_cmd_leaderboard)

    p = sub.add_parser("publish", help="publish results dirs to Weights & Biases: a run per trained cell, a fit run, "
                                       "the leaderboard table (offline unless W&B credentials are configured)")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="results dirs")
    p.add_argument("--project", help="W&B project (default: storagebench)")
    p.add_argument("--entity", help="W&B entity (team or user)")
    p.set_defaults(func=_cmd_publish)

    p = sub.add_parser("theory", help="the paper's stylized multiresolution model: exact ridge risk, law fit, plot")
    p.add_argument("--out", default="results/theory", help="output dir (default: results/theory)")
    for flag, default, text in (("p", 2.01, "variance decay per level"), ("q", 2.0, "coordinates growth per level"),
                                ("r", 0.99, "signal energy decay per level"), ("tau", 1.0, "noise level τ"),
                                ("ridge", 1e-3, "ridge λ of the learner")):
        p.add_argument(f"--{flag}", type=float, default=default, help=f"{text} (default {default})")
    p.add_argument("--levels", type=int, default=14, help="number of levels (default 14)")
    p.set_defaults(func=_cmd_theory)

    for name, func, text in (("compressors", _cmd_compressors, "list registered compressors"),
                             ("tasks", _cmd_tasks, "list registered tasks"),
                             ("datasets", _cmd_datasets, "list registered dataset readers")):
        sub.add_parser(name, help=text).set_defaults(func=func)

    p = sub.add_parser("download", help="download a dataset with torchvision (needs internet)")
    p.add_argument("name", help="dataset name, e.g. fashion-mnist")
    p.add_argument("dir", help="directory to download into")
    p.set_defaults(func=_cmd_download)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "workers", 1) < 1:
        print("storagebench: error: --workers must be ≥ 1", file=sys.stderr)
        return 2
    try:
        with _compute(args):
            return args.func(args)
    except StorageBenchError as exc:
        print(f"storagebench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("storagebench: interrupted; finished cells are saved, re-run the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
