import numpy as np
import pytest

from storagebench.benchmarks.analysis.summary import analyse, describe
from storagebench.benchmarks.law.allocation import (
    allocation_table,
    budgets_for,
    format_allocation,
    optimal_n,
    optimal_n_numeric,
)
from storagebench.benchmarks.law.fit import fit_paper, fit_robust, quality
from storagebench.benchmarks.law.scaling_law import ScalingLaw
from storagebench.benchmarks.law.uncertainty import bootstrap
from storagebench.errors import StorageBenchError
from storagebench.units import parse_budget

FOOD101 = ScalingLaw(0.0, 6.70694, 0.33330, 1355.289, 1.06131)  # Mentzer & Montanari's Food101/ResNet-50 fit


def grid(law, ns, Ls, noise=0.0, seed=0):
    n, L = (a.ravel().astype(float) for a in np.meshgrid(ns, Ls))
    return n, L, law.predict(n, L) * np.exp(np.random.default_rng(seed).normal(0, noise, n.shape))


def food101_grid(seed):
    """The paper's Food101 scale: n from 3,030 to 60,600 images, L from 5,621 to 39,966 bytes."""
    return grid(FOOD101, [3030, 6060, 15150, 30300, 45450, 60600], [5621, 8523, 12388, 17923, 26117, 39966],
                noise=0.02, seed=seed)


def test_robust_fit_recovers_food101_law_and_bootstrap_intervals_contain_it():
    n, L, err = food101_grid(seed=1)
    law = fit_robust(n, L, err)
    assert law.alpha == pytest.approx(FOOD101.alpha, rel=0.10)
    assert law.beta == pytest.approx(FOOD101.beta, rel=0.10)
    intervals = bootstrap(law, n, L, err, budgets=[1e8], replicates=200)
    assert intervals["alpha"][0] <= FOOD101.alpha <= intervals["alpha"][1]
    assert intervals["beta"][0] <= FOOD101.beta <= intervals["beta"][1]
    assert intervals["nu"][0] <= FOOD101.nu <= intervals["nu"][1]
    assert intervals["n_star"][0][0] < optimal_n(law, 1e8) < intervals["n_star"][0][1]


@pytest.mark.parametrize("truth", [ScalingLaw(0.05, 2.0, 0.35, 800.0, 1.2), FOOD101,
                                   ScalingLaw(0.13548, 4.28669, 0.58939, 428277.5, 1.60642)])
def test_exact_data_are_fitted_exactly(truth):
    n, L, err = grid(truth, [500, 1000, 2000, 5000, 10000, 30000], [150, 220, 300, 420, 600, 900, 3000, 9000])
    law = fit_robust(n, L, err)
    assert quality(law, n, L, err).rmse_log < 2e-3
    assert law.alpha == pytest.approx(truth.alpha, rel=0.03) and law.beta == pytest.approx(truth.beta, rel=0.03)


def test_one_wild_cell_does_not_drag_the_robust_fit_but_drags_the_paper_method():
    n, L, err = food101_grid(seed=2)
    err = err.copy()
    err[np.argmax(n * L)] *= 3.0  # one broken cell
    robust, paper = fit_robust(n, L, err), fit_paper(n, L, err)
    assert abs(robust.alpha - FOOD101.alpha) < abs(paper.alpha - FOOD101.alpha)
    assert robust.alpha == pytest.approx(FOOD101.alpha, rel=0.15)


def test_forms_are_compared_on_held_out_error():
    multiplicative = ScalingLaw(0.05, 30.0, 0.3, 0.0, 0.4, form="multiplicative")
    n, L, err = grid(multiplicative, [300, 1000, 3000, 10000], [100, 300, 1000, 3000], noise=0.005)
    summary = analyse(n, L, err, replicates=20)
    assert summary["selected_form"] == "multiplicative"
    assert summary["forms"]["multiplicative"]["held_out_rmse_log"] < summary["forms"]["additive"]["held_out_rmse_log"]


@pytest.mark.parametrize("law", [FOOD101, ScalingLaw(0.1, 2.0, 0.6, 5e4, 1.6), ScalingLaw(0.3, 1.0, 0.09, 3e5, 1.7)])
def test_closed_form_and_numerical_allocation_agree(law):
    for s in np.geomspace(1e5, 1e11, 13):
        assert optimal_n(law, s) == pytest.approx(optimal_n_numeric(law, s), rel=1e-3)


def test_allocation_table_is_optimal_and_marks_extrapolation():
    rows = allocation_table(FOOD101, [parse_budget("500M"), parse_budget("2.5G")])
    assert [r["s"] for r in rows] == [5e8, 2.5e9]
    for r in rows:  # any other split of the same budget predicts a higher error
        for factor in (0.8, 1.25):
            n = r["n_star"] * factor
            assert r["error"] < float(FOOD101.predict(n, r["s"] / n))
    n_star, L_star = rows[0]["n_star"], rows[0]["L_star"]
    inside = allocation_table(FOOD101, [5e8], grid=(n_star * 2, L_star / 2, L_star * 2))
    beyond_n = allocation_table(FOOD101, [5e8], grid=(n_star / 2, L_star / 2, L_star * 2))
    below_L = allocation_table(FOOD101, [5e8], grid=(n_star * 2, L_star * 1.5, L_star * 2))
    assert not inside[0]["extrapolated"] and beyond_n[0]["extrapolated"] and below_L[0]["extrapolated"]
    assert "outside the measured grid" in format_allocation(beyond_n, FOOD101)
    assert "outside" not in format_allocation(inside, FOOD101)
    with pytest.raises(StorageBenchError, match="allocation is degenerate"):
        allocation_table(ScalingLaw(0.0, 1e-3, 1e-3, 1.0, 1e-3), [1e6])  # n* underflows to 0
    with pytest.raises(StorageBenchError, match="allocation is degenerate"):  # (αA/βB)^(1/(α+β)) overflows a float
        allocation_table(ScalingLaw(0.1, 10.0, 1e-3, 1e-3, 1e-3), [4e4])


def test_budgets_default_to_the_grid_and_must_hold_one_image():
    n, L = np.array([100.0, 1000.0]), np.array([500.0, 2000.0])
    assert budgets_for(n, L) == [1e5, 2.71e5, 7.37e5, 2e6]  # twice 100·500 to 1000·2000
    assert budgets_for(n, L, [7e5]) == [7e5]
    with pytest.raises(StorageBenchError, match="smaller than one compressed image"):
        budgets_for(n, L, [400.0])
    for bad in ("-3", "lots", "0"):
        with pytest.raises(StorageBenchError, match="not a positive byte count"):
            parse_budget(bad)


def test_refuses_data_that_cannot_identify_the_law():
    with pytest.raises(StorageBenchError, match="distinct L"):
        fit_robust([100, 200, 300, 400, 500], [300] * 5, [0.3, 0.25, 0.2, 0.18, 0.17])
    with pytest.raises(StorageBenchError, match="got 1 n, 2 L, 5 points"):
        fit_robust([100] * 5, [300, 300.0000001, 400, 400, 400], [0.3, 0.25, 0.2, 0.18, 0.17])
    for bad_error in (np.nan, 0.0):
        with pytest.raises(StorageBenchError, match="finite, positive error"):
            fit_robust([100, 200, 300, 400, 500], [300, 400] * 2 + [300], [0.3, 0.25, bad_error, 0.18, 0.17])


def test_described_fit_without_the_extrapolation_check():
    # n = 300 is the largest and only sound with the others: held-out forms work, fitting n < 300 alone does not
    n = np.array([100, 100, 200, 200, 300, 300, 300, 300], dtype=float)
    L = np.array([300, 900, 300, 900, 300, 600, 900, 1200], dtype=float)
    summary = analyse(n, L, FOOD101.predict(n, L), replicates=5)
    assert "extrapolation" not in summary and "extrapolation_note" in summary
    assert "held-out check skipped" in describe(summary) and "optimal allocation" in describe(summary)
