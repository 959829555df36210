"""The leaderboard's ranking under its declared protocol, on synthetic boards whose true errors are known: each
entry brings one ranked set per budget measured on the protocol's seeds (a shared seed effect: the same subset draw
and initialisation for every entry, plus each entry's own noise). More cells are not more chances to win; a 5-sd
difference is separated; equal entries are shown as ties."""
import numpy as np
import pytest
from scipy import stats

from storagebench.leaderboard.ranking import rank_board
from storagebench.leaderboard.sources import group_boards

SEEDS = [0, 1, 2]
BUDGET = 100_000.0
SEED_SD, OWN_SD = 0.004, 0.003  # seed-to-seed sd of one entry: 0.005
SD = float(np.hypot(SEED_SD, OWN_SD))


pytestmark = pytest.mark.usefixtures("no_full_collections")


def curve_row(scheme, seed, error):
    return {"scheme": scheme, "budget": BUDGET, "seed": seed, "n": 400, "bytes_total": 99_000,
            "label_bytes_total": 400, "bytes_per_image": 247.5, "decoder_bytes": 0, "level": "7", "test_level":
            "lossless", "error": float(error), "train_manifest_sha256": "0" * 64}


def entry(name, ranked_errors, extra_errors=()):
    """A synthetic entry: its ranked set's errors per seed, and any number of other cells (grid and other schemes)."""
    config = {"benchmark": {"name": "synthetic", "seeds": [0], "n": [400], "budgets": [BUDGET]},
              "dataset": {"name": "synthetic"}, "compressor": {"name": name}, "task": {"name": "classification"},
              "protocol": {"seeds": SEEDS, "decoders": "counted"}}
    curves = [curve_row("optimal", seed, e) for seed, e in zip(SEEDS, ranked_errors)]
    curves += [curve_row(f"naive-d{i + 1}", SEEDS[i % 3], e) for i, e in enumerate(extra_errors)]
    grid = [{"train_level": str(i), "n": 400, "seed": 0, "L": 200.0, "test_level": "lossless", "error": float(e)}
            for i, e in enumerate(extra_errors)]
    return {"entry_format": 4, "compressor": {"name": name, "params": {}, "spec": name, "version": "1"},
            "benchmark": {"name": "synthetic", "config_hash": f"{abs(hash(name)):016x}", "config": config,
                          "task": "classification", "dataset": "synthetic", "original_level": "lossless"},
            "levels": [{"level": "lossless", "decoder_bytes": 0}], "errors": grid, "fit": None, "curves": curves,
            "baselines": None, "baselines_filled": {}, "baseline_errors": [], "claimed": {}, "source": name}


def ranks(entries):
    (board,) = group_boards(entries)
    rows = rank_board(board)["rankings"][f"{BUDGET:g}"]["entries"]
    return {row["name"]: row for row in rows}


def draw(rng, true_errors, extra=None):
    """One board: a shared seed effect, each entry's own noise on its ranked set and on its ``extra`` cells."""
    shared = rng.normal(0, SEED_SD, len(SEEDS))
    extra = extra or {}
    return [entry(name, true + shared + rng.normal(0, OWN_SD, len(SEEDS)),
                  true + rng.normal(0, SD, extra.get(name, 0))) for name, true in true_errors.items()]


def test_ten_times_the_cells_is_not_ranked_above_more_often_than_chance():
    rng = np.random.default_rng(0)
    above = below = old_rule_favours = 0
    for _ in range(200):
        entries = draw(rng, {"many": 0.15, "few": 0.15}, extra={"many": 60, "few": 6})
        found = ranks(entries)
        above += found["many"]["rank"] < found["few"]["rank"]
        below += found["few"]["rank"] < found["many"]["rank"]
        lowest = {e["compressor"]["name"]: min(c["error"] for c in e["curves"]) for e in entries}
        old_rule_favours += lowest["many"] < lowest["few"]  # the minimum over every cell, as boards once ranked
    assert old_rule_favours > 0.8 * 200  # the rule the protocol replaced would have favoured the larger entry
    assert above + below < 0.15 * 200  # nearly always a tie
    assert stats.binomtest(above, above + below, 0.5).pvalue > 0.01 if above + below else True


def test_a_five_sd_difference_is_separated_and_equal_entries_tie():
    rng = np.random.default_rng(1)
    separated = tied = 0
    for _ in range(120):
        found = ranks(draw(rng, {"better": 0.15, "worse": 0.15 + 5 * SD, "equal": 0.15}))
        separated += found["worse"]["rank"] > 1 and found["worse"]["rank_label"] == "3"
        tied += found["equal"]["rank"] == found["better"]["rank"] == 1 and found["equal"]["rank_label"] == "1="
        for row in found.values():
            assert row["seeds"] == 3 and row["measured_error_lo"] <= row["measured_error"] <= row["measured_error_hi"]
    assert separated >= 0.9 * 120
    assert tied >= 0.9 * 120


def test_every_ranked_number_of_the_shipped_board_has_an_interval_and_three_seeds():
    """The ten built-ins' entries (leaderboard/entries): one board under the leaderboard's protocol; every ranked
    row and every measured baseline has a 95 % interval over ≥ 3 seeds, in both views."""
    from pathlib import Path

    from storagebench.leaderboard.sources import load_entries

    entries = load_entries([Path(__file__).resolve().parents[1] / "leaderboard" / "entries"])
    (board,) = group_boards(entries)
    assert len(board.entries) == 10 and board.definition["protocol"]["seeds"] == [0, 1, 2]
    ranked = rank_board(board)
    for rankings in (ranked["rankings"], ranked["rankings_amortized"]):
        for tables in rankings.values():
            rows = [r for r in tables["entries"] if r["rank"] is not None] + tables["baselines"]
            assert len(rows) >= 8
            for row in rows:
                assert row["seeds"] >= 3 and row["measured_error_lo"] <= row["measured_error"] <= \
                    row["measured_error_hi"]


def with_baselines(made, errors):
    """``made`` with the original-format baseline filled to the budget on every seed, at ``errors``."""
    made["baselines_filled"] = {"original format": {f"{BUDGET:g}": {str(s): {"n": 236, "bytes_total": 99_800}
                                                                     for s in SEEDS}}}
    made["baseline_errors"] = [{"n": 236, "seed": s, "error": e} for s, e in zip(SEEDS, errors)]
    return made


def test_an_edited_entry_cannot_move_the_baselines_or_rank_an_oversized_set():
    """The baselines are the median over entries of the harness's models, so one entry claiming a perfect baseline
    moves nothing; a ranked set larger than s, a protocol with too few seeds, or a counted set that left out the
    decoder state its entry declares is an error or unranked, never a number."""
    from storagebench.errors import StorageBenchError

    honest = [with_baselines(entry(name, [0.15, 0.16, 0.17]), [0.2, 0.21, 0.22]) for name in ("a", "b", "c")]
    before = rank_board(group_boards(honest)[0])["rankings"][f"{BUDGET:g}"]["baselines"][0]
    edited = [*honest[:2], with_baselines(entry("c", [0.15, 0.16, 0.17]), [0.0, 0.0, 0.0])]
    after = rank_board(group_boards(edited)[0])["rankings"][f"{BUDGET:g}"]["baselines"][0]
    assert after["measured_error"] == before["measured_error"] == 0.21
    oversized = entry("big", [0.1, 0.1, 0.1])
    oversized["curves"][0]["bytes_total"] = int(BUDGET) + 1
    with pytest.raises(StorageBenchError, match="big: its optimal set at s = 100000 .* more than s"):
        ranks([oversized, entry("fine", [0.15, 0.16, 0.17])])
    two_seeds = entry("few", [0.1, 0.1, 0.1])
    two_seeds["benchmark"]["config"]["protocol"]["seeds"] = [0, 1]
    with pytest.raises(StorageBenchError, match=r"few: \[protocol\].seeds: a ranked number needs ≥ 3 seeds"):
        group_boards([two_seeds])
    free_decoder = entry("learned", [0.1, 0.1, 0.1])
    free_decoder["levels"].append({"level": "3", "decoder_bytes": 50_000})  # declared, yet its rows counted none
    row = ranks([free_decoder, entry("fine", [0.15, 0.16, 0.17])])["learned"]
    assert row["rank"] is None and "did not count the decoder state" in row["measured_by"]
