"""Read a results dir back: the summary table, the fit (``fits.json`` + ``figures/fit.png``)."""
from __future__ import annotations

import json
import os
import tomllib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.benchmarks.analysis import analyse
from storagebench.benchmarks.figures import plot_fit
from storagebench.benchmarks.fit import check_fit_data, law_from_dict
from storagebench.benchmarks.results import ResultsDB
from storagebench.errors import StorageBenchError
from storagebench.provenance import git_commit, library_versions


def open_results_dir(out: Path, write: bool = False) -> tuple[ResultsDB, dict[str, Any]]:
    """A results dir's database (read-only unless ``write``: then this command holds its lock) and its
    ``config.toml``, checked against the hash of the definition its results were measured under."""
    db_path, config_path = out / "results.sqlite", out / "config.toml"
    if not db_path.is_file() or not config_path.is_file():
        raise StorageBenchError(f"{out}: not a results dir (needs results.sqlite and config.toml; "
                                f"make one with `storagebench run --out {out}`)")
    db = ResultsDB(db_path, read_only=not write)
    try:
        config = _checked_config(config_path, db)
    except BaseException:
        db.close()
        raise
    return db, config


def read_checked_config(out: Path) -> dict[str, Any]:
    """A results dir's ``config.toml``, checked against its recorded hash: what a command may act on."""
    db, config = open_results_dir(out)
    db.close()
    return config


def _checked_config(path: Path, db: ResultsDB) -> dict[str, Any]:
    from storagebench.benchmarks.config import identity_hash
    from storagebench.benchmarks.distill_config import reduction_identity_hash

    try:
        config = tomllib.loads(path.read_text())
        found = (reduction_identity_hash if db.meta("kind") == "reduction" else identity_hash)(config)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise StorageBenchError(f"{path}: not the definition storagebench wrote ({type(exc).__name__}: "
                                f"{exc})") from None
    recorded = db.meta("config_hash")
    if found != recorded:
        raise StorageBenchError(f"{path}: does not match the definition the results beside it were measured under "
                                f"(hash {found[:12]}, recorded {str(recorded)[:12]}): it was edited or replaced. Its "
                                f"names are not trusted; restore it, or re-run the benchmark into a new --out")
    return config


def original_points(out: Path) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """Measurements on original-format test images: one point per trained cell."""
    db, config = open_results_dir(out)
    with db:
        original = db.meta("original_level") or "lossless"
        rows = db.rows(test_level=original)
    points = [{"level": r["train_level"], "n": r["n"], "seed": r["seed"], "L": r["train_bytes_per_image"],
               "label_bytes": r["train_label_bytes_total"] / r["n"], "error": r["error"]} for r in rows]
    return points, config, original


def write_json_atomic(path: Path, payload: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def current_fit(out: Path) -> tuple[dict, Path, Path] | None:
    """``fits.json`` when it was fitted to exactly the cells the results dir holds now (else None: refit)."""
    fits_path = out / "fits.json"
    if not fits_path.is_file():
        return None
    fits = json.loads(fits_path.read_text())
    points, _, _ = original_points(out)
    if fits.get("data") != points:
        return None
    return fits, fits_path, out / fits["figure"]


def missing_cells(out: Path, config: dict[str, Any]) -> list[str]:
    """Cells the benchmark definition has that the results dir does not (yet)."""
    bench = config["benchmark"]
    wanted = [f"{level}|n={n}|seed={seed}" for level in level_order(config) for n in bench["n"]
              for seed in bench["seeds"]]
    with ResultsDB(out / "results.sqlite", read_only=True) as db:
        done = db.finished_cells()
    return [cell for cell in wanted if cell not in done]


def fit_results_dir(out: Path, budgets: list[float] | None = None, replicates: int = 200) -> tuple[dict, Path, Path]:
    points, config, original = original_points(out)
    n, L, err = (np.array([p[k] for p in points], dtype=float) for k in ("n", "L", "error"))
    try:
        check_fit_data(n, L, err)
    except StorageBenchError as exc:
        missing = missing_cells(out, config)
        shown = ", ".join(missing[:12]) + (f", … ({len(missing)} in all)" if len(missing) > 12 else "")
        raise StorageBenchError(f"{out}: {exc}. Missing cells: {shown or 'none'}"
                                + ("; run the benchmark to finish them" if missing else "")) from None
    summary = analyse(n, L, err, budgets or config["benchmark"].get("budgets"), replicates)
    name = config["benchmark"]["name"]
    law = law_from_dict(summary["params"])
    figure = plot_fit(points, law, out / "figures" / "fit.png",
                      f"{name}: {config['task']['name']} on {config['dataset']['name']}, "
                      f"{config['compressor']['name']} (test: {original})")
    fits_path = out / "fits.json"
    write_json_atomic(fits_path, {
        "benchmark": name, "test_level": original, "L": "mean stored bytes per training image",
        "error": "1 - metric on the full test split", **summary, "data": points,
        "figure": str(figure.relative_to(out)), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(), "library_versions": library_versions()})
    return summary, fits_path, figure


def level_order(config: dict[str, Any], key: str = "train_levels") -> list[str]:
    """Level labels in the order the benchmark file lists them."""
    return [lv if isinstance(lv, str) else format(float(lv), "g") for lv in config["compressor"][key]]


def summary_table(out: Path) -> str:
    """level, L bytes, n, error (mean ± sd over seeds) on original-format test images."""
    points, config, original = original_points(out)
    order = {lv: i for i, lv in enumerate(level_order(config))}
    groups: dict[tuple[str, int], list[dict]] = {}
    for p in points:
        groups.setdefault((p["level"], p["n"]), []).append(p)
    lines = [f"test error on {original} test images ({config['benchmark']['name']}); L = image bytes per training "
             f"image, labels = their targets' bytes, stored losslessly and never compressed",
             f"{'level':>10} {'L bytes':>9} {'labels':>7} {'n':>7} {'error':>8} {'± sd':>7} {'seeds':>5}"]
    for (level, n), group in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 1e9), kv[0][1])):
        errors = [p["error"] for p in group]
        sd = f"{np.std(errors, ddof=1):.4f}" if len(errors) > 1 else "-"
        lines.append(f"{level:>10} {np.mean([p['L'] for p in group]):9.1f} "
                     f"{np.mean([p['label_bytes'] for p in group]):7.1f} {n:7d} {np.mean(errors):8.4f} {sd:>7} "
                     f"{len(errors):5d}")
    return "\n".join(lines)

