"""``storagebench publish DIR...`` and ``storagebench run --wandb``: results as Weights & Biases runs.

One run per trained cell (group = the benchmark's id, job_type "train", config = the cell), one "fit" run per
results dir (a table of the fitted parameters with their intervals, the allocation table, line plots of the fit
and the storage curves, the cross-compression heatmap), and one "leaderboard" run per board with the ranking as a
table. Run ids are hashes of what the run is (the benchmark's config hash and the cell), so publishing again
updates the same runs instead of adding duplicates. Offline (files under DIR/wandb, ``wandb sync`` uploads them)
unless W&B credentials are configured or ``WANDB_MODE`` says otherwise.
"""
from __future__ import annotations

import hashlib
import json
import netrc
import urllib.parse
import os
import tempfile
from pathlib import Path
from typing import Any

from storagebench.benchmarks.definition import level_order
from storagebench.benchmarks.harness.results_dir import open_results_dir
from storagebench.benchmarks.harness.rows import CellRow, CurveCellRow, EvaluationRow
from storagebench.leaderboard.entry import build_entry
from storagebench.leaderboard.export import ranking_frame
from storagebench.leaderboard.figures import (
    entry_matrix,
    fit_figure,
    matrix_figure,
    storage_figure,
)
from storagebench.leaderboard.ranking import rank_board
from storagebench.leaderboard.reduction_board import is_reduction_dir, rank_reduction
from storagebench.leaderboard.sources import Board, group_boards

DEFAULT_PROJECT = "storagebench"


def wandb_mode() -> str | None:
    """None (wandb resolves it) when ``WANDB_MODE`` is set; online when an API key is configured (``WANDB_API_KEY``,
    or ~/.netrc for the server ``WANDB_BASE_URL`` names: wandb.ai or a self-hosted one); else offline rather than a
    login prompt in the middle of a run."""
    if os.environ.get("WANDB_MODE"):
        return None
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    host = urllib.parse.urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").hostname or ""
    try:
        return "online" if netrc.netrc().authenticators(host) else "offline"
    except (OSError, netrc.NetrcParseError):  # none, unreadable or malformed: no credentials to go online with
        return "offline"


def run_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def benchmark_id(config: dict[str, Any], config_hash: str) -> str:
    return f"{config['benchmark']['name']}-{config_hash[:8]}"


class Publisher:
    """Opens and finishes one W&B run at a time; every run of a results dir writes under ``dir``."""

    def __init__(self, directory: Path, project: str | None, entity: str | None):
        import wandb

        # WANDB_DIR, as W&B users set it, wins over the results dir (where runs go by default, under wandb/)
        self.wandb, self.dir = wandb, Path(os.environ.get("WANDB_DIR") or directory)
        self.project, self.entity, self.mode = project or DEFAULT_PROJECT, entity, wandb_mode()
        self.ids: list[str] = []

    @property
    def mode_name(self) -> str:
        return self.mode or os.environ.get("WANDB_MODE", "")

    def open(self, ident: str, name: str, group: str, job_type: str, config: dict[str, Any],
             tags: list[str] | None = None) -> Any:
        self.dir.mkdir(parents=True, exist_ok=True)
        settings = self.wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
        self.ids.append(ident)
        return self.wandb.init(project=self.project, entity=self.entity, id=ident, name=name, group=group,
                               job_type=job_type, config=config, dir=str(self.dir), mode=self.mode, tags=tags,
                               resume="allow", settings=settings, reinit="create_new")


def _cell_config(cell: CellRow, config: dict[str, Any]) -> dict[str, Any]:
    skip = {"codec_versions", "codec_info", "finished_at", "run_id", "history"}
    return {**{k: v for k, v in cell.as_dict().items() if k not in skip}, "benchmark": config["benchmark"]["name"],
            "compressor": config["compressor"], "task": config["task"], "dataset": config["dataset"]["name"],
            "train_level_value": level_value(cell.train_level)}


def level_value(label: str) -> float:
    """A level as a number W&B can put on an axis (the original format, ``lossless``, is 0)."""
    try:
        return float(label)
    except ValueError:
        return 0.0


def cell_names(config: dict[str, Any], cell: CellRow) -> tuple[str, list[str]]:
    """A train run's name and tags: what tells JPEG XL d = 10 from WebP q = 10 in W&B's run table."""
    task, dataset, codec = config["task"]["name"], config["dataset"]["name"], config["compressor"]["name"]
    codec = codec.rsplit(":", 1)[-1] if ":" in codec else codec  # a file spec: its class
    return (f"{task} {dataset} {codec} {cell.train_level} n={cell.n} seed={cell.seed}",
            [task, dataset, codec, f"level={cell.train_level}"])


def publish_cell(publisher: Publisher, group: str, config: dict[str, Any], config_hash: str, cell: CellRow,
                 evaluations: list[EvaluationRow]) -> None:
    name, tags = cell_names(config, cell)
    run = publisher.open(run_id(config_hash, "cell", cell.cell), name, group, "train", _cell_config(cell, config),
                         tags)
    history = cell.history
    for step, loss, lr in zip(history.get("step", []), history.get("loss", []), history.get("lr", [])):
        run.log({"train/loss": loss, "train/lr": lr}, step=step)
    run.summary.update({f"error/{e.test_level}": e.error for e in evaluations})
    run.summary.update({"n": cell.n, "L": cell.train_bytes_per_image, "storage": cell.train_bytes_total,
                        "train_seconds": cell.train_seconds})
    run.finish()


def _curve_config(row: CurveCellRow, config: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in row.as_dict().items() if k not in ("metrics", "finished_at", "run_id")},
            "benchmark": config["benchmark"]["name"], "compressor": config["compressor"], "task": config["task"]}


def _fit_tables(entry: dict[str, Any], wandb: Any) -> dict[str, Any]:
    fit = entry["fit"]
    boot = fit.get("bootstrap", {})
    params = [[k, float(v), *(boot.get(k) or [None, None])] for k, v in fit["params"].items() if k != "form"]
    logged = {"fit_params": wandb.Table(columns=["param", "value", "ci_low", "ci_high"], data=params)}
    original = entry["benchmark"]["original_level"]
    levels = [lv["level"] for lv in entry["levels"]]
    xs, ys = [], []
    for level in levels:
        points = sorted((r["n"], r["error"]) for r in entry["errors"]
                        if r["train_level"] == level and r["test_level"] == original)
        xs.append([p[0] for p in points])
        ys.append([p[1] for p in points])
    logged["fit_lines"] = wandb.plot.line_series(xs=xs, ys=ys, keys=levels, title="error vs n per level",
                                                 xname="n (training images)")
    return logged


def _allocation_table(directory: Path, wandb: Any) -> dict[str, Any]:
    fits = json.loads((directory / "fits.json").read_text()) if (directory / "fits.json").is_file() else {}
    rows = [[r["s"], r["n_star"], r["L_star"], r["error"], r.get("extrapolated", False)]
            for r in fits.get("allocation", [])]
    return {"allocation": wandb.Table(columns=["budget", "n_star", "L_star", "predicted_error", "extrapolated"],
                                      data=rows)} if rows else {}


def _matrix_table(entry: dict[str, Any], wandb: Any) -> dict[str, Any]:
    n, train, test, matrix, _, _ = entry_matrix(entry)
    data = [[tr, te, float(matrix[i, j])] for i, tr in enumerate(train) for j, te in enumerate(test)]
    return {"cross_compression": wandb.Table(columns=["train_level", "test_level", "error"], data=data)}


def _publish_curve_cells(publisher: Publisher, group: str, config: dict[str, Any], config_hash: str,
                         rows: list[CurveCellRow]) -> None:
    for row in rows:
        run = publisher.open(run_id(config_hash, "curve", row.cell), f"curve {row.cell}", group, "train",
                             _curve_config(row, config))
        run.summary.update({f"error/{row.test_level}": row.error, "n": row.n, "storage": row.bytes_total})
        run.finish()


def publish_reduction(directory: Path, project: str | None, entity: str | None) -> Publisher:
    """A reduction benchmark: a run per reduced set (config: reducer, setting, seed, bytes; summary: errors), a run
    per codec cell at equal bytes, and a ``reduction`` run with the ranked table and the error-vs-bytes figure."""
    db, config = open_results_dir(directory)
    with db:
        rows, curve_rows, config_hash = db.reduced_rows(), db.curve_rows(), db.meta("config_hash")
    publisher = Publisher(directory, project, entity)
    group = benchmark_id(config, config_hash)
    compare = {**config, "compressor": config.get("compare", {})}
    for row in rows:
        skip = ("metrics", "finished_at", "run_id")
        run = publisher.open(run_id(config_hash, "reduced", row.cell), row.cell, group, "reduce",
                             {**{k: v for k, v in row.as_dict().items() if k not in skip},
                              "benchmark": config["benchmark"]["name"], "task": config["task"]})
        run.summary.update({"error": row.error, "own_error": row.own_error, "bytes": row.bytes_total})
        run.finish()
    _publish_curve_cells(publisher, group, compare, config_hash, curve_rows)
    with tempfile.TemporaryDirectory() as scratch:
        ranked = rank_reduction(directory, Path(scratch) / "reduction.png")
        run = publisher.open(run_id(config_hash, "reduction"), f"reduction {group}", group, "leaderboard",
                             {"definition": config})
        frame = ranking_frame([ranked]).astype(object)
        run.log({"reduction": publisher.wandb.Table(dataframe=frame.where(frame.notna(), None)),
                 "error_vs_bytes": publisher.wandb.Image(str(Path(scratch) / "reduction.png"))})
        run.finish()
    return publisher


def publish_dir(directory: Path, entry: dict[str, Any], project: str | None, entity: str | None,
                board: Board | None = None, ranked: dict[str, Any] | None = None) -> Publisher:
    """Every cell, storage-curve cell and the fit of one results dir."""
    db, config = open_results_dir(directory)
    with db:
        cells, config_hash = db.cells(), db.meta("config_hash")
        evaluations = db.evaluations()
        curve_rows = db.curve_rows()
    publisher = Publisher(directory, project, entity)
    group = benchmark_id(config, config_hash)
    for cell in cells:
        publish_cell(publisher, group, config, config_hash, cell, [e for e in evaluations if e.cell == cell.cell])
    _publish_curve_cells(publisher, group, config, config_hash, curve_rows)
    if entry["fit"] is not None:
        _publish_fit(publisher, group, config_hash, entry, directory, board, ranked)
    return publisher


def _publish_fit(publisher: Publisher, group: str, config_hash: str, entry: dict[str, Any], directory: Path,
                 board: Board | None, ranked: dict[str, Any] | None) -> None:
    wandb = publisher.wandb
    run = publisher.open(run_id(config_hash, "fit"), f"fit {group}", group, "fit", {
        "benchmark": entry["benchmark"]["config"], "train_levels": level_order(entry["benchmark"]["config"])})
    logged = {**_fit_tables(entry, wandb), **_allocation_table(directory, wandb), **_matrix_table(entry, wandb)}
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch)
        for key, path in (("fit_figure", fit_figure(entry, figures / "fit.png")),
                          ("cross_compression_heatmap", matrix_figure(entry, figures / "matrix.png"))):
            if path is not None:
                logged[key] = wandb.Image(str(path))
        if board is not None and ranked is not None:
            logged["storage_curves"] = wandb.Image(str(storage_figure(ranked, board, figures / "storage.png")))
        run.log(logged)
    fit = entry["fit"]
    run.summary.update({k: v for k, v in fit["params"].items() if k != "form"})
    run.summary.update({"r2": fit.get("r2"), "form": fit.get("form"),
                        **{f"{k}_ci95": v for k, v in fit.get("bootstrap", {}).items() if k in fit["params"]}})
    _log_lineage(run, wandb, group, directory, publisher.mode_name == "offline")
    run.finish()


def _log_lineage(run: Any, wandb: Any, group: str, directory: Path, offline: bool) -> None:
    """The results dir's database and definition as the fit run's input Artifact, ``fits.json`` as its output: W&B
    draws results → fit. Offline, wandb cannot mark an input (``use_artifact``), so both are the fit run's outputs
    until synced runs are published again online."""
    results = wandb.Artifact(f"results-{group}", type="results",
                             description="results.sqlite and config.toml of one storagebench results dir")
    for name in ("results.sqlite", "config.toml"):
        results.add_file(str(directory / name), name=name)
    run.log_artifact(results) if offline else run.use_artifact(results)
    if (directory / "fits.json").is_file():
        fitted = wandb.Artifact(f"fit-{group}", type="fit", description="the storage scaling law fitted (fits.json)")
        fitted.add_file(str(directory / "fits.json"), name="fits.json")
        run.log_artifact(fitted)


def publish_leaderboard(publisher: Publisher, ranked: dict[str, Any], definition_hash: str) -> None:
    run = publisher.open(run_id("leaderboard", definition_hash), f"leaderboard {ranked['title']}",
                         f"leaderboard-{definition_hash[:8]}", "leaderboard", {"definition": ranked["definition"]})
    frame = ranking_frame([ranked]).astype(object)
    frame = frame.where(frame.notna(), None)
    run.log({"leaderboard": publisher.wandb.Table(dataframe=frame)})
    run.finish()


def publish(dirs: list[Path], project: str | None, entity: str | None) -> list[Publisher]:
    reductions = [d for d in dirs if is_reduction_dir(d)]
    dirs = [d for d in dirs if d not in reductions]
    return _publish_grids(dirs, project, entity) + [publish_reduction(d, project, entity) for d in reductions]


def _publish_grids(dirs: list[Path], project: str | None, entity: str | None) -> list[Publisher]:
    entries = [{**build_entry(d), "source": str(d)} for d in dirs]
    boards = group_boards([e for e in entries if e["benchmark"]["budgets"]])  # no budgets: cells and fit only
    ranked = {id(b): rank_board(b) for b in boards}
    board_of = {e["source"]: b for b in boards for e in b.entries}
    publishers = [publish_dir(d, e, project, entity, board_of.get(str(d)), ranked.get(id(board_of.get(str(d)))))
                  for d, e in zip(dirs, entries)]
    for board in boards:
        definition_hash = board.entries[0]["benchmark"]["definition_hash"]
        publish_leaderboard(publishers[0], ranked[id(board)], definition_hash)
    return publishers


def live_logger(out: Path, config: dict[str, Any], config_hash: str, project: str | None,
                entity: str | None) -> tuple[Publisher, Any]:
    """For ``storagebench run --wandb``: a publisher and the ``on_cell`` hook that logs each cell as it is saved."""
    publisher = Publisher(out, project, entity)
    group = benchmark_id(config, config_hash)
    return publisher, lambda cell, evaluations: publish_cell(publisher, group, config, config_hash, cell, evaluations)


def publish_fit(out: Path, publisher: Publisher) -> None:
    """The fit run of a results dir (after ``run --wandb`` logged its cells)."""
    entry = build_entry(out)
    if entry["fit"] is not None:
        config_hash = entry["benchmark"]["config_hash"]
        _publish_fit(publisher, benchmark_id(entry["benchmark"]["config"], config_hash), config_hash, entry, out,
                     None, None)
