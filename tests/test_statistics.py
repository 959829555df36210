"""The board's statistics on synthetic entries with known true errors: intervals that cover the truth as often as
they say, equal entries shown as ties (no more false separations than the test's level), entries 5 seed-sd apart
separated, and one clear error for boards that cannot be compared seed by seed."""
import numpy as np
import pytest

from storagebench.errors import StorageBenchError
from storagebench.leaderboard.statistics import mean_interval, paired_difference, rank_entries

pytestmark = pytest.mark.usefixtures("no_full_collections")

SD = 0.003  # seed-to-seed sd of one entry's error, about what the quick benchmark measures at n = 2000


def board(rng: np.random.Generator, true: dict[str, float], seeds: int) -> dict[str, dict[int, float]]:
    """Per-seed errors: a seed effect every entry shares (the same subset draw), plus each entry's own noise."""
    shared = rng.normal(0, SD / np.sqrt(2), seeds)
    return {name: {s: value + shared[s] + rng.normal(0, SD / np.sqrt(2)) for s in range(seeds)}
            for name, value in true.items()}


def test_intervals_cover_the_true_error_as_often_as_they_say():
    rng = np.random.default_rng(1)
    covered = [mean_interval(0.2 + rng.normal(0, SD, 3)).contains(0.2) for _ in range(600)]
    assert 0.92 <= np.mean(covered) <= 0.98
    differences = [paired_difference(0.2 + rng.normal(0, SD, 4), 0.19 + rng.normal(0, SD, 4))[0].contains(0.01)
                   for _ in range(600)]
    assert 0.92 <= np.mean(differences) <= 0.98


def test_equal_entries_are_shown_as_ties_and_each_leads_as_often_as_chance():
    rng = np.random.default_rng(2)
    separated, leads = 0, {"a": 0, "b": 0, "c": 0}
    for _ in range(400):
        ranked = rank_entries(board(rng, {"a": 0.2, "b": 0.2, "c": 0.2}, seeds=3))
        separated += any(entry.rank > 1 for entry in ranked)
        leads[ranked[0].name] += 1
    assert separated / 400 <= 0.08  # Holm keeps the family's false separations near its 5 % level
    assert all(90 <= count <= 180 for count in leads.values()), leads  # about a third each


def test_entries_five_seed_sd_apart_are_separated():
    rng = np.random.default_rng(3)
    outcomes = []
    for _ in range(100):
        ranked = rank_entries(board(rng, {"good": 0.2, "bad": 0.2 + 5 * SD, "same": 0.2}, seeds=5))
        by_name = {entry.name: entry for entry in ranked}
        outcomes.append(by_name["bad"].rank == 3 and not by_name["bad"].tied and by_name["good"].rank == 1)
    assert np.mean(outcomes) >= 0.95


def test_a_ranked_entry_carries_its_interval_seeds_and_paired_differences():
    errors = {"jpegxl": {0: 0.200, 1: 0.205, 2: 0.198}, "webp": {0: 0.230, 1: 0.238, 2: 0.226},
              "original": {0: 0.220, 1: 0.226, 2: 0.219}}
    ranked = rank_entries(errors, reference="original")
    leader, *rest = ranked
    assert leader.name == "jpegxl" and leader.rank_label == "1" and leader.to_leader is None
    assert leader.seeds == 3 and leader.error.low < leader.error.mean < leader.error.high
    assert leader.to_reference.high < 0  # better than the original format, with its interval below zero
    webp = next(e for e in rest if e.name == "webp")
    assert webp.to_leader.mean == pytest.approx(np.mean([0.030, 0.033, 0.028])) and webp.to_leader.low > 0
    assert [e.rank for e in ranked] == [1, 2, 3] and webp.p_vs_leader < 0.05


def test_boards_that_cannot_be_compared_seed_by_seed_are_refused():
    with pytest.raises(StorageBenchError, match="needs ≥ 3 seeds"):
        rank_entries({"a": {0: 0.2, 1: 0.21}, "b": {0: 0.2, 1: 0.22}})
    with pytest.raises(StorageBenchError, match="b: measured on seeds \\[0, 1, 3\\]"):
        rank_entries({"a": {0: 0.2, 1: 0.21, 2: 0.2}, "b": {0: 0.2, 1: 0.22, 3: 0.2}})
    with pytest.raises(StorageBenchError, match="reference 'x'"):
        rank_entries({"a": {0: 0.2, 1: 0.21, 2: 0.2}}, reference="x")
