"""An entry's own page (``SITE/entries/ID.html``): everything the board's default columns leave out. Per budget its
ranked set (rank, error and differences with intervals, p against the leader, the fit's prediction at n*(s), bytes to
the target error, claims); the protocol's sets seed by seed; the fit with bootstrap intervals (an end that is the
fit's own bound on an exponent is flagged); the fit and cross-compression figures; levels; provenance."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from storagebench.leaderboard.figures import fit_figure, matrix_figure
from storagebench.leaderboard.html import esc, fmt, image, interval, num, page, table, text
from storagebench.leaderboard.sources import display_name, entry_id
from storagebench.units import format_bytes

BUDGET_COLUMNS = [
    text("view", lambda r: esc(r["view"])),
    num("budget s", "budget", lambda r: esc(format_bytes(r["budget"]))),
    num("rank", "rank", lambda r: esc(r.get("rank_label") or "—")),
    num("error [95% CI]", "measured_error", lambda r: esc(interval(r, "measured_error", ".4f"))),
    num("Δ leader [95% CI]", "to_leader", lambda r: esc(interval(r, "to_leader", "+.4f")),
        help="paired difference to the board's leader at s, over the same seeds"),
    num("p vs leader (Holm)", "p_vs_leader", lambda r: esc(fmt(r["p_vs_leader"], 3))),
    num("Δ original [95% CI]", "to_original", lambda r: esc(interval(r, "to_original", "+.4f"))),
    num("decoder bytes", "decoder_bytes", help="decoder state counted toward s in this view"),
    num("label bytes", "label_bytes", help="bytes of the training targets (mean over seeds)"),
    text("ranked set", lambda r: esc(r["measured_by"] or "—")),
    num("fit: error at n*(s)", "predicted_error", lambda r: esc(fmt(r["predicted_error"]))),
    num("n*", "n_star", lambda r: esc(fmt(r["n_star"] and round(r["n_star"])))),
    num("bytes to target", "bytes_to_target", lambda r: esc("—" if r["bytes_to_target"] is None
                                                            else format_bytes(r["bytes_to_target"]))),
    num("claimed error", "claimed_error"), num("claimed − measured", "claimed_minus_measured"),
]

CELL_COLUMNS = [
    text("scheme", lambda r: esc(r["scheme"])), num("budget s", "budget", lambda r: esc(format_bytes(r["budget"]))),
    num("seed", "seed"), num("n", "n"), num("bytes", "bytes_total"), num("decoder bytes", "decoder_bytes"),
    text("level", lambda r: esc(str(r["level"]))), num("error", "error", lambda r: esc(f"{r['error']:.4f}")),
]


def _fit_summary(entry: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    fit = entry.get("fit")
    if not fit:
        return '<p class="note">No fit: too few grid cells, or the fit failed.</p>'
    first = rows[0] if rows else {}
    parts = []
    for key in ("nu", "alpha", "beta"):
        if key in first:
            flag = ' <span class="flag">(interval reaches the fit\'s bound: not a measured limit)</span>' \
                if first.get(f"{key}_at_bound") else ""
            parts.append(f"{esc(key)} = {esc(interval(first, key))} (90% bootstrap){flag}")
    params = "  ".join(f"{k} = {fmt(v)}" for k, v in (fit.get("params") or {}).items())
    return f"<p>{esc(params)}; R² = {esc(fmt(fit.get('r2')))}</p><p>" + "<br>".join(parts) + "</p>"


def entry_page(entry: dict[str, Any], rows: list[dict[str, Any]], figures: Path) -> str:
    """``rows``: the entry's ranked rows on its board, every view and budget."""
    ident, name = entry_id(entry), display_name(entry)
    bench = entry["benchmark"]
    levels = [{**lv, "codec_info": json.dumps(lv.get("codec_info", {}))} for lv in entry["levels"]]
    level_table = table([text("level", lambda r: esc(str(r["level"]))), num("bytes / image", "bytes_per_image"),
                         num("at n", "at_n"), num("decoder bytes", "decoder_bytes"),
                         text("codec info", lambda r: esc(r["codec_info"]))], levels, row_class="level")
    provenance = {"source": entry.get("source"), "spec": entry["compressor"]["spec"],
                  "version": entry["compressor"]["version"], "config hash": bench["config_hash"],
                  "grid seeds": bench["seeds"], "protocol": bench["config"].get("protocol"),
                  "commits": entry["provenance"]["git_commits"],
                  "codec libraries": entry["compressor"]["library_versions"],
                  "libraries": entry["provenance"]["library_versions"],
                  "validation": (entry.get("validation") or {}).get("passed", "not submitted through submit")}
    body = [f'<nav><a href="../index.html">← leaderboard</a></nav><h1>{esc(name)}</h1>',
            f"<p>{esc(bench['task'])} on {esc(bench['dataset'])}, benchmark {esc(bench['name'])}</p>",
            "<h2>At each budget</h2>", table(BUDGET_COLUMNS, rows, row_class="budget"),
            "<h2>Storage-curve sets, seed by seed</h2>",
            table(CELL_COLUMNS, sorted(entry["curves"], key=lambda c: (c["scheme"], c["budget"], c["seed"])),
                  row_class="cell"),
            "<h2>Fit</h2>", _fit_summary(entry, rows),
            image(fit_figure(entry, figures / f"{ident}-fit.png"), "scaling fit"),
            "<h2>Cross-compression</h2>", image(matrix_figure(entry, figures / f"{ident}-matrix.png"),
                                                "cross-compression matrix"),
            "<h2>Levels</h2>", level_table,
            '<h2>Provenance</h2><div class="scroll"><table>' + "".join(
                f'<tr><th class="text">{esc(k)}</th><td class="text">'
                f"{esc(json.dumps(v) if not isinstance(v, str) else v)}</td></tr>"
                for k, v in provenance.items()) + "</table></div>"]
    return page(f"storagebench: {name}", "\n".join(body))
